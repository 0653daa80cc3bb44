// What the change writer decides, apart from what it does: which request a queued change becomes,
// what the server's answer means for it (confirm, fail with a readable error, retry after a delay,
// swap a temporary key), how long to wait, and which SQL records the outcome. No I/O, no timers,
// no clock of its own: the writer (change-writer.ts) reads the queue, sends, and runs the
// statements returned here. Plain TypeScript, copied as is into the generated output
// (sync/writer-decisions.ts); eject it to change it. Invariants W1–W13, K1–K2:
// templates/runtime/SPEC.md, section W.
import { describeErrorBody } from "../api/error-text.js";
import { quoteIdent as quote, type EntityDescription, type WriteEndpointDescription } from "../db/local-db.js";

/** A write endpoint of an entity (db/local-db.ts). */
export type Endpoint = WriteEndpointDescription;

/**
 * What the writer knows of an entity: its description (sync/entities.ts). Read-only and
 * device-only columns are never sent (the key is still sent on create, unless the server assigns
 * keys: `keySource: "server"`, K1); `references` are rewritten by K1 too.
 */
export type SyncEntity = EntityDescription;

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  multiplier: number;
}

/** 500 ms doubling up to 30 s, forever: clients go offline and come back. */
export const BACKOFF_DEFAULTS: BackoffOptions = { initialMs: 500, maxMs: 30_000, multiplier: 2 };

export type ChangeStatus = "pending" | "sent" | "synced" | "failed" | "discarded";

export interface ChangeRow {
  seq: number;
  change_id: string;
  entity: string;
  op: "insert" | "update" | "delete";
  row_key: string;
  value: Record<string, unknown>;
  status: ChangeStatus;
  attempts: number;
  last_error: string | null;
  txid: number | null;
  created_at: string;
}

/** Where an update or delete records the fields its URL is built from, as they were when it was made. */
export const PATH_VALUES = "_sp_path";

// Requests ---------------------------------------------------------------------------------------

/** A change as an HTTP request (the writer adds the credentials' headers). */
export interface PlannedRequest {
  method: string;
  url: string;
  /** Idempotency-Key and X-Change-Id (W2), and the content type when there is a body. */
  headers: Record<string, string>;
  body?: string;
}

export type Prepared = { kind: "send"; request: PlannedRequest } | { kind: "unsendable"; error: string };

export function endpointFor(change: Pick<ChangeRow, "op">, entity: SyncEntity | undefined): Endpoint | undefined {
  if (!entity) return undefined;
  return change.op === "insert" ? entity.create : change.op === "update" ? entity.update : entity.remove;
}

/** An update sent with PUT carries the whole row: the writer reads it from the view first. */
export function needsCurrentRow(change: Pick<ChangeRow, "op">, entity: SyncEntity | undefined): boolean {
  return change.op === "update" && endpointFor(change, entity)?.method.toUpperCase() === "PUT";
}

/**
 * The request of a change (W2: its id is the idempotency key). `currentRow`: the row as the view
 * shows it now, for an update sent with PUT (`needsCurrentRow`).
 */
export function planRequest(change: ChangeRow, entity: SyncEntity | undefined, baseUrl: string, currentRow?: Record<string, unknown>): Prepared {
  const endpoint = endpointFor(change, entity);
  if (!entity || !endpoint) return { kind: "unsendable", error: `The API has no ${change.op} endpoint for ${change.entity}; the change cannot be sent.` };
  const path = endpointPath(endpoint, entity.key, change);
  if (typeof path !== "string") {
    return { kind: "unsendable", error: `Cannot build the URL ${endpoint.method.toUpperCase()} ${endpoint.path}: the change has no value for {${path.missing.param}} (${path.missing.field}).` };
  }
  // The key is sent on create unless the server assigns it (then the row's key is a temporary one).
  const sendsKey = change.op === "insert" && entity.keySource !== "server";
  const omit = new Set([...entity.columns.filter((c) => c.device || (c.readOnly && (!sendsKey || !c.key))).map((c) => c.name), ...(change.op === "insert" && !sendsKey ? [entity.key] : []), PATH_VALUES]);
  let body: Record<string, unknown> | undefined;
  // A create leaves out what the client did not set (NULL): the server applies its defaults.
  if (change.op === "insert") body = Object.fromEntries(Object.entries(strip(change.value, omit)).filter(([, v]) => v !== null));
  else if (change.op === "update") {
    const changed = strip(change.value, new Set([...omit, entity.key]));
    // No PATCH in the spec: send the whole row as this client sees it now.
    body = endpoint.method.toUpperCase() === "PUT" ? { ...strip(currentRow ?? {}, new Set([...omit, "_sync_status"])), ...changed } : changed;
  }
  const headers: Record<string, string> = { "idempotency-key": change.change_id, "x-change-id": change.change_id };
  if (body) headers["content-type"] = "application/json";
  return {
    kind: "send",
    request: { method: endpoint.method.toUpperCase(), url: baseUrl.replace(/\/$/, "") + path, headers, ...(body ? { body: JSON.stringify(body) } : {}) },
  };
}

