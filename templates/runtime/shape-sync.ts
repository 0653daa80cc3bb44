// Shape sync: Electric shapes into `<table>_synced`. Plain TypeScript, copied as is into the
// generated output (sync/shape-sync.ts); eject it to change it.
//
// Why not @electric-sql/pglite-sync: it ignores the txids on change messages, which confirmed
// writes need, and clears the table with DELETE on a re-fetch. This applies the
// @electric-sql/client ShapeStream itself:
//  - messages are buffered until an up-to-date control message (a consistent point), then
//    applied in ONE PGlite transaction together with (a) the acknowledgement of local changes
//    whose server txid arrived and (b) the stream's handle + offset, so a restart resumes
//    exactly where the data is, never twice and never with a gap;
//  - must-refetch drops the buffer and TRUNCATEs the synced table in the next commit (no row
//    triggers, so local work in the overlay is untouched);
//  - a failed commit or a stream that gave up re-opens the stream from the last saved offset;
//  - replays are skipped: a change at or before the last applied log position (lsn, op_position)
//    was applied already. A duplicated response, or a stale one served out of order by a proxy or
//    CDN (which moves the stream's offset back), so never moves a row back to an older value, and
//    the saved offset never goes backwards;
//  - only the synced columns the client knows are written; unknown server columns are ignored;
//  - a confirmed write whose change never comes (Electric's publication gap can lose one) is read
//    again: once a `sent` write's txid has stayed unacknowledged through OVERDUE_AFTER_UP_TO_DATES
//    up-to-dates, its rows are fetched once with a subset snapshot of the same shape (a fresh
//    query on the server, scoped like the shape) and applied, and the write is acknowledged if
//    that snapshot contains it.
import { FetchError, isChangeMessage, isControlMessage, ShapeStream, type ChangeMessage, type Message, type Row } from "@electric-sql/client";
import type { PGliteInterface, Transaction } from "@electric-sql/pglite";
import { quoteIdent, type EntityDescription } from "../db/local-db.js";

export interface ShapeSyncOptions {
  pg: PGliteInterface;
  /** The entity (sync/entities.ts): its table (the shape's `table`), synced table, key and columns. */
  entity: EntityDescription;
  /** Electric's shape endpoint, e.g. `http://localhost:3000/v1/shape`. */
  url: string;
  /** Extra shape params (`table` defaults to the entity's table). */
  params?: Record<string, string>;
  /**
   * Credentials, read again for every shape request: the same source as the API's writes
   * (`configureClient({ headers })`). The server (the shape proxy) decides which rows they may see.
   */
  auth?: () => HeadersInit | Promise<HeadersInit>;
  /** Sent with every shape request (`include` for cookie sessions on another origin). */
  credentials?: RequestCredentials;
  /**
   * Called when the shape endpoint answers 401; refresh the credentials here. The stream then
   * retries from where it is (same handle and offset: nothing is downloaded again) with `auth`
   * read anew.
   */
  onUnauthorized?: () => void | Promise<void>;
  /** Extra headers for shape requests only. */
  headers?: Record<string, string | (() => string | Promise<string>)>;
  fetchClient?: typeof fetch;
  /** Called after each commit with the txids it acknowledged. */
  onCommit?: (info: { rows: number; txids: number[]; refetched: boolean }) => void;
  onError?: (error: Error) => void;
}

export interface ShapeSync {
  /** Resolves when the shape has caught up with the server once. */
  readonly ready: Promise<void>;
  readonly isUpToDate: boolean;
  /** Counters since start: changes applied, replayed changes skipped, must-refetches. */
  readonly stats: { readonly applied: number; readonly skipped: number; readonly refetches: number };
  stop(): Promise<void>;
}

// Keep scalar values in Postgres text form (the synced table's column types parse them); JSON is parsed.
const AS_TEXT = (value: string): string => value;
const TEXT_PARSER = Object.fromEntries(["int2", "int4", "int8", "float4", "float8", "bool", "numeric", "oid"].map((t) => [t, AS_TEXT]));

