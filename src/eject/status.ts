/**
 * Where each ejected template stands, from three texts: the base (`.base/<name>`, the built-in
 * it was ejected from), yours (the project's copy) and upstream (the installed built-in).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { error, type Diagnostic } from "../diagnostics/diagnostic.js";
import { BUILTIN_TEMPLATES, listBuiltinTemplates } from "../render/templates.js";
import { closest } from "../diagnostics/suggest.js";
import { sha256 } from "../hash.js";
import { BASE_DIR, matchTemplates, type LockEntry, type TemplateLock } from "./eject.js";
import { firstConflictLine } from "./markers.js";

export type TemplateState =
  /** Neither you nor upstream changed it. */
  | "unchanged"
  /** You changed it; upstream did not. */
  | "modified"
  /** Upstream changed it; you did not. */
  | "upstream"
  /** Both changed it. */
  | "both"
  /** Your copy still has conflict markers from an update. */
  | "conflicts"
  /** The built-in no longer exists: your copy is unused. */
  | "removed-upstream"
  /** Your copy is gone: the built-in is used. */
  | "deleted"
  /** The base text is missing and cannot be recovered: no three-way comparison. */
  | "no-base";

export const STATE_LABELS: Record<TemplateState, string> = {
  unchanged: "unchanged",
  modified: "modified locally",
  upstream: "changed upstream",
  both: "changed locally and upstream",
  conflicts: "conflict markers",
  "removed-upstream": "removed upstream",
  deleted: "your copy deleted",
  "no-base": "base missing",
};

export interface TemplateStatus {
  name: string;
  state: TemplateState;
  entry: LockEntry;
  /** Absolute paths of the three versions. */
  files: { yours: string; base: string; upstream: string };
  yours?: string;
  base?: string;
  upstream?: string;
  /** Line of the first conflict marker in your copy. */
  conflictLine?: number;
}

const read = (file: string): Promise<string | undefined> => fs.readFile(file, "utf8").catch(() => undefined);

export async function templateStatus(templatesDir: string, name: string, entry: LockEntry): Promise<TemplateStatus> {
  const files = { yours: path.join(templatesDir, name), base: path.join(templatesDir, BASE_DIR, name), upstream: path.join(BUILTIN_TEMPLATES, name) };
  const [yours, storedBase, upstream] = await Promise.all([read(files.yours), read(files.base), read(files.upstream)]);
  // A lost .base/ copy is recoverable when the installed built-in is the very text it recorded.
  const base = storedBase ?? (upstream !== undefined && sha256(upstream) === entry.sha256 ? upstream : undefined);
  const status: TemplateStatus = { name, entry, files, ...(yours !== undefined ? { yours } : {}), ...(base !== undefined ? { base } : {}), ...(upstream !== undefined ? { upstream } : {}), state: "unchanged" };
  const conflictLine = yours !== undefined ? firstConflictLine(yours) : undefined;
  if (conflictLine !== undefined) return { ...status, state: "conflicts", conflictLine };
  if (yours === undefined) return { ...status, state: "deleted" };
  if (upstream === undefined) return { ...status, state: "removed-upstream" };
  if (base === undefined) return { ...status, state: "no-base" };
  const mine = yours !== base;
  const theirs = upstream !== base;
  return { ...status, state: mine && theirs ? "both" : mine ? "modified" : theirs ? "upstream" : "unchanged" };
}

/** The statuses of the ejected templates `names` designates (all when empty). */
export async function templateStatuses(templatesDir: string, lock: TemplateLock, names: string[]): Promise<{ statuses: TemplateStatus[]; diagnostics: Diagnostic[] }> {
  const { selected, diagnostics } = selectEjected(names, Object.keys(lock.templates).sort());
  const statuses = await Promise.all(selected.map((name) => templateStatus(templatesDir, name, lock.templates[name]!)));
  return { statuses, diagnostics };
}

/** Resolves names among the ejected templates, like `eject` does among the built-ins. */
export function selectEjected(names: string[], ejected: string[]): { selected: string[]; diagnostics: Diagnostic[] } {
  if (names.length === 0) return { selected: ejected, diagnostics: [] };
  const selected = new Set<string>();
  const diagnostics: Diagnostic[] = [];
  for (const name of names) {
    const matches = matchTemplates(name, ejected);
    if (matches.length === 0) {
      const builtin = matchTemplates(name, listBuiltinTemplates());
      const near = closest(name, ejected) ?? closest(name, ejected.map((t) => path.posix.basename(t)));
      const hint = builtin.length
        ? `It is a built-in template you have not ejected: \`sync-patterns eject templates ${name}\` first.`
        : `${near ? `Did you mean "${near}"? ` : ""}${ejected.length ? `Ejected templates: ${ejected.join(", ")}.` : "No template is ejected yet."}`;
      diagnostics.push(error("template/not-ejected", `No ejected template named "${name}".`, { file: name }, hint));
    }
    for (const m of matches) selected.add(m);
  }
  return { selected: [...selected].sort(), diagnostics };
}
