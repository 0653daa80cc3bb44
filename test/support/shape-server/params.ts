/**
 * The query parameters of `GET /v1/shape`, validated as Electric validates them
 * (`Electric.Shapes.Api.Params`), and the 400 errors for bad ones.
 */
import type { Relation } from "./decoding.js";
import {
  COLUMNS_PARAM,
  CURSOR_PARAM,
  EXPERIMENTAL_LIVE_SSE_PARAM,
  HANDLE_PARAM,
  LIVE_PARAM,
  LIVE_SSE_PARAM,
  LOG_PARAM,
  OFFSET_PARAM,
  REPLICA_PARAM,
  SUBSET_PARAM_PREFIX,
  TABLE_PARAM,
  WHERE_PARAM,
  parseRequestedOffset,
  type RequestedOffset,
} from "./protocol.js";
import type { ReplicaMode, ShapeDefinition } from "./shapes.js";

type Errors = Record<string, string[]>;

export interface ShapeParams {
  definition: ShapeDefinition;
  offset: RequestedOffset;
  handle: string | undefined;
  live: boolean;
  cursor: string | null;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

export const invalid = (errors: Errors) => new HttpError(400, { message: "Invalid request", errors });
export const NOT_SUPPORTED = "not supported by the test double (see docs/shape-server.md)";

// ---------------------------------------------------------------------------------------------
// Parameters

/** A SQL identifier as Electric reads one: `"Quoted"` keeps case, bare is lowercased. */
function parseIdentifierList(text: string, separator: "," | "."): string[] | string {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    while (text[i] === " ") i++;
    if (text[i] === '"') {
      let name = "";
      i++;
      for (;;) {
        const end = text.indexOf('"', i);
        if (end < 0) return `unterminated quoted identifier in ${text}`;
        name += text.slice(i, end);
        i = end + 1;
        if (text[i] === '"') {
          name += '"';
          i++;
        } else break;
      }
      if (name === "") return "Invalid zero-length delimited identifier";
      out.push(name);
    } else {
      let end = text.indexOf(separator, i);
      if (end < 0) end = text.length;
      const name = text.slice(i, end).trim();
      if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(name)) return `Invalid unquoted identifier contains special characters: ${name}`;
      out.push(name.toLowerCase());
      i = end;
    }
    while (text[i] === " ") i++;
    if (i >= text.length) return out;
    if (text[i] !== separator) return `unexpected character at ${i} in ${text}`;
    i++;
  }
}

export function parseTable(text: string): Relation | string {
  const parts = parseIdentifierList(text, ".");
  if (typeof parts === "string") return parts;
  if (parts.length === 1) return ["public", parts[0] as string];
  if (parts.length === 2) return [parts[0] as string, parts[1] as string];
  return `invalid table name ${text}`;
}

function parseBool(v: string | null): boolean | undefined {
  if (v === null || v === "false" || v === "0") return false;
  if (v === "true" || v === "1") return true;
  return undefined;
}

export function parseShapeParams(q: URLSearchParams): ShapeParams {
  const errors: Errors = {};
  const add = (k: string, m: string) => (errors[k] ??= []).push(m);

  const tableText = q.get(TABLE_PARAM);
  let relation: Relation | undefined;
  if (!tableText) add(TABLE_PARAM, "can't be blank");
  else {
    const r = parseTable(tableText);
    if (typeof r === "string") add(TABLE_PARAM, r);
    else relation = r;
  }

  const offsetText = q.get(OFFSET_PARAM);
  let offset: RequestedOffset | undefined;
  if (offsetText === null) add(OFFSET_PARAM, "can't be blank");
  else {
    offset = parseRequestedOffset(offsetText);
    if (!offset) add(OFFSET_PARAM, "has invalid format");
  }

  const live = parseBool(q.get(LIVE_PARAM));
  if (live === undefined) add(LIVE_PARAM, "is invalid");
  const handle = q.get(HANDLE_PARAM) || undefined;
  if (offset?.kind === "after" && !handle) add(HANDLE_PARAM, "can't be blank when offset != -1");
  if (live && offset?.kind === "before-all") add(LIVE_PARAM, "can't be true when offset == -1");
  if (live && offset?.kind === "now") add(LIVE_PARAM, "can't be true when offset is 'now'");
  for (const sse of [LIVE_SSE_PARAM, EXPERIMENTAL_LIVE_SSE_PARAM]) {
    if (parseBool(q.get(sse))) add(sse, live ? `SSE is ${NOT_SUPPORTED}` : "can't be true unless live is also true");
  }
  if (q.has(WHERE_PARAM)) add(WHERE_PARAM, `where clauses are ${NOT_SUPPORTED}`);
  if ([...q.keys()].some((k) => k.startsWith(SUBSET_PARAM_PREFIX))) add("subset", `subset snapshots are ${NOT_SUPPORTED}`);

  const replica = q.get(REPLICA_PARAM) ?? "default";
  if (replica !== "default" && replica !== "full") add(REPLICA_PARAM, "is invalid");
  const log = q.get(LOG_PARAM) ?? "full";
  if (log === "changes_only") add(LOG_PARAM, `log=changes_only is ${NOT_SUPPORTED}`);
  else if (log !== "full") add(LOG_PARAM, "is invalid");

  let columns: string[] | undefined;
  const columnsText = q.get(COLUMNS_PARAM);
  if (columnsText !== null) {
    const c = parseIdentifierList(columnsText, ",");
    if (typeof c === "string") add(COLUMNS_PARAM, c);
    else columns = c;
  }

  if (Object.keys(errors).length > 0 || !relation || !offset) throw invalid(errors);
  return {
    definition: { relation, columns, replica: replica as ReplicaMode },
    offset,
    handle: offset.kind === "after" ? handle : undefined, // ignored for -1 and now, as Electric does
    live: live === true,
    cursor: q.get(CURSOR_PARAM),
  };
}