/**
 * The URL path of a change: the endpoint's parts with every parameter filled from the row
 * (the key from `row_key`, other fields from the change's value), URL-encoded. Returns the
 * parameter without a value instead when one is missing.
 */
export function endpointPath(endpoint: Endpoint, key: string, change: Pick<ChangeRow, "row_key" | "value">): string | { missing: { param: string; field: string } } {
  const recorded = change.value[PATH_VALUES];
  const values: Record<string, unknown> = { ...change.value, ...(recorded && typeof recorded === "object" ? (recorded as Record<string, unknown>) : {}) };
  let path = "";
  for (const part of endpoint.parts) {
    if (typeof part === "string") {
      path += part;
      continue;
    }
    const value = part.field === key ? change.row_key : values[part.field];
    if (value === undefined || value === null) return { missing: part };
    path += encodeURIComponent(typeof value === "object" ? JSON.stringify(value) : String(value));
  }
  return path;
}

function strip(value: Record<string, unknown>, omit: Set<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([k]) => !omit.has(k)));
}

// Answers and outcomes ---------------------------------------------------------------------------

/** What came back for a change: a response, a failure to reach the server, or no request at all. */
export type Answer =
  | { kind: "response"; status: number; statusText?: string; headers: { get(name: string): string | null }; text: string }
  | { kind: "network"; message: string }
  | { kind: "unsendable"; error: string };

/** What a key in a create's response means for the row (K1, K2). */
export type KeyDecision =
  | { kind: "keep" }
  /** Replace the temporary (or client's) key by the server's; `problem` for K2 (a client-key entity). */
  | { kind: "swap"; temp: string; key: string; json: string; problem?: string }
  /** A server-key create accepted without a key in the response: the row's later changes fail. */
  | { kind: "missing"; temp: string; problem: string };

export type Outcome =
  /** W3: `sent` (waits for the txid or write-id echo on the shape stream) or `synced` at once. */
  | { kind: "confirm"; status: "sent" | "synced"; txid: number | null; key: KeyDecision }
  /** W4: the server said no; `status` 0 when no request could be made. */
  | { kind: "reject"; status: number; error: string }
  /** W5: try again in `delayMs`; `refreshCredentials` (401): call `onUnauthorized` first. */
  | { kind: "retry"; error: string; delayMs: number; network: boolean; refreshCredentials: boolean };

export interface DecideOptions {
  backoff?: BackoffOptions;
  /** Response header carrying the write's txid (default `x-txid`). */
  txidHeader?: string;
  /** Jitter source in [0, 1) (Math.random by default). */
  random?: () => number;
  /** The client's clock (Date.now), used only for a Retry-After date without a `Date` header. */
  now?: () => number;
}

