// Shape sync decisions: what to do with what the shape stream delivers. Plain TypeScript,
// copied as is into the generated output (sync/shape-sync-state.ts); eject it to change it.
//
// Pure: a state and an event in, the next state and a list of effects out. No I/O, no timers,
// no clock: sync/shape-sync.ts feeds it the stream's messages and the results of its own reads
// and writes, and carries out the effects against PGlite and the stream. The invariants it keeps
// are numbered S1… in SPEC.md (section S) next to it, each mapped to the test that enforces it.
//
//   messages ──(no up-to-date)──► buffered (or skipped as replays, S4)
//   messages ──up-to-date──► commit plan: the batch, txids, handle + offset, truncate? (S1, S2, S3, S5, S6, S7)
//   committed ──► offset saved, failures reset, up to date; read the sent writes (S8)
//   commit failed | stream failed ──► restart: new generation, buffer dropped, reopen after a pause (S9)
//   sent writes ──(overdue)──► fetch a subset by key ──► apply it, acknowledge what it contains (S8)
import type { ChangeMessage, Message, Row } from "@electric-sql/client";

/** A shape log position `{lsn}_{op}` (`0_inf` ends the initial snapshot); `-1` and `now` are none. */
export interface Offset {
  readonly lsn: bigint;
  readonly op: number;
}

/** The visibility bounds of a Postgres snapshot, as text (Electric's `snapshot-end` headers). */
export interface SnapshotBounds {
  readonly xmin: string;
  readonly xmax: string;
  readonly xip: readonly string[];
}

export interface ShapeSyncStats {
  /** Changes applied since start. */
  readonly applied: number;
  /** Replayed changes skipped (S4). */
  readonly skipped: number;
  /** must-refetch messages received (S5). */
  readonly refetches: number;
}

/** A confirmed write the server accepted (`sent`, with its txid) and whose change has not come. */
export interface SentWrite {
  readonly txid: number;
  readonly rowKey: string;
}

export interface ShapeSyncState {
  /** The entity's key column (rows of a subset snapshot are matched to the requested keys by it). */
  readonly key: string;
  /** Bumped when the stream is replaced: events and plans of an older stream are dropped (S9). */
  readonly generation: number;
  readonly stopped: boolean;
  /** Changes received since the last consistent point, in the chunks they came in (S1). */
  readonly buffer: readonly (readonly ChangeMessage<Row>[])[];
  /** Log position of the newest change received, buffered or applied; null before any (S4). */
  readonly position: Offset | null;
  /** The offset the last commit saved (S2, S3). */
  readonly saved: Offset | null;
  /** A must-refetch came: the next commit empties the synced table first (S5). */
  readonly refetch: boolean;
  /** The `snapshot-end` bounds of the initial snapshot, for the next commit (S7). */
  readonly snapshot: SnapshotBounds | undefined;
  /** Whether a commit caught up with the server once. */
  readonly upToDate: boolean;
  /** Restarts since the last successful commit (the pause doubles with each, S9). */
  readonly failures: number;
  /** Confirmed writes waiting for their change: txid → up-to-dates committed since first seen (S8). */
  readonly waiting: ReadonlyMap<number, number>;
  /** Txids already read again once (S8): never twice. */
  readonly reread: ReadonlySet<number>;
  /** An overdue check (read, fetch, apply) is under way; one at a time. */
  readonly checking: boolean;
  readonly stats: ShapeSyncStats;
}

/** One transaction's worth of work against the local database (S1). */
export interface CommitPlan {
  readonly generation: number;
  /** Empty `<table>_synced` first (a must-refetch came, S5). */
  readonly truncate: boolean;
  /** The changes to apply, in order. */
  readonly rows: readonly ChangeMessage<Row>[];
  /** Enough inserts to load with COPY if the synced table is empty (and its columns allow). */
  readonly bulk: boolean;
  /** Txids the changes carry: the local changes they confirm are acknowledged (S6). */
  readonly txids: readonly number[];
  /** The stream's handle and the offset to save with the batch (S2, S3). */
  readonly handle: string | null;
  readonly offset: string;
  /** Writes this snapshot already contains are synced (S7). */
  readonly snapshot: SnapshotBounds | undefined;
}

/** Read these rows again with a subset snapshot of the shape (S8). */
export interface SubsetRequest {
  readonly generation: number;
  /** Row keys of the overdue writes. */
  readonly keys: readonly string[];
  /** The overdue txids. */
  readonly txids: readonly number[];
}