export async function startShapeSync(options: ShapeSyncOptions): Promise<ShapeSync> {
  const { pg, entity } = options;
  const synced = quoteIdent(entity.sql.synced);
  const columns = entity.columns.filter((c) => !c.device).map((c) => c.name);
  // No column is a Postgres array (the generator stores arrays and objects as json), so an initial load can always COPY.
  const copyable = true;
  const key = entity.key;
  const readSaved = async () =>
    (await pg.query<{ handle: string | null; offset: string }>(`SELECT "handle", "offset" FROM "_sync_shapes" WHERE "entity" = $1`, [entity.table])).rows[0];
  let saved = await readSaved();
  let stream!: ShapeStream<Row>;
  let abort = new AbortController();
  let unsubscribe = (): void => undefined;
  // Bumped when the stream is replaced: messages and commits of an older stream are dropped.
  let generation = 0;
  let stopped = false;
  let failures = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  const baseFetch = options.fetchClient ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
  // Credentials are added to each request as it is sent, so a refreshed token is used at once.
  const fetchClient: typeof fetch =
    options.auth || options.credentials
      ? async (input, init) => {
          const headers = new Headers(init?.headers);
          if (options.auth) new Headers(await options.auth()).forEach((value, name) => headers.set(name, value));
          return baseFetch(input, { ...init, headers, ...(options.credentials ? { credentials: options.credentials } : {}) });
        }
      : baseFetch;
  const open = (): void => {
    const mine = ++generation;
    abort = new AbortController();
    stream = new ShapeStream<Row>({
      url: options.url,
      params: { table: entity.table, ...options.params },
      ...(saved && saved.offset !== "-1" && saved.handle ? { offset: saved.offset as `${number}_${number}`, handle: saved.handle } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
      fetchClient,
      parser: TEXT_PARSER,
      signal: abort.signal,
      // 401: refresh the credentials and go on from the stream's own handle and offset (returning
      // an object keeps them; Electric's client reads the headers again). Anything else stops
      // the stream, and the subscriber below re-opens it from the last saved offset.
      onError: async (error) => {
        if (mine !== generation || stopped || !(error instanceof FetchError) || error.status !== 401) return;
        await options.onUnauthorized?.();
        return {};
      },
    });
    unsubscribe = stream.subscribe(
      (messages) => (mine === generation ? onMessages(messages) : Promise.resolve()),
      (error) => {
        // The stream gave up (a 4xx, a response without Electric's headers, ...): report it and
        // start again from the last saved offset rather than stop syncing for good.
        if (mine !== generation || stopped) return;
        options.onError?.(error);
        restart();
      },
    );
  };

  let buffer: ChangeMessage<Row>[] = [];
  // The log position of the newest change received (buffered or applied); null before any.
  let position = saved?.handle ? parseOffset(saved.offset) : null;
  let savedOffset = position;
  const stats = { applied: 0, skipped: 0, refetches: 0 };
  let refetch = false;
  let pendingSnapshot: { xmin: string; xmax: string; xip: string[] } | undefined;
  let upToDate = false;
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  let applying = Promise.resolve();

  const commit = async (): Promise<void> => {
    const batch = buffer;
    const wasRefetch = refetch;
    const snapshot = pendingSnapshot;
    // A stale response moves the stream's offset back; the saved offset only moves forward.
    const streamOffset = parseOffset(stream.lastOffset);
    const offset = wasRefetch || !savedOffset || (streamOffset && compareOffsets(streamOffset, savedOffset) > 0) ? streamOffset : savedOffset;
    buffer = [];
    refetch = false;
    pendingSnapshot = undefined;
    const txids = new Set<number>();
    await pg.transaction(async (tx) => {
      if (wasRefetch) await tx.exec(`TRUNCATE ${synced}`);
      const empty = wasRefetch || (await tx.query(`SELECT NOT EXISTS (SELECT 1 FROM ${synced}) AS empty`)).rows[0]?.["empty" as never] === true;
      const bulk = empty && batch.length >= BULK_ROWS && batch.every((m) => m.headers.operation === "insert") && copyable;
      if (bulk) {
        await tx.exec(`SET LOCAL "sp.bulk" = 'on'`);
        await copyRows(tx, synced, columns, batch);
      } else await applyChanges(tx, synced, key, columns, batch);
      for (const m of batch) for (const t of m.headers.txids ?? []) txids.add(t);
      if (txids.size) await tx.query(`SELECT "_sync_acknowledge"($1, $2::bigint[], NULL)`, [entity.table, [...txids]]);
      await tx.query(
        `INSERT INTO "_sync_shapes" ("entity", "handle", "offset", "snapshot") VALUES ($1, $2, $3, $4)
         ON CONFLICT ("entity") DO UPDATE SET "handle" = $2, "offset" = $3, "snapshot" = COALESCE($4, "_sync_shapes"."snapshot")`,
        [entity.table, stream.shapeHandle ?? null, offset ? formatOffset(offset) : stream.lastOffset, snapshot ? JSON.stringify(snapshot) : null],
      );
      if (snapshot) {
        // Writes the snapshot already contains will never come as change messages.
        await tx.query(
          `UPDATE "_changes" SET "status" = 'synced' WHERE "entity" = $1 AND "status" = 'sent' AND "txid" IS NOT NULL
           AND ("txid" < $2 OR ("txid" < $3 AND NOT ("txid" = ANY ($4::bigint[]))))`,
          [entity.table, snapshot.xmin, snapshot.xmax, snapshot.xip],
        );
      }
    });
    savedOffset = offset;
    failures = 0;
    stats.applied += batch.length;
    options.onCommit?.({ rows: batch.length, txids: [...txids], refetched: wasRefetch });
  };

  // Log entries carry (lsn, op_position) and arrive in log order; snapshot rows carry neither
  // and belong before every log entry (offsets 0_k).
  const isReplay = (m: ChangeMessage<Row>): boolean => {
    const h = m.headers as { lsn?: string | number; op_position?: number };
    if (h.lsn === undefined) return position !== null && position.lsn > 0n;
    const at: Offset = { lsn: BigInt(h.lsn), op: Number(h.op_position ?? 0) };
    if (position && compareOffsets(at, position) <= 0) return true;
    position = at;
    return false;
  };

  // Confirmed writes waiting for their change: txid → up-to-dates committed since first seen `sent`.
  const waiting = new Map<number, number>();
  const reread = new Set<number>();
  let checking = false;
  const checkOverdue = async (): Promise<void> => {
    if (checking || stopped) return;
    checking = true;
    try {
      const sent = (
        await pg.query<{ txid: string; row_key: string }>(
          `SELECT DISTINCT "txid"::text AS "txid", "row_key" FROM "_changes" WHERE "entity" = $1 AND "status" = 'sent' AND "txid" IS NOT NULL`,
          [entity.table],
        )
      ).rows;
      const txids = new Set(sent.map((r) => Number(r.txid)));
      for (const t of waiting.keys()) if (!txids.has(t)) waiting.delete(t);
      const due = new Set<number>();
      for (const t of txids) {
        if (reread.has(t)) continue;
        const seen = (waiting.get(t) ?? 0) + 1;
        waiting.set(t, seen);
        if (seen > OVERDUE_AFTER_UP_TO_DATES) due.add(t);
      }
      if (due.size === 0) return;
      for (const t of due) reread.add(t);
      const keys = [...new Set(sent.filter((r) => due.has(Number(r.txid))).map((r) => r.row_key))];
      const mine = generation;
      const { metadata, data } = await stream.fetchSnapshot({
        where: `${quoteIdent(key)} IN (${keys.map((_, i) => `$${i + 1}`).join(", ")})`,
        params: Object.fromEntries(keys.map((k, i) => [String(i + 1), k])),
      });
      const snapshot = { xmin: BigInt(metadata.xmin), xmax: BigInt(metadata.xmax), xip: metadata.xip_list.map((x) => BigInt(x)) };
      const visible = [...due].filter((t) => {
        const x = BigInt(t);
        return x < snapshot.xmin || (x < snapshot.xmax && !snapshot.xip.includes(x));
      });
      const step = applying.then(async () => {
        if (mine !== generation) return;
        await pg.transaction(async (tx) => {
          await applyChanges(tx, synced, key, columns, data);
          // A requested row the server no longer has (in this shape) is gone.
          const present = new Set(data.map((m) => String(m.value[key])));
          const absent = keys.filter((k) => !present.has(k));
          if (absent.length) await tx.query(`DELETE FROM ${synced} WHERE ${quoteIdent(key)}::text = ANY ($1::text[])`, [absent]);
          if (visible.length) await tx.query(`SELECT "_sync_acknowledge"($1, $2::bigint[], NULL)`, [entity.table, visible]);
        });
      });
      applying = step.catch(() => undefined);
      await step;
    } finally {
      checking = false;
    }
  };

  const onMessages = (messages: Message<Row>[]): Promise<void> => {
    for (const m of messages) {
      if (isChangeMessage(m)) {
        if (isReplay(m)) stats.skipped++;
        else buffer.push(m);
      } else if (isControlMessage(m) && m.headers.control === "must-refetch") {
        buffer = [];
        refetch = true;
        pendingSnapshot = undefined;
        position = null;
        stats.refetches++;
      } else if (isControlMessage(m) && m.headers.control === "snapshot-end") {
        const h = m.headers as unknown as { xmin: string; xmax: string; xip_list: string[] };
        pendingSnapshot = { xmin: String(h.xmin), xmax: String(h.xmax), xip: (h.xip_list ?? []).map(String) };
      }
    }
    const last = messages[messages.length - 1];
    if (last && isControlMessage(last) && last.headers.control === "up-to-date") {
      const mine = generation;
      applying = applying
        .then(() => (mine === generation ? commit() : undefined))
        .then(
          () => {
            upToDate = true;
            resolveReady();
            if (mine === generation) void checkOverdue().catch((error: unknown) => void (stopped || options.onError?.(error as Error)));
          },
          (error: unknown) => {
            options.onError?.(error as Error);
            restart();
          },
        );
      return applying;
    }
    return Promise.resolve();
  };

  // A commit that failed stored nothing of its batch, but the stream has moved past it; a stream
  // that failed has stopped. Either way: start a new stream from the last saved offset (after a
  // growing pause), so nothing is skipped.
  const restart = (): void => {
    unsubscribe();
    abort.abort();
    generation++;
    buffer = [];
    refetch = false;
    pendingSnapshot = undefined;
    position = savedOffset;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(
      () =>
        void readSaved().then(
          (s) => {
            saved = s;
            if (!stopped) open();
          },
          (error: unknown) => options.onError?.(error as Error),
        ),
      Math.min(RETRY_MAX_MS, RETRY_INITIAL_MS * 2 ** failures++),
    );
  };

  open();
  return {
    ready,
    get isUpToDate() {
      return upToDate;
    },
    stats,
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      unsubscribe();
      abort.abort();
      await applying;
    },
  };
}