/** What the answer to a change means: W3, W4, W5 and K1/K2 in one place. */
export function decide(change: ChangeRow, entity: SyncEntity | undefined, answer: Answer, options: DecideOptions = {}): Outcome {
  const backoff = options.backoff ?? BACKOFF_DEFAULTS;
  const jitter = (): number => delayFor(change.attempts, backoff, options.random);
  if (answer.kind === "unsendable") return { kind: "reject", status: 0, error: answer.error };
  if (answer.kind === "network") return { kind: "retry", network: true, refreshCredentials: false, delayMs: jitter(), error: `Network error: ${answer.message}` };
  const { status, headers, text } = answer;
  if (status >= 200 && status < 300) {
    let parsed: unknown;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not JSON: no txid (and no key) in the body.
      }
    }
    const txid = txidOf(headers.get(options.txidHeader ?? "x-txid"), parsed);
    const awaitsEcho = txid !== null || entity?.writeId !== undefined;
    return { kind: "confirm", status: awaitsEcho ? "sent" : "synced", txid, key: keyDecision(change, entity, parsed) };
  }
  const summary = `${status} ${describeErrorBody(text) ?? answer.statusText ?? ""}`.trim();
  // Expired or missing credentials say nothing about the change: refresh them and send it again
  // (same Idempotency-Key) rather than roll back the user's work.
  if (status === 401) return { kind: "retry", network: false, refreshCredentials: true, delayMs: jitter(), error: summary };
  if (status >= 500 || status === 408 || status === 429) {
    const wait = retryAfter(headers.get("retry-after"), headers.get("date"), options.now);
    return { kind: "retry", network: false, refreshCredentials: false, delayMs: Math.max(wait, jitter()), error: summary };
  }
  return { kind: "reject", status, error: summary };
}

/** The txid of a 2xx: the header, else a JSON body's `txid`; null when neither is a number. */
function txidOf(header: string | null, body: unknown): number | null {
  let txid = header !== null && header !== "" ? Number(header) : NaN;
  if (Number.isNaN(txid) && body !== null && typeof body === "object" && "txid" in body && body.txid !== undefined) txid = Number(body.txid);
  return Number.isFinite(txid) ? txid : null;
}

/** K1/K2: what the key in a create's response means for the row's key on this device. */
export function keyDecision(change: Pick<ChangeRow, "op" | "row_key" | "change_id">, entity: SyncEntity | undefined, body: unknown): KeyDecision {
  if (change.op !== "insert" || !entity) return { kind: "keep" };
  const temp = change.row_key;
  const value = returnedKey(entity, body, temp);
  if (entity.keySource === "server") {
    if (value === undefined) {
      const at = entity.createKeyPath ?? [entity.key];
      return {
        kind: "missing",
        temp,
        problem: `The server accepted the create of ${entity.table} ${temp} (change ${change.change_id}) but its response has no key at ${at.join(".")}: the row's later changes cannot be addressed, and the row shows under the server's key only when it syncs.`,
      };
    }
    const key = String(value);
    return sameKey(key, temp) ? { kind: "keep" } : { kind: "swap", temp, key, json: JSON.stringify(value) };
  }
  // A client-key entity: a key in the response other than the one sent (K2).
  if (value === undefined) return { kind: "keep" };
  const key = String(value);
  return {
    kind: "swap",
    temp,
    key,
    json: JSON.stringify(value),
    problem: `The server stored the create of ${entity.table} ${temp} (change ${change.change_id}) under its own key ${key}, not the key the client sent: the row and the changes that refer to it now use the server's key on this device. If the server assigns keys, set \`x-sync: { key_source: server }\` on the resource; otherwise it must keep the client's key (docs/backend.md, "Keys").`,
  };
}

/** The key problem (K1 without a key, K2) an outcome leaves as the writer's last error; no retry fixes it. */
export function keyProblem(outcome: Outcome): string | undefined {
  return outcome.kind === "confirm" && outcome.key.kind !== "keep" ? outcome.key.problem : undefined;
}

/**
 * The key a create's JSON response carries: at `createKeyPath` for server keys; for client keys,
 * the row's key property when it differs from the key sent (K2). Undefined when there is none.
 */
function returnedKey(entity: SyncEntity, body: unknown, sent: string): string | number | undefined {
  let value: unknown = body;
  for (const step of entity.createKeyPath ?? [entity.key]) value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[step] : undefined;
  if ((typeof value !== "string" && typeof value !== "number") || value === "") return undefined;
  if (entity.keySource !== "server" && sameKey(String(value), sent)) return undefined;
  return value;
}