/** Apply a subset snapshot in one transaction (S8). */
export interface SubsetPlan {
  readonly generation: number;
  readonly rows: readonly ChangeMessage<Row>[];
  /** Requested keys the snapshot does not have: the rows are gone (from this shape). */
  readonly absentKeys: readonly string[];
  /** Overdue txids the snapshot contains: acknowledged. */
  readonly acknowledge: readonly number[];
}

export type ShapeSyncEvent =
  /** A batch the stream delivered, with the stream's offset and handle at that moment. */
  | { readonly type: "messages"; readonly generation: number; readonly messages: readonly Message<Row>[]; readonly streamOffset: string; readonly streamHandle: string | undefined }
  | { readonly type: "committed"; readonly plan: CommitPlan }
  | { readonly type: "commit-failed"; readonly plan: CommitPlan; readonly error: Error }
  /** The stream gave up (a 4xx other than 401, a response without Electric's headers, …). */
  | { readonly type: "stream-failed"; readonly generation: number; readonly error: Error }
  /** The `sent` confirmed writes of this entity, read after a commit. */
  | { readonly type: "sent-writes"; readonly generation: number; readonly sent: readonly SentWrite[] }
  | { readonly type: "subset"; readonly request: SubsetRequest; readonly bounds: SnapshotBounds; readonly rows: readonly ChangeMessage<Row>[] }
  /** The overdue check ended (applied, skipped or failed). */
  | { readonly type: "check-ended"; readonly error?: Error }
  | { readonly type: "stop" };

export type ShapeSyncEffect =
  /** Run the plan in one transaction, after whatever runs before it; then `committed` or `commit-failed`. */
  | { readonly type: "commit"; readonly plan: CommitPlan }
  /** Tell the app (onCommit). */
  | { readonly type: "notify"; readonly rows: number; readonly txids: readonly number[]; readonly refetched: boolean }
  /** Tell the app (onError). */
  | { readonly type: "report"; readonly error: Error }
  /** Close the stream; after `delayMs`, open a new one from the saved handle and offset. */
  | { readonly type: "restart"; readonly delayMs: number }
  /** Read the entity's `sent` confirmed writes; then `sent-writes` (or `check-ended` with the error). */
  | { readonly type: "read-sent-writes"; readonly generation: number }
  /** Fetch a subset snapshot by key; then `subset` (or `check-ended` with the error). */
  | { readonly type: "fetch-subset"; readonly request: SubsetRequest }
  /** Apply a subset snapshot in one transaction, after whatever runs before it; then `check-ended`. */
  | { readonly type: "apply-subset"; readonly plan: SubsetPlan };

export interface ShapeSyncTransition {
  readonly state: ShapeSyncState;
  readonly effects: readonly ShapeSyncEffect[];
}

/**
 * Up-to-dates (each a consistent point of the shape, after every change the server had) a
 * confirmed write's txid may stay unacknowledged before its rows are read again (S8).
 */
export const OVERDUE_AFTER_UP_TO_DATES = 2;

/** Pause before re-opening a stream after a failure: doubling from 100 ms up to 10 s (S9). */
export const RETRY_INITIAL_MS = 100;
export const RETRY_MAX_MS = 10_000;

/** Batches of at least this many inserts into an empty synced table are loaded with COPY. */
export const BULK_ROWS = 1000;

/** The state of a stream starting from what `_sync_shapes` saved (nothing: from the start). */
export function initialShapeSyncState(key: string, saved?: { readonly handle: string | null; readonly offset: string }): ShapeSyncState {
  const position = saved?.handle ? parseOffset(saved.offset) : null;
  return {
    key,
    generation: 0,
    stopped: false,
    buffer: [],
    position,
    saved: position,
    refetch: false,
    snapshot: undefined,
    upToDate: false,
    failures: 0,
    waiting: new Map(),
    reread: new Set(),
    checking: false,
    stats: { applied: 0, skipped: 0, refetches: 0 },
  };
}

/** Whether work planned for `generation` may still run: its stream was not replaced (S9). */
export function isCurrent(state: ShapeSyncState, generation: number): boolean {
  return state.generation === generation;
}

/**
 * What to do when a shape request failed (before the stream gives up): a 401 of the current
 * stream refreshes the credentials and retries from the stream's own handle and offset (S10);
 * anything else lets the stream fail, and `stream-failed` restarts it from the saved offset.
 */