/**
 * Up-to-dates (each a consistent point of the shape, after every change the server had) a
 * confirmed write's txid may stay unacknowledged before its rows are read again.
 */
const OVERDUE_AFTER_UP_TO_DATES = 2;

/** Pause before re-opening a stream after a failed commit: doubling from 100 ms up to 10 s. */
const RETRY_INITIAL_MS = 100;
const RETRY_MAX_MS = 10_000;

/** A shape log offset `{lsn}_{op}` (`0_inf` ends the snapshot); `-1` and `now` are not positions. */
interface Offset {
  lsn: bigint;
  op: number;
}

function parseOffset(text: string | undefined): Offset | null {
  const m = /^(\d+)_(\d+|inf)$/.exec(text ?? "");
  return m ? { lsn: BigInt(m[1]!), op: m[2] === "inf" ? Infinity : Number(m[2]) } : null;
}

function formatOffset(o: Offset): string {
  return `${o.lsn}_${o.op === Infinity ? "inf" : o.op}`;
}

function compareOffsets(a: Offset, b: Offset): number {
  return a.lsn !== b.lsn ? (a.lsn < b.lsn ? -1 : 1) : a.op === b.op ? 0 : a.op < b.op ? -1 : 1;
}

/** Batches of at least this many inserts into an empty synced table are loaded with COPY. */
const BULK_ROWS = 1000;

