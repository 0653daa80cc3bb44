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
//  - Indexes: created on first use for each field a live query filters or orders by.
//  - New rows get time-ordered keys (`uuidv7`), so rows created on this device sort in creation
//    order by key while their server-assigned columns (created_at…) are still empty.
import { BasicIndex, type CollectionConfig, type LoadSubsetOptions, type SyncAppliedReceipt } from "@tanstack/db";
import type { PGliteInterface } from "@electric-sql/pglite";
import { v7 as uuidv7 } from "uuid";
import { planSubset } from "./subset-sql.js";
import { isLeaderChange, quoteIdent, writeLocal, type ChangeFeed, type ColumnDescription, type EntityDescription, type FeedBatch, type LocalWrite, type WriteJournal } from "../db/local-db.js";

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
  /**
   * The entity (sync/entities.ts): its view, key, columns and their codecs, and how a new row gets
   * its key (`newKey`; with `keySource: "server"` the key is temporary until the server confirms).
   */
  entity: EntityDescription;
  id?: string;
  /** Browser: notes writes until the database has them (db.journal). */
  journal?: WriteJournal;
  /**
   * `eager` (default): the collection reads the whole view when first queried. `on-demand`: each
   * live query loads what it shows (its where, order and limit, as SQL on the view; subset-sql.ts);
   * rows other tabs or the server change reach it through the change feed (SPEC D4).
   */
  syncMode?: SyncMode;
}

export type SyncMode = "eager" | "on-demand";

/** What `createCollections` (and each entity's `create…Collection`) takes. */
export interface CollectionsOptions {
  /**
   * Whether a write is checked against the caller's role on this device (x-rbac.roles) before it is
   * written locally. Default true. false for a script or a test that has no membership rows on the
   * device (no shape stream): the server still enforces every rule and its 403 rolls the write back.
   */
  checkRoles?: boolean;
  /**
   * How collections load (`eager` by default): one mode for all, or per entity by table name,
   * e.g. `{ contacts: "on-demand" }` for a large table whose lists show a window of it.
   */
  syncMode?: SyncMode | Readonly<Record<string, SyncMode>>;
}

/** The mode `options` give the entity `table`. */
export function syncModeOf(options: CollectionsOptions, table: string): SyncMode {
  const mode = options.syncMode;
  return typeof mode === "string" ? mode : (mode?.[table] ?? "eager");
}

/**
 * On-demand: a feed batch with more new rows than this (an initial sync's page, a server burst) is
 * not written into the collection; the live queries load their windows again instead (SPEC D4).
 */
const NEW_ROWS_WRITTEN = 50;
/** How long the live queries' windows wait to be loaded again after such a batch (more batches meanwhile: one reload). */
const RELOAD_WINDOWS_MS = 250;