export function onFetchError(state: ShapeSyncState, error: { readonly generation: number; readonly status: number | undefined }): "refresh-and-retry" | "give-up" {
  return isCurrent(state, error.generation) && !state.stopped && error.status === 401 ? "refresh-and-retry" : "give-up";
}

export function stepShapeSync(state: ShapeSyncState, event: ShapeSyncEvent): ShapeSyncTransition {
  switch (event.type) {
    case "messages":
      return onMessages(state, event);
    case "committed":
      return onCommitted(state, event.plan);
    case "commit-failed": {
      // The batch stored nothing, but the stream has moved past it: start again from the saved offset.
      const report: ShapeSyncEffect = { type: "report", error: event.error };
      if (state.stopped || !isCurrent(state, event.plan.generation)) return { state, effects: [report] };
      const next = restart(state);
      return { state: next.state, effects: [report, ...next.effects] };
    }
    case "stream-failed": {
      if (state.stopped || !isCurrent(state, event.generation)) return { state, effects: [] };
      const next = restart(state);
      return { state: next.state, effects: [{ type: "report", error: event.error }, ...next.effects] };
    }
    case "sent-writes":
      return onSentWrites(state, event.generation, event.sent);
    case "subset":
      return onSubset(state, event.request, event.bounds, event.rows);
    case "check-ended":
      return { state: { ...state, checking: false }, effects: event.error && !state.stopped ? [{ type: "report", error: event.error }] : [] };
    case "stop":
      return { state: { ...state, stopped: true }, effects: [] };
  }
}

function onMessages(state: ShapeSyncState, event: Extract<ShapeSyncEvent, { type: "messages" }>): ShapeSyncTransition {
  if (!isCurrent(state, event.generation)) return { state, effects: [] };
  let { buffer, position, refetch, snapshot } = state;
  let { skipped, refetches } = state.stats;
  let chunk: ChangeMessage<Row>[] = [];
  for (const m of event.messages) {
    if (isChange(m)) {
      const at = logPosition(m);
      if (isReplay(at, position)) skipped++;
      else {
        if (at) position = at;
        chunk.push(m);
      }
      continue;
    }
    const control = controlOf(m);
    if (control === "must-refetch") {
      // S5: what came before belongs to a shape that is gone; the next commit starts from empty.
      buffer = [];
      chunk = [];
      refetch = true;
      snapshot = undefined;
      position = null;
      refetches++;
    } else if (control === "snapshot-end") {
      const h = m.headers as unknown as { xmin: unknown; xmax: unknown; xip_list?: unknown[] };
      snapshot = { xmin: String(h.xmin), xmax: String(h.xmax), xip: (h.xip_list ?? []).map(String) };
    }
  }
  if (chunk.length) buffer = [...buffer, chunk];
  const stats = { ...state.stats, skipped, refetches };
  const last = event.messages[event.messages.length - 1];
  if (!last || controlOf(last) !== "up-to-date") return { state: { ...state, buffer, position, refetch, snapshot, stats }, effects: [] };

  // S1: a consistent point. Everything since the last one goes in one transaction.
  const rows = buffer.flat();
  // S3: a stale response moves the stream's offset back; the saved offset only moves forward
  // (after a must-refetch the new shape's offsets start again).
  const streamOffset = parseOffset(event.streamOffset);
  const offset = refetch || !state.saved || (streamOffset && compareOffsets(streamOffset, state.saved) > 0) ? streamOffset : state.saved;
  const txids = new Set<number>();
  for (const m of rows) for (const t of m.headers.txids ?? []) txids.add(t);
  const plan: CommitPlan = {
    generation: state.generation,
    truncate: refetch,
    rows,
    bulk: rows.length >= BULK_ROWS && rows.every((m) => m.headers.operation === "insert"),
    txids: [...txids],
    handle: event.streamHandle ?? null,
    offset: offset ? formatOffset(offset) : event.streamOffset,
    snapshot,
  };
  return { state: { ...state, buffer: [], position, refetch: false, snapshot: undefined, stats }, effects: [{ type: "commit", plan }] };
}

function onCommitted(state: ShapeSyncState, plan: CommitPlan): ShapeSyncTransition {
  const next: ShapeSyncState = {
    ...state,
    saved: parseOffset(plan.offset),
    failures: 0,
    upToDate: true,
    stats: { ...state.stats, applied: state.stats.applied + plan.rows.length },
  };
  const effects: ShapeSyncEffect[] = [{ type: "notify", rows: plan.rows.length, txids: plan.txids, refetched: plan.truncate }];
  // S8: each committed up-to-date counts for the confirmed writes still waiting for their change.
  if (!isCurrent(state, plan.generation) || state.stopped || state.checking) return { state: next, effects };
  return { state: { ...next, checking: true }, effects: [...effects, { type: "read-sent-writes", generation: state.generation }] };
}

