/** Merge conflict markers (`<<<<<<<`, `|||||||`, `=======`, `>>>>>>>`) in template text. Pure. */

export const CONFLICT_START = "<<<<<<<";
export const CONFLICT_BASE = "|||||||";
export const CONFLICT_SEPARATOR = "=======";
export const CONFLICT_END = ">>>>>>>";
const MARKER = /^(<{7}|>{7}|={7}|\|{7})( |$)/;

/** The 1-based line of the first conflict marker, if any. */
export function firstConflictLine(text: string): number | undefined {
  const index = text.split("\n").findIndex((l) => MARKER.test(l));
  return index < 0 ? undefined : index + 1;
}
