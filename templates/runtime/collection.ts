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
//  - Rows carry `_sync_status` (synced / pending / failed) from the view.
//  - Indexes: created on first use for each field a live query filters or orders by.
//  - New rows get time-ordered keys (`uuidv7`), so rows created on this device sort in creation
//    order by key while their server-assigned columns (created_at…) are still empty.
import { BasicIndex, type CollectionConfig } from "@tanstack/db";
import type { PGliteInterface } from "@electric-sql/pglite";
import { isLeaderChange, quoteIdent, writeLocal, type ChangeFeed, type ColumnSchema, type FeedBatch, type LocalWrite, type WriteJournal } from "../db/local-db.js";

export type SyncStatus = "synced" | "pending" | "failed";

export interface PgliteCollectionOptions {
  pg: PGliteInterface;
  feed: ChangeFeed;
  /** The view (entity table name). */
  table: string;
  key: string;
  columns: ColumnSchema[];
  id?: string;
  /** Browser: notes writes until the database has them (db.journal). */
  journal?: WriteJournal;
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

/** How many transactions' change ids a collection remembers (changeIdsOf). */
const RECENT_TRANSACTIONS = 1000;

export function pgliteCollectionOptions<TRow extends object>(options: PgliteCollectionOptions): CollectionConfig<TRow, Key, SyncStatusSchema<TRow>, PgliteCollectionUtils> & { schema: SyncStatusSchema<TRow> } {
  const { pg, feed, table, key, columns } = options;
  const view = quoteIdent(table);
  const changeIds = new Map<string, string[]>();
  const getKey = (row: TRow): Key => (row as Record<string, unknown>)[key] as Key;

  const entity = { table, key, columns };
  /** Notes the write (browser: survives the tab closing before the database has it), writes it, records its change id. */
  const write = async (transactionId: string, change: LocalWrite): Promise<void> => {
    const note = options.journal?.begin(change);
    await writeLocal(pg, entity, change);
    if (note) options.journal?.end(note);
    await recordChange(transactionId, change.key as Key);
  };

  const recordChange = async (transactionId: string, rowKey: Key): Promise<void> => {
    const read = () =>
      pg.query<{ change_id: string }>(`SELECT "change_id" FROM "_changes" WHERE "entity" = $1 AND "row_key" = $2 ORDER BY "seq" DESC LIMIT 1`, [table, String(rowKey)]);
    const r = await read().catch((error: unknown) => (isLeaderChange(error) ? read() : Promise.reject(error)));
    const id = r.rows[0]?.change_id;
    if (!id) return;
    changeIds.set(transactionId, [...(changeIds.get(transactionId) ?? []), id]);
    // Read right after the transaction settles (confirmed writes); keep only the recent ones.
    if (changeIds.size > RECENT_TRANSACTIONS) changeIds.delete(changeIds.keys().next().value!);
  };

  return {
    ...(options.id ? { id: options.id } : { id: table }),
    schema: syncStatusSchema<TRow>(),
    getKey,
    // Every field a live query filters or orders by gets an index the first time it is used
    // (the generated lists order by created_at, key, ...): no full scan per change, and no
    // TanStack DB warning about orderBy + limit without an index.
    autoIndex: "eager",
    defaultIndexType: BasicIndex,
    sync: {
      rowUpdateMode: "full",
      sync: ({ begin, write, commit, markReady, markError, truncate }) => {
        // Keys of the rows in the collection, by their text (the feed names deleted rows by text).
        const known = new Map<string, Key>();
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
            write({ type: known.has(String(k)) ? "update" : "insert", value });
            known.set(String(k), k);
          }
          for (const text of batch.deletes) {
            const k = known.get(text);
            if (k === undefined) continue;
            const value = { [key]: k } as TRow;
            write({ type: "delete", value });
            known.delete(text);
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
      for (const m of transaction.mutations) await write(transaction.id, { table, op: "insert", key: m.key, values: m.modified as Record<string, unknown> });
      await feed.flush();
    },
    onUpdate: async ({ transaction }) => {
      for (const m of transaction.mutations) await write(transaction.id, { table, op: "update", key: m.key, values: m.changes as Record<string, unknown> });
      await feed.flush();
    },
    onDelete: async ({ transaction }) => {
      for (const m of transaction.mutations) await write(transaction.id, { table, op: "delete", key: m.key, values: {} });
      await feed.flush();
    },
    utils: {
      changeIdsOf: (transactionId: string) => changeIds.get(transactionId) ?? [],
    },
  };
}
