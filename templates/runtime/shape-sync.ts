// Shape sync: Electric shapes into `<table>_synced`. Plain TypeScript, copied as is into the
// generated output (sync/shape-sync.ts); eject it to change it.
//
// Why not @electric-sql/pglite-sync: it ignores the txids on change messages, which confirmed
// writes need, and clears the table with DELETE on a re-fetch. This applies the
// @electric-sql/client ShapeStream itself. What to do with each message is decided in
// shape-sync-state.ts (pure, no I/O); this file is the I/O around it: the stream, PGlite, the
// timer of a restart. The invariants (SPEC.md, section S), in short:
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
import { FetchError, ShapeStream, type ChangeMessage, type Row } from "@electric-sql/client";
import type { PGliteInterface, Transaction } from "@electric-sql/pglite";
import { quoteIdent, type EntityDescription } from "../db/local-db.js";
import {
  initialShapeSyncState,
  isCurrent,
  onFetchError,
  stepShapeSync,
  type CommitPlan,
  type SentWrite,
  type ShapeSyncEffect,
  type ShapeSyncEvent,
  type SubsetPlan,
} from "./shape-sync-state.js";

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

/** Where a shape lands: the entity's table, its synced table and the columns the client knows. */
export interface SyncTarget {
  /** The entity's table (the `_sync_shapes` and `_changes` rows are under this name). */
  table: string;
  /** `<table>_synced`, quoted. */
  synced: string;
  key: string;
  /** Synced columns (device-only ones are never written by the server). */
  columns: string[];
  /** Whether rows can be loaded with COPY (CSV): no array columns. */
  copyable: boolean;
}

export function syncTarget(entity: EntityDescription): SyncTarget {
  return {
    table: entity.table,
    synced: quoteIdent(entity.sql.synced),
    key: entity.key,
    columns: entity.columns.filter((c) => !c.device).map((c) => c.name),
    // No column is a Postgres array (the generator stores arrays and objects as json), so an initial load can always COPY.
    copyable: true,
  };
}

/**
 * The I/O loop: feeds the stream's messages and the results of its reads and writes to the
 * decisions (shape-sync-state.ts) and carries out what they plan. Work on the local database
 * (commits, subset applies) runs one at a time, in order.
 */
