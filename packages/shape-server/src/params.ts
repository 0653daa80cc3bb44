/**
 * The query parameters of `GET /v1/shape`, validated as Electric validates them
 * (`Electric.Shapes.Api.Params`), and the 400 errors for bad ones.
 */
import type { Relation } from "./changes.js";
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
  WHERE_PARAMS_PARAM,
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
  /** `live_sse=true`: live changes as server-sent events on one open response. */
  sse: boolean;
  /** A subset snapshot (`subset__where`, `subset__params[n]`): a fresh read of some of the shape's rows. */
  subset: { where: string; params: string[] } | undefined;
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
export const NOT_SUPPORTED = "not supported by the test double (see packages/shape-server/README.md)";

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
  let sse = false;
  for (const name of [LIVE_SSE_PARAM, EXPERIMENTAL_LIVE_SSE_PARAM]) {
    const v = parseBool(q.get(name));
    if (v === undefined) add(name, "is invalid");
    else if (v && !live) add(name, "can't be true unless live is also true");
    else if (v) sse = true;
  }
  const where = q.get(WHERE_PARAM) ?? undefined;
  if (where !== undefined) {
    const problem = whereProblem(where);
    if (problem) add(WHERE_PARAM, problem);
  }
  const params = parseWhereParams(q, add);
  if (params.length > 0 && where === undefined) add(WHERE_PARAMS_PARAM, "can't be given without a where clause");
  const subset = parseSubset(q, add);

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
    definition: { relation, columns, replica: replica as ReplicaMode, where, params },
    offset,
    handle: offset.kind === "after" ? handle : undefined, // ignored for -1 and now, as Electric does
    live: live === true,
    sse,
    subset,
    cursor: q.get(CURSOR_PARAM),
  };
}

/**
 * `params[1]=…&params[2]=…` (what the TypeScript client sends for `params: [...]` or
 * `params: {1: …}`): the values of `$1`, `$2`, … in the where clause, numbered from 1 without gaps.
 */
function parseWhereParams(q: URLSearchParams, add: (k: string, m: string) => void, name = WHERE_PARAMS_PARAM): string[] {
  const byIndex = new Map<number, string>();
  for (const [k, v] of q) {
    const m = new RegExp(`^${name}\\[(\\d+)\\]$`).exec(k);
    if (!m) {
      if (k === name || k.startsWith(`${name}[`)) add(name, `invalid parameter name ${k}: use ${name}[1], ${name}[2], …`);
      continue;
    }
    byIndex.set(Number(m[1]), v);
  }
  const out: string[] = [];
  for (let i = 1; i <= byIndex.size; i++) {
    const v = byIndex.get(i);
    if (v === undefined) {
      add(name, `parameters must be numbered 1 to ${byIndex.size} without gaps`);
      return [];
    }
    out.push(v);
  }
  return out;
}

/**
 * Postgres evaluates the where clause (shapes.ts puts it in parentheses inside its queries), so
 * this only makes sure the text stays ONE expression inside those parentheses: no `)` closing
 * more than it opened, no `;`, no comments (outside string literals, quoted identifiers and
 * dollar quotes), and no subquery (`SELECT`), which Electric only allows behind a feature flag and
 * the double does not implement. Returns the problem, or undefined.
 */
export function whereProblem(where: string): string | undefined {
  if (where.trim() === "") return "can't be blank";
  let depth = 0;
  for (let i = 0; i < where.length; i++) {
    const c = where[i] as string;
    if (c === "'" || c === '"') {
      // E'…' strings take backslash escapes.
      const escapes = c === "'" && /[Ee]/.test(where[i - 1] ?? "") && !/[A-Za-z0-9_$]/.test(where[i - 2] ?? "");
      const end = closing(where, i, c, escapes);
      if (end < 0) return `unterminated ${c === "'" ? "string literal" : "quoted identifier"}`;
      i = end;
    } else if (c === "$" && /^\$[A-Za-z_]*\$/.test(where.slice(i)) && !/^\$\d/.test(where.slice(i))) {
      const tag = /^\$[A-Za-z_]*\$/.exec(where.slice(i))?.[0] as string;
      const end = where.indexOf(tag, i + tag.length);
      if (end < 0) return "unterminated dollar-quoted string";
      i = end + tag.length - 1;
    } else if (c === "(") depth++;
    else if (c === ")") {
      if (--depth < 0) return "unbalanced parentheses";
    } else if (c === ";") return "must be a single expression (no ;)";
    else if ((c === "-" && where[i + 1] === "-") || (c === "/" && where[i + 1] === "*")) return "comments are not allowed";
    else if (/[A-Za-z_]/.test(c) && (i === 0 || !/[A-Za-z0-9_$]/.test(where[i - 1] as string))) {
      const word = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(where.slice(i))?.[0] as string;
      if (word.toLowerCase() === "select") return `subqueries are ${NOT_SUPPORTED}`;
      i += word.length - 1;
    }
  }
  return depth === 0 ? undefined : "unbalanced parentheses";
}

/** The index of the quote that closes the one at `start` (a doubled quote is an escaped one). */
function closing(text: string, start: number, q: string, escapes = false): number {
  let i = start + 1;
  for (;;) {
    if (escapes) {
      while (i < text.length && text[i] !== q) i += text[i] === "\\" ? 2 : 1;
      if (i >= text.length) return -1;
      if (text[i + 1] === q) {
        i += 2;
        continue;
      }
      return i;
    }
    const end = text.indexOf(q, i);
    if (end < 0) return -1;
    if (text[end + 1] === q) i = end + 2;
    else return end;
  }
}

/** `subset__where` + `subset__params[n]`; limit, offset and order_by are not implemented. */
function parseSubset(q: URLSearchParams, add: (k: string, m: string) => void): ShapeParams["subset"] {
  const where = q.get(`${SUBSET_PARAM_PREFIX}where`);
  for (const k of new Set(q.keys())) {
    if (!k.startsWith(SUBSET_PARAM_PREFIX) || k === `${SUBSET_PARAM_PREFIX}where` || k.startsWith(`${SUBSET_PARAM_PREFIX}params`)) continue;
    add(k, `${k} is ${NOT_SUPPORTED}`);
  }
  // The TypeScript client sends subset params as JSON (`subset__params={"1":"…"}`).
  const json = q.get(`${SUBSET_PARAM_PREFIX}params`);
  let params: string[];
  if (json !== null) {
    const rest = new URLSearchParams();
    try {
      const parsed = JSON.parse(json) as unknown;
      if (!parsed || typeof parsed !== "object") throw new Error("not an object");
      for (const [k, v] of Object.entries(parsed)) rest.set(`${SUBSET_PARAM_PREFIX}params[${k}]`, String(v));
    } catch {
      add(`${SUBSET_PARAM_PREFIX}params`, "must be a JSON object of numbered parameters");
    }
    params = parseWhereParams(rest, add, `${SUBSET_PARAM_PREFIX}params`);
  } else params = parseWhereParams(q, add, `${SUBSET_PARAM_PREFIX}params`);
  if (where === null) {
    if (params.length > 0) add(`${SUBSET_PARAM_PREFIX}params`, "can't be given without subset__where");
    return undefined;
  }
  const problem = whereProblem(where);
  if (problem) add(`${SUBSET_PARAM_PREFIX}where`, problem);
  return { where, params };
}