/** Loads inserts into an empty synced table with COPY (CSV), the fastest way into PGlite. */
async function copyRows(tx: Transaction, synced: string, columns: string[], batch: ChangeMessage<Row>[]): Promise<void> {
  const cell = (v: unknown): string => (v === null || v === undefined ? "" : `"${(typeof v === "object" ? JSON.stringify(v) : String(v)).replace(/"/g, '""')}"`);
  const lines = batch.map((m) => columns.map((c) => cell(m.value[c])).join(","));
  await tx.query(`COPY ${synced} (${columns.map(quoteIdent).join(", ")}) FROM '/dev/blob' WITH (FORMAT csv)`, [], { blob: new Blob([lines.join("\n")]) });
}

/** Applies change messages in order: runs of inserts as one statement, updates and deletes one by one. */
export async function applyChanges(tx: Transaction, synced: string, key: string, columns: string[], batch: ChangeMessage<Row>[]): Promise<void> {
  const known = new Set(columns);
  const pick = (value: Row): Record<string, unknown> => Object.fromEntries(Object.entries(value).filter(([c]) => known.has(c)));
  const cols = columns.map(quoteIdent).join(", ");
  const updates = columns.filter((c) => c !== key).map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`);
  const upsert = `INSERT INTO ${synced} (${cols}) SELECT ${cols} FROM json_populate_recordset(NULL::${synced}, $1::json)
    ON CONFLICT (${quoteIdent(key)}) ${updates.length ? `DO UPDATE SET ${updates.join(", ")}` : "DO NOTHING"}`;
  // By key: one statement may not upsert a row twice (a repeated snapshot chunk can repeat rows).
  const inserts = new Map<string, Record<string, unknown>>();
  const flushInserts = async (): Promise<void> => {
    if (!inserts.size) return;
    await tx.query(upsert, [JSON.stringify([...inserts.values()])]);
    inserts.clear();
  };
  for (const m of batch) {
    const op = m.headers.operation;
    if (op === "insert") {
      inserts.set(String(m.value[key]), pick(m.value));
      continue;
    }
    await flushInserts();
    const keyValue = m.value[key];
    if (op === "delete") {
      await tx.query(`DELETE FROM ${synced} WHERE ${quoteIdent(key)} = $1`, [keyValue]);
    } else {
      const changed = Object.keys(pick(m.value)).filter((c) => c !== key);
      if (!changed.length) continue;
      const sets = changed.map((c, i) => `${quoteIdent(c)} = $${i + 2}`).join(", ");
      await tx.query(`UPDATE ${synced} SET ${sets} WHERE ${quoteIdent(key)} = $1`, [keyValue, ...changed.map((c) => m.value[c])]);
    }
  }
  await flushInserts();
}
