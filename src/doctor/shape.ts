/**
 * Just enough of Electric's HTTP shape protocol for `doctor`: read a shape to up-to-date (keeping
 * the first answer's headers and schema), then follow it live until a given change arrives.
 * Plain fetch rather than @electric-sql/client: doctor must see the raw answers (headers, status,
 * body of a failure), which the client hides, and the CLI does not depend on the client.
 */
import { describe, isFailure, parseJson, request, type HttpAnswer, type HttpResult } from "./http.js";

/** One column of the `electric-schema` header. */
export interface ShapeColumn {
  type: string;
  dims?: number;
  pk_index?: number;
  not_null?: boolean;
  max_length?: number;
}

export interface ShapeMessage {
  key?: string;
  value?: Record<string, unknown>;
  headers: { operation?: string; control?: string; txids?: (number | string)[] };
}

export interface ShapeRead {
  /** The first answer (offset=-1), whose headers doctor checks. */
  first: HttpAnswer;
  /** `electric-schema` of the first answer, parsed; null when missing or not JSON. */
  schema: Record<string, ShapeColumn> | null;
  /** Rows by message key, after the snapshot and every change up to up-to-date. */
  rows: Map<string, Record<string, unknown>>;
  handle: string;
  offset: string;
}

export type ShapeOutcome = { ok: true; read: ShapeRead } | { ok: false; answer: HttpResult; reason: string };

export interface ShapeTarget {
  url: string;
  params: Record<string, string>;
  headers: Record<string, string>;
  timeoutMs: number;
}

const MAX_REQUESTS = 1000;

function urlOf(target: ShapeTarget, extra: Record<string, string>): string {
  const url = new URL(target.url);
  for (const [k, v] of Object.entries({ ...target.params, ...extra })) url.searchParams.set(k, v);
  return url.toString();
}

function messagesOf(answer: HttpAnswer): ShapeMessage[] | null {
  const body = parseJson(answer.text);
  return Array.isArray(body) ? (body as ShapeMessage[]) : null;
}

function apply(rows: Map<string, Record<string, unknown>>, m: ShapeMessage): void {
  if (m.key === undefined || !m.headers.operation) return;
  if (m.headers.operation === "delete") rows.delete(m.key);
  else rows.set(m.key, { ...(rows.get(m.key) ?? {}), ...(m.value ?? {}) });
}

const upToDate = (answer: HttpAnswer, messages: ShapeMessage[]) =>
  answer.headers.has("electric-up-to-date") || messages.some((m) => m.headers.control === "up-to-date");

/** Reads the shape from offset -1 until up-to-date. */
export async function readShape(target: ShapeTarget): Promise<ShapeOutcome> {
  const rows = new Map<string, Record<string, unknown>>();
  let first: HttpAnswer | undefined;
  let handle: string | null = null;
  let offset = "-1";
  for (let i = 0; i < MAX_REQUESTS; i++) {
    const answer = await request(urlOf(target, handle ? { offset, handle } : { offset }), { headers: target.headers, timeoutMs: target.timeoutMs });
    if (isFailure(answer)) return { ok: false, answer, reason: answer.error };
    if (answer.status === 409 && i > 0) {
      rows.clear();
      handle = answer.headers.get("electric-handle");
      offset = "-1";
      continue;
    }
    if (answer.status < 200 || answer.status > 299) return { ok: false, answer, reason: `answered ${describe(answer)}` };
    const messages = messagesOf(answer);
    if (!messages) return { ok: false, answer, reason: `answered ${describe(answer)}, not a JSON array of shape messages` };
    first ??= answer;
    const nextHandle: string | null = answer.headers.get("electric-handle") ?? handle;
    const nextOffset = answer.headers.get("electric-offset");
    if (!nextHandle || !nextOffset) return { ok: false, answer, reason: "the answer has no electric-handle or electric-offset header" };
    handle = nextHandle;
    offset = nextOffset;
    for (const m of messages) apply(rows, m);
    if (upToDate(answer, messages)) {
      const schemaText = first.headers.get("electric-schema");
      const schema = schemaText ? parseJson(schemaText) : null;
      return { ok: true, read: { first, schema: schema && typeof schema === "object" ? (schema as Record<string, ShapeColumn>) : null, rows, handle: nextHandle, offset: nextOffset } };
    }
  }
  return { ok: false, answer: first!, reason: `not up-to-date after ${MAX_REQUESTS} requests` };
}

/**
 * Follows the shape live from where `read` left it until a change message satisfies `match`,
 * or `deadline` (epoch ms) passes. Returns the matching message (and keeps `read` current), or null.
 */
export async function waitForChange(target: ShapeTarget, read: ShapeRead, match: (m: ShapeMessage) => boolean, deadline: number): Promise<ShapeMessage | null> {
  for (let i = 0; i < MAX_REQUESTS && Date.now() < deadline; i++) {
    const answer = await request(urlOf(target, { offset: read.offset, handle: read.handle, live: "true" }), { headers: target.headers, timeoutMs: Math.max(1, deadline - Date.now()) });
    if (isFailure(answer)) return null;
    if (answer.status === 409) {
      // The shape was rotated: read it again; a change that landed meanwhile is in the new snapshot, without txids.
      const again = await readShape(target);
      if (!again.ok) return null;
      Object.assign(read, again.read);
      continue;
    }
    if (answer.status < 200 || answer.status > 299) return null;
    const messages = messagesOf(answer) ?? [];
    read.handle = answer.headers.get("electric-handle") ?? read.handle;
    read.offset = answer.headers.get("electric-offset") ?? read.offset;
    let found: ShapeMessage | null = null;
    for (const m of messages) {
      apply(read.rows, m);
      if (!found && m.headers.operation && match(m)) found = m;
    }
    if (found) return found;
  }
  return null;
}
