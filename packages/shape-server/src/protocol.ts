/**
 * Electric's HTTP shape protocol: wire names, offsets, messages and the schema header.
 *
 * One name per wire string; the suffix says where it goes (`_HEADER`, `_PARAM`, `_CONTROL`).
 * The semantics are described in ../README.md and, for the real server, in
 * shared/notes/electric-protocol-and-pattern4.md §2. Pure: no I/O.
 */

export const SHAPE_PATH = "/v1/shape";

export const HANDLE_HEADER = "electric-handle";
export const OFFSET_HEADER = "electric-offset";
export const SCHEMA_HEADER = "electric-schema";
export const CURSOR_HEADER = "electric-cursor";
export const UP_TO_DATE_HEADER = "electric-up-to-date";
export const HAS_DATA_HEADER = "electric-has-data";

export const TABLE_PARAM = "table";
export const OFFSET_PARAM = "offset";
export const HANDLE_PARAM = "handle";
export const LIVE_PARAM = "live";
export const CURSOR_PARAM = "cursor";
export const WHERE_PARAM = "where";
/** `params[1]=…`: the values of `$1`… in the where clause. */
export const WHERE_PARAMS_PARAM = "params";
export const COLUMNS_PARAM = "columns";
export const REPLICA_PARAM = "replica";
export const LOG_PARAM = "log";
export const LIVE_SSE_PARAM = "live_sse";
export const EXPERIMENTAL_LIVE_SSE_PARAM = "experimental_live_sse";
export const SUBSET_PARAM_PREFIX = "subset__";

export const UP_TO_DATE_CONTROL = "up-to-date";
export const MUST_REFETCH_CONTROL = "must-refetch";
export const SNAPSHOT_END_CONTROL = "snapshot-end";

/** Electric's default long-poll timeout (`ELECTRIC_LONG_POLL_TIMEOUT`). */
export const DEFAULT_LONG_POLL_TIMEOUT_MS = 20_000;

export const CACHE_CONTROL = {
  initial: "public, max-age=604800, s-maxage=3600, stale-while-revalidate=2629746",
  live: "public, max-age=5, stale-while-revalidate=5",
  nonLive: "public, max-age=60, stale-while-revalidate=300",
  mustRefetch: "public, max-age=60, must-revalidate",
  /** A held live request whose shape went away (Electric 1.7: no handle, retried within a second). */
  mustRefetchLive: "public, max-age=1",
  sse: "public, max-age=5, stale-while-revalidate=5",
  error: "no-store",
} as const;

// ---------------------------------------------------------------------------------------------
// Offsets

/**
 * A position in a shape log, compared as the tuple (lsn, op).
 * - `{lsn: 0n, op: k}`: the end of snapshot chunk k; `op: Infinity` (`0_inf`) is the end of the
 *   whole snapshot, before every real log entry.
 * - `{lsn, op}` with lsn > 0: a change; lsn is the commit LSN of its transaction (as a decimal
 *   integer), op its position in the transaction.
 */
export interface LogOffset {
  lsn: bigint;
  op: number;
}

export const SNAPSHOT_END_OFFSET: LogOffset = { lsn: 0n, op: Infinity };

/** What a request may ask for: before everything, "now", or after an offset. */
export type RequestedOffset = { kind: "before-all" } | { kind: "now" } | { kind: "after"; offset: LogOffset };

export function parseRequestedOffset(text: string): RequestedOffset | undefined {
  if (text === "-1") return { kind: "before-all" };
  if (text === "now") return { kind: "now" };
  const m = /^(\d+)_(\d+|inf)$/.exec(text);
  if (!m || m[1] === undefined || m[2] === undefined) return undefined;
  const op = m[2] === "inf" ? Infinity : Number(m[2]);
  if (!Number.isSafeInteger(op) && op !== Infinity) return undefined;
  return { kind: "after", offset: { lsn: BigInt(m[1]), op } };
}

