// A TanStack DB collection over an entity's view in PGlite. Plain TypeScript, copied as is into
// the generated output (collections/pglite-collection.ts); eject it to change it.
//
//  - Sync: one full read of the view at start, then only the rows the change feed names
//    (never a re-run of the whole query).
//  - Writes: insert/update/delete handlers write through the view (the triggers queue the
//    change) and resolve at LOCAL durability, after the feed delivered the row. TanStack DB
//    holds back every sync commit to a collection while one of its write transactions is
//    persisting, so a handler that waited for the server would freeze the collection; the
//    confirmed mode waits in the hook layer instead (hooks/*.ts).
//  - Rows carry `_sync_status` (pending → syncing → synced, or failed) from the view.
//  - New rows get time-ordered keys (`uuidv7`), so rows created on this device sort in creation
//    order by key while their server-assigned columns (created_at…) are still empty.
import type { CollectionConfig } from "@tanstack/react-db";
import type { PGliteInterface } from "@electric-sql/pglite";
import { isLeaderChange, quoteIdent, type ChangeFeed, type ColumnSchema, type FeedBatch } from "../db/local-db.js";

/**
 * A row's sync status (docs/react.md, "The status model"):
 *  - `pending`: a change to it is stored on this device and the server has not accepted it yet
 *    (queued, waiting for a retry, or its request is under way);
 *  - `syncing`: the server accepted every change to it; its version is on the way back;
 *  - `synced`: what the row shows is the server's version;
 *  - `failed`: the server rejected a change to it (see `useSyncErrors`: retry or discard).
 */
export type SyncStatus = "synced" | "pending" | "syncing" | "failed";

export interface PgliteCollectionOptions {
  pg: PGliteInterface;
  feed: ChangeFeed;
  /** The view (entity table name). */
  table: string;
  key: string;
  columns: ColumnSchema[];
  id?: string;
}

export interface PgliteCollectionUtils extends Record<string, unknown> {
  /** Ids of the `_changes` rows a collection transaction created (for confirmed writes). */
  changeIdsOf(transactionId: string): string[];
}

type Key = string | number;

/** What `insert` takes: a row without `_sync_status`, which is read-only (the local database sets it). */
export type InsertInput<TRow> = Omit<TRow, "_sync_status">;

/**
 * A Standard Schema (https://standardschema.dev, whose interface is meant to be copied rather
 * than imported) that gives an inserted row its `_sync_status`: TanStack DB types `insert` by a
 * collection's schema input, and shows the validated row (now "pending") until the view has it.
 */
export interface SyncStatusSchema<TRow> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => { readonly value: TRow };
    readonly types?: { readonly input: InsertInput<TRow>; readonly output: TRow };
  };
}

function syncStatusSchema<TRow extends object>(): SyncStatusSchema<TRow> {
  const pending: SyncStatus = "pending";
  // An update validates the stored row merged with the changes: its status is kept.
  return { "~standard": { version: 1, vendor: "sync-patterns", validate: (value) => ({ value: { _sync_status: pending, ...(value as object) } as TRow }) } };
}

/**
 * Time-ordered UUIDs (version 7, from the `uuid` package, monotonic within a page): keys made on
 * one device sort as strings in the order they were made, keys from other devices by their clock.
 * The generated create hooks use it for uuid keys, so that "newest first" can order rows the
 * server has not dated yet.
 */
export { v7 as uuidv7 } from "uuid";

/** PGlite returns timestamps and dates as Date and int8 as bigint; the API types say string and number. */
function normalize(row: Record<string, unknown>, columns: ColumnSchema[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row };
  for (const c of columns) {
    const v = out[c.name];
    if (v instanceof Date) out[c.name] = c.pgType === "date" ? v.toISOString().slice(0, 10) : v.toISOString();
    else if (typeof v === "bigint") out[c.name] = Number(v);
  }
  return out;
}

/** JS value → query parameter for a column: JSON columns get JSON text. */
function toParam(value: unknown, column: ColumnSchema): unknown {
  if (value === undefined) return null;
  if (column.pgType === "jsonb" || column.pgType === "json") return value === null ? null : JSON.stringify(value);
  return value;
}

/**
 * Runs a local write; when the leading tab closed while it ran (PGliteWorker's "Leader changed,
 * pending operation in indeterminate state"), asks `applied()` whether it got in, and runs it
 * again if not. The user's write is neither lost nor made twice.
 */
async function writeOnce(write: () => Promise<unknown>, applied: () => Promise<boolean>): Promise<void> {
  for (;;) {
    try {
      await write();
      return;
    } catch (error) {
      if (!isLeaderChange(error)) throw error;
      const done = await applied().catch((e: unknown) => (isLeaderChange(e) ? false : Promise.reject(e)));
      if (done) return;
    }
  }
}