/** Keys compare as text; uuids whatever their letter case. */
export function sameKey(a: string, b: string): boolean {
  return a === b || (/^[0-9a-f-]{36}$/i.test(a) && a.toLowerCase() === b.toLowerCase());
}

// Waiting ----------------------------------------------------------------------------------------

/** W5: full jitter, a random delay up to the exponential bound for this attempt. */
export function delayFor(attempts: number, backoff: BackoffOptions = BACKOFF_DEFAULTS, random: () => number = Math.random): number {
  const bound = Math.min(backoff.maxMs, backoff.initialMs * backoff.multiplier ** attempts);
  return Math.round(random() * bound);
}

/**
 * `Retry-After` in seconds or as an HTTP date, clamped to an hour. A date is measured from the
 * response's `Date` header (the server's clock), so a client clock that is off does not matter (W7).
 */
export function retryAfter(header: string | null, serverDate?: string | null, now: () => number = Date.now): number {
  if (!header) return 0;
  const seconds = Number(header);
  const server = serverDate ? Date.parse(serverDate) : NaN;
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - (Number.isFinite(server) ? server : now());
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), 3_600_000) : 0;
}

/**
 * W7: how long a change read from the queue still waits, given when this writer planned to send
 * it (`due`, on the monotonic clock `now`) or, for a wait saved before a restart (`savedWaitMs`,
 * measured by the database's clock), at most `maxMs`. Returns the due time to remember.
 */
export function dueTime(due: number | undefined, savedWaitMs: number | null, now: number, maxMs: number): number {
  return due ?? now + Math.min(Math.max(savedWaitMs ?? 0, 0), maxMs);
}

// The batch --------------------------------------------------------------------------------------

/** A row's identity in the queue. */
export function rowId(change: Pick<ChangeRow, "entity" | "row_key">): string {
  return `${change.entity}\u0000${change.row_key}`;
}

/**
 * W4/K1: the row whose later changes in this batch must not be sent, because recording this
 * outcome fails them (a rejected create, a create accepted without a key). They are read again
 * after the batch is recorded: failed, or still pending when another writer had confirmed the
 * create (W8), and then sent.
 */
export function blockedRow(change: ChangeRow, outcome: Outcome): string | undefined {
  if (change.op !== "insert") return undefined;
  if (outcome.kind === "reject" || (outcome.kind === "confirm" && outcome.key.kind === "missing")) return rowId(change);
  return undefined;
}

/**
 * K1/K2 with a batch: after a key swap the queue's later changes of that row (their URL) and the
 * ones that refer to it (their values) are rewritten by the database. Changes read before that are
 * stale: when one of them mentions the old key, the batch ends, is recorded and the queue is read
 * again.
 */
export function staleAfter(outcome: Outcome, later: ChangeRow[]): boolean {
  if (outcome.kind !== "confirm" || outcome.key.kind !== "swap") return false;
  const temp = outcome.key.temp;
  return later.some((c) => c.row_key === temp || JSON.stringify(c.value).includes(temp));
}

// Recording --------------------------------------------------------------------------------------

export interface Statement {
  sql: string;
  params: unknown[];
}

/**
 * The SQL that records an outcome, to run in one transaction with the other outcomes of the batch,
 * in order. Every status change is guarded by `"status" = 'pending'` (W8: a change another writer
 * moved on stays where it is).
 */