export interface PgliteCollectionUtils extends Record<string, unknown> {
  /** Ids of the `_changes` rows a collection transaction created (for confirmed writes). */
  changeIdsOf(transactionId: string): string[];
  /**
   * A key for a new row. Server-assigned keys: a temporary key, replaced by the server's when the
   * create is confirmed (the collection then deletes the temporary row and inserts the server's).
   * Client keys: a time-ordered uuid (uuid keys); other client keys are the caller's to choose (rejects).
   */
  newKey(): Promise<Key>;
  /** The key the server gave a row created with this temporary key; undefined until its create is confirmed (and for keys that are not temporary). */
  serverKeyOf(tempKey: Key): Promise<Key | undefined>;
  /** The key a row has now: for keys the server assigns, the server's for a temporary key whose create was confirmed; else the key itself. */
  currentKey(key: Key): Promise<Key>;
  /** The row with this key as the local database shows it now (for a key the collection may not hold yet). */
  read(key: Key): Promise<Record<string, unknown> | undefined>;
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
function normalize(row: Record<string, unknown>, columns: readonly ColumnDescription[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row };
  for (const c of columns) {
    const v = out[c.name];
    if (v instanceof Date) out[c.name] = c.codec === "date" ? v.toISOString().slice(0, 10) : v.toISOString();
    else if (typeof v === "bigint") out[c.name] = Number(v);
  }
  return out;
}

/** How many transactions' change ids a collection remembers (changeIdsOf). */
const RECENT_TRANSACTIONS = 1000;

/** What `createRow` needs of a collection (any collection made by `pgliteCollectionOptions`). */
export interface CreateTarget<TRow> {
  insert(row: TRow): { id: string; when(state: "settled"): Promise<unknown> };
  get(key: Key): TRow | undefined;
  utils: PgliteCollectionUtils;
}

/**
 * Creates a row the way the generated create hooks do (`useCreateX().mutateAsync` resolves with
 * what this resolves with), usable without React:
 *  - without a key, the row gets one (`collection.utils.newKey()`: a time-ordered uuid, or a
 *    temporary key when the server assigns keys); a client-chosen key of another type is required
 *    (it rejects without one);
 *  - with `confirm` (confirmed writes): waits until the server confirmed each change, then
 *    resolves with the row as the local database shows it, under the server's key when the server
 *    assigned one (never the temporary row);
 *  - without: resolves with the local row once stored (a temporary key stays until the server
 *    confirms; `collection.utils.serverKeyOf(tempKey)` tells the server's key then).
 */
export async function createRow<TRow extends object>(
  collection: CreateTarget<TRow>,
  input: object,
  options: { key: string; confirm?: (changeId: string) => Promise<void> },
): Promise<TRow> {
  const given = (input as Record<string, unknown>)[options.key] as Key | null | undefined;
  const rowKey = given ?? (await collection.utils.newKey());
  const row = { ...input, [options.key]: rowKey, _sync_status: "pending" } as unknown as TRow;
  const transaction = collection.insert(row);
  await settle(collection, transaction, options.confirm);
  if (options.confirm) {
    const serverKey = await collection.utils.serverKeyOf(rowKey);
    const confirmed = await collection.utils.read(serverKey ?? rowKey);
    if (confirmed) return confirmed as TRow;
  }
  return collection.get(rowKey) ?? row;
}

/**
 * Waits until a collection transaction settled (the change is stored on this device), and, with
 * `confirm` (confirmed writes), until the server confirmed each change it made. The generated
 * update and delete hooks use it; `createRow` does the same for creates.
 */
export async function settle(
  collection: { utils: Pick<PgliteCollectionUtils, "changeIdsOf"> },
  transaction: { id: string; when(state: "settled"): Promise<unknown> },
  confirm?: (changeId: string) => Promise<void>,
): Promise<void> {
  await transaction.when("settled");
  if (confirm) for (const changeId of collection.utils.changeIdsOf(transaction.id)) await confirm(changeId);
}

export function pgliteCollectionOptions<TRow extends object>(options: PgliteCollectionOptions): CollectionConfig<TRow, Key, SyncStatusSchema<TRow>, PgliteCollectionUtils> & { schema: SyncStatusSchema<TRow> } {
  const { pg, feed, entity } = options;
  const { table, key, columns } = entity;
  const view = quoteIdent(entity.sql.view);
  const keyColumn = quoteIdent(key);
  const temporaryKeys = entity.keySource === "server";
  const changeIds = new Map<string, string[]>();
  const getKey = (row: TRow): Key => (row as Record<string, unknown>)[key] as Key;
  const onDemand = options.syncMode === "on-demand";

  /** Runs what a live query asks (subset-sql.ts: one statement) and hands its rows to `store`, in one sync transaction. */
  const loadSubset = async (request: LoadSubsetOptions, store: (rows: Record<string, unknown>[]) => SyncAppliedReceipt): Promise<void> => {
    const plan = planSubset(entity, request);
    // A read cut off by a change of PGlite's leader (another tab closed) is read again.
    let r: { rows: Record<string, unknown>[] } | undefined;
    while (!r) r = await pg.query<Record<string, unknown>>(plan.sql, plan.params).catch((error: unknown) => (isLeaderChange(error) && !request.signal?.aborted ? undefined : Promise.reject(error)));
    if (request.signal?.aborted) return;
    await store(r.rows);
  };

  // A temporary key replaced by the server's while a write of it was on its way (K1): write the server's row.
  const serverKeyOf = async (tempKey: Key): Promise<Key | undefined> => {
    const r = await pg.query<{ server_key: string | null }>(`SELECT "server_key" FROM "_sync_temp_keys" WHERE "entity" = $1 AND "temp_key" = $2`, [table, String(tempKey)]);
    const found = r.rows[0]?.server_key;
    if (found === null || found === undefined) return undefined;
    return typeof tempKey === "number" ? Number(found) : found;
  };
  const currentKey = async (k: Key): Promise<Key> => (temporaryKeys ? ((await serverKeyOf(k)) ?? k) : k);

  /** Notes the write (browser: survives the tab closing before the database has it), writes it, records its change id. */
  const write = async (transactionId: string, change: LocalWrite): Promise<void> => {
    const target = change.op === "insert" ? change.key : await currentKey(change.key as Key);
    const resolved = { ...change, key: target };
    const note = options.journal?.begin(resolved);
    await writeLocal(pg, entity, resolved);
    if (note) options.journal?.end(note);
    await recordChange(transactionId, target as Key);
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
    syncMode: options.syncMode ?? "eager",
    // Every field a live query filters or orders by gets an index the first time it is used
    // (the generated lists order by created_at, key, ...): no full scan per change, and no
    // TanStack DB warning about orderBy + limit without an index.
    autoIndex: "eager",
    defaultIndexType: BasicIndex,
    sync: {
      rowUpdateMode: "full",
      sync: ({ begin, write, commit, markReady, markError, truncate, invalidateLoadedSubsets }) => {
        // Keys of the rows in the collection, by their text (the feed names deleted rows by text).
        const known = new Map<string, Key>();
        let loaded = false;
        const pending: FeedBatch<Record<string, unknown>>[] = [];
        const upsert = (raw: Record<string, unknown>): void => {
          const value = normalize(raw, columns) as TRow;
          const k = getKey(value);
          write({ type: known.has(String(k)) ? "update" : "insert", value });
          known.set(String(k), k);
        };
        const apply = (batch: FeedBatch<Record<string, unknown>>): void => {
          // On demand (D4): rows the collection holds follow every change; new rows are written
          // when few (a write in this or another tab shows at once), else the live queries reload.
          const fresh = onDemand ? batch.upserts.filter((raw) => !known.has(String(raw[key]))).length : 0;
          const reloadWindows = onDemand && (batch.reload || fresh > NEW_ROWS_WRITTEN);
          begin();
          if (batch.reload) {
            truncate();
            known.clear();
          }
          for (const raw of batch.upserts) if (!reloadWindows || known.has(String(raw[key]))) upsert(raw);
          for (const text of batch.deletes) {
            const k = known.get(text);
            if (k === undefined) continue;
            const value = { [key]: k } as TRow;
            write({ type: "delete", value });
            known.delete(text);
          }
          commit();
          if (reloadWindows) reloadSoon();
        };
        // Bursts (an initial sync's pages) reload the windows once per RELOAD_WINDOWS_MS, not once per page.
        let reloading: ReturnType<typeof setTimeout> | undefined;
        const reloadSoon = (): void => {
          reloading ??= setTimeout(() => {
            reloading = undefined;
            invalidateLoadedSubsets();
          }, RELOAD_WINDOWS_MS);
        };
        if (onDemand) {
          // Nothing is read until a live query asks (loadSubset); the feed keeps what was read current.
          const unsubscribe = feed.subscribe<Record<string, unknown>>(table, apply);
          markReady();
          return {
            cleanup: () => {
              unsubscribe();
              clearTimeout(reloading);
            },
            loadSubset: (request) => loadSubset(request, (rows) => {
              begin();
              for (const raw of rows) upsert(raw);
              return commit();
            }),
          };
        }
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
      newKey: async (): Promise<Key> => {
        if (entity.newKey === "negative") {
          const r = await pg.query<{ k: number | bigint }>(`SELECT -nextval('"_sync_temp_key"') AS k`);
          return Number(r.rows[0]!.k);
        }
        if (entity.newKey === "prefixed") return `tmp:${uuidv7()}`;
        if (entity.newKey === "uuid") return uuidv7();
        throw new Error(`${table}: the key ${key} is required to create a row (the client chooses it; only uuid keys and keys the server assigns are made).`);
      },
      serverKeyOf,
      currentKey,
      read: async (rowKey: Key): Promise<Record<string, unknown> | undefined> => {
        const r = await pg.query<Record<string, unknown>>(`SELECT * FROM ${view} WHERE ${keyColumn} = $1`, [rowKey]);
        return r.rows[0] ? normalize(r.rows[0], columns) : undefined;
      },
    },
  };
}