export function pgliteCollectionOptions<TRow extends object>(options: PgliteCollectionOptions): CollectionConfig<TRow, Key, SyncStatusSchema<TRow>, PgliteCollectionUtils> & { schema: SyncStatusSchema<TRow> } {
  const { pg, feed, table, key, columns } = options;
  const view = quoteIdent(table);
  const keyColumn = quoteIdent(key);
  const changeIds = new Map<string, string[]>();
  const getKey = (row: TRow): Key => (row as Record<string, unknown>)[key] as Key;

  const recordChange = async (transactionId: string, rowKey: Key): Promise<void> => {
    const read = () =>
      pg.query<{ change_id: string }>(`SELECT "change_id" FROM "_changes" WHERE "entity" = $1 AND "row_key" = $2 ORDER BY "seq" DESC LIMIT 1`, [table, String(rowKey)]);
    const r = await read().catch((error: unknown) => (isLeaderChange(error) ? read() : Promise.reject(error)));
    const id = r.rows[0]?.change_id;
    if (id) changeIds.set(transactionId, [...(changeIds.get(transactionId) ?? []), id]);
  };

  return {
    ...(options.id ? { id: options.id } : { id: table }),
    schema: syncStatusSchema<TRow>(),
    getKey,
    sync: {
      rowUpdateMode: "full",
      sync: ({ begin, write, commit, markReady, markError, truncate }) => {
        const known = new Set<Key>();
        let loaded = false;
        const pending: FeedBatch<Record<string, unknown>>[] = [];
        const apply = (batch: FeedBatch<Record<string, unknown>>): void => {
          begin();
          if (batch.reload) {
            truncate();
            known.clear();
          }
          for (const raw of batch.upserts) {
            const value = normalize(raw, columns) as TRow;
            const k = getKey(value);
            write({ type: known.has(k) ? "update" : "insert", value });
            known.add(k);
          }
          for (const text of batch.deletes) {
            const k = [...known].find((candidate) => String(candidate) === text);
            if (k === undefined) continue;
            const value = { [key]: k } as TRow;
            write({ type: "delete", value });
            known.delete(k);
          }
          commit();
        };
        const unsubscribe = feed.subscribe<Record<string, unknown>>(table, (batch) => (loaded ? apply(batch) : pending.push(batch)));
        void (async () => {
          try {
            const rows = await pg.query<Record<string, unknown>>(`SELECT * FROM ${view}`);
            apply({ reload: false, upserts: rows.rows, deletes: [] });
            loaded = true;
            for (const batch of pending.splice(0)) apply(batch);
            markReady();
          } catch (error) {
            markError(error as Error);
          }
        })();
        return () => unsubscribe();
      },
    },
    onInsert: async ({ transaction }) => {
      for (const m of transaction.mutations) {
        const value = m.modified as Record<string, unknown>;
        const present = columns.filter((c) => value[c.name] !== undefined);
        await writeOnce(
          () =>
            pg.query(
              `INSERT INTO ${view} (${present.map((c) => quoteIdent(c.name)).join(", ")}) VALUES (${present.map((_, i) => `$${i + 1}`).join(", ")})`,
              present.map((c) => toParam(value[c.name], c)),
            ),
          async () => (await pg.query(`SELECT 1 FROM ${view} WHERE ${keyColumn} = $1`, [m.key])).rows.length > 0,
        );
        await recordChange(transaction.id, m.key as Key);
      }
      await feed.flush();
    },
    onUpdate: async ({ transaction }) => {
      for (const m of transaction.mutations) {
        const changes = m.changes as Record<string, unknown>;
        const set = columns.filter((c) => c.name !== key && c.name in changes);
        if (!set.length) continue;
        const params = [m.key, ...set.map((c) => toParam(changes[c.name], c))];
        const differs = set.map((c, i) => `${quoteIdent(c.name)} IS DISTINCT FROM $${i + 2}`).join(" OR ");
        await writeOnce(
          () => pg.query(`UPDATE ${view} SET ${set.map((c, i) => `${quoteIdent(c.name)} = $${i + 2}`).join(", ")} WHERE ${keyColumn} = $1`, params),
          async () => (await pg.query(`SELECT 1 FROM ${view} WHERE ${keyColumn} = $1 AND (${differs})`, params)).rows.length === 0,
        );
        await recordChange(transaction.id, m.key as Key);
      }
      await feed.flush();
    },
    onDelete: async ({ transaction }) => {
      for (const m of transaction.mutations) {
        await writeOnce(
          () => pg.query(`DELETE FROM ${view} WHERE ${keyColumn} = $1`, [m.key]),
          async () => (await pg.query(`SELECT 1 FROM ${view} WHERE ${keyColumn} = $1`, [m.key])).rows.length === 0,
        );
        await recordChange(transaction.id, m.key as Key);
      }
      await feed.flush();
    },
    utils: {
      changeIdsOf: (transactionId: string) => changeIds.get(transactionId) ?? [],
    },
  };
}