export function recordOutcome(change: ChangeRow, outcome: Outcome, entities: ReadonlyMap<string, SyncEntity>): Statement[] {
  if (outcome.kind === "retry") {
    return [
      {
        sql: `UPDATE "_changes" SET "attempts" = "attempts" + 1, "last_error" = $2, "next_attempt_at" = now() + make_interval(secs => $3::float8 / 1000) WHERE "seq" = $1 AND "status" = 'pending'`,
        params: [change.seq, outcome.error, outcome.delayMs],
      },
    ];
  }
  if (outcome.kind === "reject") {
    // W4: a rejected create fails the row's later changes too (they could never apply), only when
    // the create itself moved to failed here (W8).
    return [
      {
        sql: `WITH "hit" AS (UPDATE "_changes" SET "status" = 'failed', "attempts" = "attempts" + 1, "last_error" = $2 WHERE "seq" = $1 AND "status" = 'pending' RETURNING "entity", "row_key", "op")
UPDATE "_changes" AS c SET "status" = 'failed', "last_error" = $3 FROM "hit"
WHERE "hit"."op" = 'insert' AND c."entity" = "hit"."entity" AND c."row_key" = "hit"."row_key" AND c."seq" > $1 AND c."status" = 'pending'`,
        params: [change.seq, outcome.error, `Not sent: the create of this row was rejected (${outcome.error})`],
      },
    ];
  }
  const statements: Statement[] = [];
  const key = outcome.key;
  const entity = entities.get(change.entity);
  if (key.kind === "missing") {
    statements.push({
      sql: `UPDATE "_changes" SET "status" = 'failed', "last_error" = $4 WHERE "entity" = $1 AND "row_key" = $2 AND "seq" > $3 AND "status" = 'pending'`,
      params: [change.entity, key.temp, change.seq, `Not sent: ${key.problem}`],
    });
  } else if (key.kind === "swap" && entity) statements.push(...swapKey(entity, key, entities));
  // A key problem (K1, K2) is noted on the create itself too.
  statements.push({
    sql: `UPDATE "_changes" SET "status" = $2, "txid" = $3, "attempts" = "attempts" + 1, "last_error" = $4 WHERE "seq" = $1 AND "status" = 'pending'`,
    params: [change.seq, outcome.status, outcome.txid, key.kind === "keep" ? null : (key.problem ?? null)],
  });
  return statements;
}

/**
 * K1: the server accepted the create of a row with a temporary key; its response names the row's
 * key. Replaces the temporary key everywhere on this device.
 */
function swapKey(entity: SyncEntity, swap: { temp: string; key: string; json: string }, entities: ReadonlyMap<string, SyncEntity>): Statement[] {
  const { temp, key, json } = swap;
  const statements: Statement[] = [
    {
      sql: `INSERT INTO "_sync_temp_keys" ("entity", "temp_key", "server_key") VALUES ($1, $2, $3) ON CONFLICT ("entity", "temp_key") DO UPDATE SET "server_key" = EXCLUDED."server_key"`,
      params: [entity.table, temp, key],
    },
    // The row's own changes: this create and the updates and deletes queued after it.
    {
      sql: `UPDATE "_changes" SET "row_key" = $3, "value" = CASE WHEN "value" ? $4 THEN jsonb_set("value", ARRAY[$4], $5::jsonb) ELSE "value" END WHERE "entity" = $1 AND "row_key" = $2`,
      params: [entity.table, temp, key, entity.key, json],
    },
    // The overlay row moves to the server key; the feed hears of the temporary key's end too.
    { sql: `UPDATE ${quote(entity.sql.local)} SET ${quote(entity.key)} = $2 WHERE ${quote(entity.key)}::text = $1`, params: [temp, key] },
    { sql: `INSERT INTO "_sync_feed" ("entity", "row_key") VALUES ($1, $2)`, params: [entity.table, temp] },
  ];
  // Foreign keys of every entity that refers to this one.
  for (const other of entities.values()) {
    for (const ref of (other.references ?? []).filter((r) => r.table === entity.table)) {
      statements.push(
        { sql: `UPDATE ${quote(other.sql.local)} SET ${quote(ref.field)} = CAST($2 AS ${ref.sqlType}) WHERE ${quote(ref.field)}::text = $1`, params: [temp, key] },
        {
          sql: `UPDATE "_changes" SET "value" = jsonb_set("value", ARRAY[$2], $3::jsonb) WHERE "entity" = $1 AND "status" IN ('pending', 'failed') AND "value" ->> $2 = $4`,
          params: [other.table, ref.field, json, temp],
        },
        {
          sql: `UPDATE "_changes" SET "value" = jsonb_set("value", ARRAY['${PATH_VALUES}', $2], to_jsonb($3::text)) WHERE "entity" = $1 AND "status" IN ('pending', 'failed') AND "value" -> '${PATH_VALUES}' ->> $2 = $4`,
          params: [other.table, ref.field, key, temp],
        },
      );
    }
  }
  statements.push({ sql: `SELECT pg_notify('_sync_feed', $1)`, params: [entity.table] });
  return statements;
}