export function formatOffset(o: LogOffset): string {
  return `${o.lsn}_${o.op === Infinity ? "inf" : o.op}`;
}

export function compareOffsets(a: LogOffset, b: LogOffset): number {
  if (a.lsn !== b.lsn) return a.lsn < b.lsn ? -1 : 1;
  if (a.op === b.op) return 0;
  return a.op < b.op ? -1 : 1;
}

// ---------------------------------------------------------------------------------------------
// Messages

export type Operation = "insert" | "update" | "delete";
/** Column values as Postgres text output, or null for SQL NULL. */
export type RowValues = Record<string, string | null>;

export interface ChangeHeaders {
  operation: Operation;
  relation: [string, string];
  /** Only on log entries (not on snapshot rows). */
  lsn?: string;
  op_position?: number;
  txids?: number[];
  last?: true;
  key_change_to?: string;
  key_change_from?: string;
}

export interface ChangeMessage {
  key: string;
  value: RowValues;
  old_value?: RowValues;
  headers: ChangeHeaders;
}

export type ControlHeaders =
  | { control: typeof UP_TO_DATE_CONTROL; global_last_seen_lsn: string }
  | { control: typeof MUST_REFETCH_CONTROL }
  | { control: typeof SNAPSHOT_END_CONTROL; xmin: string; xmax: string; xip_list: string[] };

export interface ControlMessage {
  headers: ControlHeaders;
}

export type Message = ChangeMessage | ControlMessage;

export const upToDate = (globalLastSeenLsn: bigint): ControlMessage => ({
  headers: { control: UP_TO_DATE_CONTROL, global_last_seen_lsn: globalLastSeenLsn.toString() },
});

export const MUST_REFETCH: ControlMessage = { headers: { control: MUST_REFETCH_CONTROL } };

/**
 * The row key: `"schema"."table"/"pk1"/"pk2"`, with `/` doubled inside values and `/`, `.`
 * doubled in the relation names; a null key part is `_` (Electric's `Changes.build_key`).
 */
export function rowKey(relation: readonly [string, string], pkValues: readonly (string | null)[]): string {
  const rel = (s: string) => s.replaceAll("/", "//").replaceAll(".", "..");
  const parts = pkValues.map((v) => (v === null ? "/_" : `/"${v.replaceAll("/", "//")}"`));
  return `"${rel(relation[0])}"."${rel(relation[1])}"${parts.join("")}`;
}

// ---------------------------------------------------------------------------------------------
// Schema header

/** One column of the `electric-schema` header (Electric's `Electric.Schema`). */
export interface SchemaColumn {
  type: string;
  dims?: number;
  pk_index?: number;
  not_null?: true;
  max_length?: number;
  length?: number;
  precision?: number;
  scale?: number;
  fields?: string;
  type_mod?: number;
}

export type ShapeSchema = Record<string, SchemaColumn>;

// ---------------------------------------------------------------------------------------------
// Live cursor

const CURSOR_EPOCH_MS = Date.UTC(2024, 9, 9); // 2024-10-09T00:00:00Z

/**
 * The `electric-cursor` of a live response: seconds since 2024-10-09 rounded up to a multiple
 * of the long-poll timeout, bumped past the request's cursor if needed (Electric's
 * `Plug.Utils.get_next_interval_timestamp`). Below one second of timeout it is always 0.
 */
export function nextCursor(longPollTimeoutMs: number, previous: string | null, now = Date.now()): string {
  const timeoutSec = Math.floor(longPollTimeoutMs / 1000);
  if (timeoutSec === 0) return "0";
  const diffSec = Math.floor((now - CURSOR_EPOCH_MS) / 1000);
  const next = Math.ceil(diffSec / timeoutSec) * timeoutSec;
  const prev = previous !== null && /^\d+$/.test(previous) ? Number(previous) : 0;
  return String(next > prev ? next : prev + 1 + Math.floor(Math.random() * 3600));
}