export async function startShapeSync(options: ShapeSyncOptions): Promise<ShapeSync> {
  const { pg, entity } = options;
  const target = syncTarget(entity);
  const readSaved = async () =>
    (await pg.query<{ handle: string | null; offset: string }>(`SELECT "handle", "offset" FROM "_sync_shapes" WHERE "entity" = $1`, [entity.table])).rows[0];
  let saved = await readSaved();
  let state = initialShapeSyncState(entity.key, saved);
  let stream!: ShapeStream<Row>;
  let abort = new AbortController();
  let unsubscribe = (): void => undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let applying = Promise.resolve();
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
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

  const dispatch = (event: ShapeSyncEvent): Promise<void> => {
    const next = stepShapeSync(state, event);
    state = next.state;
    if (state.upToDate) resolveReady();
    return Promise.all(next.effects.map(run)).then(() => undefined);
  };
  const checkFailed = (error: unknown): void => void dispatch({ type: "check-ended", error: asError(error) });
  // Runs one planned effect; the promise is what the stream waits for (a commit).
  const run = (effect: ShapeSyncEffect): Promise<void> | undefined => {
    switch (effect.type) {
      case "commit": {
        const { plan } = effect;
        applying = applying
          .then(() =>
            isCurrent(state, plan.generation)
              ? commitBatch(pg, target, plan).then(
                  () => dispatch({ type: "committed", plan }),
                  (error: unknown) => dispatch({ type: "commit-failed", plan, error: asError(error) }),
                )
              : undefined,
          )
          .catch((error: unknown) => options.onError?.(asError(error)));
        return applying;
      }
      case "notify":
        options.onCommit?.({ rows: effect.rows, txids: [...effect.txids], refetched: effect.refetched });
        return undefined;
      case "report":
        options.onError?.(effect.error);
        return undefined;
      case "restart":
        unsubscribe();
        abort.abort();
        clearTimeout(retryTimer);
        retryTimer = setTimeout(
          () =>
            void readSaved().then(
              (s) => {
                saved = s;
                if (!state.stopped) open();
              },
              (error: unknown) => options.onError?.(asError(error)),
            ),
          effect.delayMs,
        );
        return undefined;
      case "read-sent-writes":
        void readSentWrites(pg, entity.table).then((sent) => dispatch({ type: "sent-writes", generation: effect.generation, sent }), checkFailed);
        return undefined;
      case "fetch-subset": {
        const { request } = effect;
        void stream
          .fetchSnapshot({
            where: `${quoteIdent(target.key)} IN (${request.keys.map((_, i) => `$${i + 1}`).join(", ")})`,
            params: Object.fromEntries(request.keys.map((k, i) => [String(i + 1), k])),
          })
          .then(({ metadata, data }) => dispatch({ type: "subset", request, bounds: { xmin: String(metadata.xmin), xmax: String(metadata.xmax), xip: metadata.xip_list.map(String) }, rows: data }), checkFailed);
        return undefined;
      }
      case "apply-subset": {
        const { plan } = effect;
        const step = applying.then(() => (isCurrent(state, plan.generation) ? applySubset(pg, target, plan) : undefined));
        applying = step.catch(() => undefined);
        void step.then(() => dispatch({ type: "check-ended" }), checkFailed);
        return undefined;
      }
    }
  };

  const open = (): void => {
    const generation = state.generation;
    abort = new AbortController();
    const mine = new ShapeStream<Row>({
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
        if (onFetchError(state, { generation, status: error instanceof FetchError ? error.status : undefined }) !== "refresh-and-retry") return;
        await options.onUnauthorized?.();
        return {};
      },
    });
    stream = mine;
    unsubscribe = mine.subscribe(
      (messages) => dispatch({ type: "messages", generation, messages, streamOffset: mine.lastOffset, streamHandle: mine.shapeHandle }),
      (error) => void dispatch({ type: "stream-failed", generation, error: asError(error) }),
    );
  };

  open();
  return {
    ready,
    get isUpToDate() {
      return state.upToDate;
    },
    stats: {
      get applied() {
        return state.stats.applied;
      },
      get skipped() {
        return state.stats.skipped;
      },
      get refetches() {
        return state.stats.refetches;
      },
    },
    async stop() {
      state = stepShapeSync(state, { type: "stop" }).state;
      clearTimeout(retryTimer);
      unsubscribe();
      abort.abort();
      await applying;
    },
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The entity's confirmed writes the server accepted and whose change has not come (S8). */
async function readSentWrites(pg: PGliteInterface, table: string): Promise<SentWrite[]> {
  const { rows } = await pg.query<{ txid: string; row_key: string }>(
    `SELECT DISTINCT "txid"::text AS "txid", "row_key" FROM "_changes" WHERE "entity" = $1 AND "status" = 'sent' AND "txid" IS NOT NULL`,
    [table],
  );
  return rows.map((r) => ({ txid: Number(r.txid), rowKey: r.row_key }));
}

/**
 * Runs a commit plan in ONE transaction (S1): the truncate of a re-fetch (S5), the changes, the
 * acknowledgement of the txids they carry (S6), the handle and offset (S2), and the writes the
 * initial snapshot already contains (S7). A failure stores none of it.
 */
export async function commitBatch(pg: PGliteInterface, target: SyncTarget, plan: CommitPlan): Promise<void> {
  const { synced, columns } = target;
  await pg.transaction(async (tx) => {
    if (plan.truncate) await tx.exec(`TRUNCATE ${synced}`);
    const bulk =
      plan.bulk && target.copyable && (plan.truncate || (await tx.query(`SELECT NOT EXISTS (SELECT 1 FROM ${synced}) AS empty`)).rows[0]?.["empty" as never] === true);
    if (bulk) {
      await tx.exec(`SET LOCAL "sp.bulk" = 'on'`);
      await copyRows(tx, synced, columns, plan.rows);
    } else await applyChanges(tx, synced, target.key, columns, plan.rows);
    if (plan.txids.length) await tx.query(`SELECT "_sync_acknowledge"($1, $2::bigint[], NULL)`, [target.table, [...plan.txids]]);
    await tx.query(
      `INSERT INTO "_sync_shapes" ("entity", "handle", "offset", "snapshot") VALUES ($1, $2, $3, $4)
       ON CONFLICT ("entity") DO UPDATE SET "handle" = $2, "offset" = $3, "snapshot" = COALESCE($4, "_sync_shapes"."snapshot")`,
      [target.table, plan.handle, plan.offset, plan.snapshot ? JSON.stringify(plan.snapshot) : null],
    );
    if (plan.snapshot) {
      // Writes the snapshot already contains will never come as change messages.
      await tx.query(
        `UPDATE "_changes" SET "status" = 'synced' WHERE "entity" = $1 AND "status" = 'sent' AND "txid" IS NOT NULL
         AND ("txid" < $2 OR ("txid" < $3 AND NOT ("txid" = ANY ($4::bigint[]))))`,
        [target.table, plan.snapshot.xmin, plan.snapshot.xmax, [...plan.snapshot.xip]],
      );
    }
  });
}

/**
 * Applies a subset snapshot read for overdue writes (S8) in one transaction: its rows, the
 * deletion of requested rows it no longer has, the acknowledgement of the writes it contains.
 */
export async function applySubset(pg: PGliteInterface, target: SyncTarget, plan: SubsetPlan): Promise<void> {
  await pg.transaction(async (tx) => {
    await applyChanges(tx, target.synced, target.key, target.columns, plan.rows);
    if (plan.absentKeys.length) await tx.query(`DELETE FROM ${target.synced} WHERE ${quoteIdent(target.key)}::text = ANY ($1::text[])`, [[...plan.absentKeys]]);
    if (plan.acknowledge.length) await tx.query(`SELECT "_sync_acknowledge"($1, $2::bigint[], NULL)`, [target.table, [...plan.acknowledge]]);
  });
}

/** Loads inserts into an empty synced table with COPY (CSV), the fastest way into PGlite. */
async function copyRows(tx: Transaction, synced: string, columns: string[], batch: readonly ChangeMessage<Row>[]): Promise<void> {
  const cell = (v: unknown): string => (v === null || v === undefined ? "" : `"${(typeof v === "object" ? JSON.stringify(v) : String(v)).replace(/"/g, '""')}"`);
  const lines = batch.map((m) => columns.map((c) => cell(m.value[c])).join(","));
  await tx.query(`COPY ${synced} (${columns.map(quoteIdent).join(", ")}) FROM '/dev/blob' WITH (FORMAT csv)`, [], { blob: new Blob([lines.join("\n")]) });
}

/** Applies change messages in order: runs of inserts as one statement, updates and deletes one by one. */
export async function applyChanges(tx: Transaction, synced: string, key: string, columns: string[], batch: readonly ChangeMessage<Row>[]): Promise<void> {
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