function restart(state: ShapeSyncState): ShapeSyncTransition {
  return {
    state: {
      ...state,
      generation: state.generation + 1,
      buffer: [],
      refetch: false,
      snapshot: undefined,
      // The new stream starts from the saved offset: what came after it comes again.
      position: state.saved,
      failures: state.failures + 1,
    },
    effects: [{ type: "restart", delayMs: Math.min(RETRY_MAX_MS, RETRY_INITIAL_MS * 2 ** state.failures) }],
  };
}

function onSentWrites(state: ShapeSyncState, generation: number, sent: readonly SentWrite[]): ShapeSyncTransition {
  if (state.stopped || !isCurrent(state, generation)) return { state: { ...state, checking: false }, effects: [] };
  const txids = new Set(sent.map((s) => s.txid));
  const waiting = new Map([...state.waiting].filter(([t]) => txids.has(t)));
  const due: number[] = [];
  for (const t of txids) {
    if (state.reread.has(t)) continue;
    const seen = (waiting.get(t) ?? 0) + 1;
    waiting.set(t, seen);
    if (seen > OVERDUE_AFTER_UP_TO_DATES) due.push(t);
  }
  if (due.length === 0) return { state: { ...state, waiting, checking: false }, effects: [] };
  const overdue = new Set(due);
  const keys = [...new Set(sent.filter((s) => overdue.has(s.txid)).map((s) => s.rowKey))];
  return {
    state: { ...state, waiting, reread: new Set([...state.reread, ...due]) },
    effects: [{ type: "fetch-subset", request: { generation, keys, txids: due } }],
  };
}

function onSubset(state: ShapeSyncState, request: SubsetRequest, bounds: SnapshotBounds, rows: readonly ChangeMessage<Row>[]): ShapeSyncTransition {
  if (state.stopped || !isCurrent(state, request.generation)) return { state: { ...state, checking: false }, effects: [] };
  const present = new Set(rows.map((m) => String(m.value[state.key])));
  return {
    state,
    effects: [
      {
        type: "apply-subset",
        plan: {
          generation: request.generation,
          rows,
          absentKeys: request.keys.filter((k) => !present.has(k)),
          acknowledge: request.txids.filter((t) => isVisible(t, bounds)),
        },
      },
    ],
  };
}

/** Whether a transaction is visible in a Postgres snapshot (committed before it was taken). */
export function isVisible(txid: number | string | bigint, bounds: SnapshotBounds): boolean {
  const x = BigInt(txid);
  return x < BigInt(bounds.xmin) || (x < BigInt(bounds.xmax) && !bounds.xip.some((t) => BigInt(t) === x));
}

// Log entries carry (lsn, op_position) and arrive in log order; snapshot rows carry neither and
// belong before every log entry (offsets 0_k).
function logPosition(m: ChangeMessage<Row>): Offset | null {
  const h = m.headers as { lsn?: string | number; op_position?: string | number };
  return h.lsn === undefined ? null : { lsn: BigInt(h.lsn), op: Number(h.op_position ?? 0) };
}

/** S4: a change at or before the newest position received was received already. */
function isReplay(at: Offset | null, position: Offset | null): boolean {
  if (at === null) return position !== null && position.lsn > 0n;
  return position !== null && compareOffsets(at, position) <= 0;
}

function isChange(m: Message<Row>): m is ChangeMessage<Row> {
  return "key" in m;
}

function controlOf(m: Message<Row>): string | undefined {
  const control = (m.headers as { control?: unknown }).control;
  return typeof control === "string" ? control : undefined;
}

export function parseOffset(text: string | undefined): Offset | null {
  const m = /^(\d+)_(\d+|inf)$/.exec(text ?? "");
  return m ? { lsn: BigInt(m[1]!), op: m[2] === "inf" ? Infinity : Number(m[2]) } : null;
}

export function formatOffset(o: Offset): string {
  return `${o.lsn}_${o.op === Infinity ? "inf" : o.op}`;
}

export function compareOffsets(a: Offset, b: Offset): number {
  return a.lsn !== b.lsn ? (a.lsn < b.lsn ? -1 : 1) : a.op === b.op ? 0 : a.op < b.op ? -1 : 1;
}
