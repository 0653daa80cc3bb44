// The local database runtime: schema migrations that keep queued writes, and the change feed.
// Plain TypeScript, copied as is into the generated output (db/local-db.ts); eject it to change it.
//
// Migrations: each entity's SQL comes in two parts. `tables` (the synced table and the overlay)
// and `objects` (view, triggers, functions). Their hashes are stored in _sync_schema.
//  - objects changed: they are replaced; data untouched.
//  - tables changed: the synced table is a cache and is rebuilt (its shape re-syncs from the
//    start); the overlay is rebuilt from _changes, which is never dropped. Device-only values
//    are carried over. An open change that no longer fits the schema is marked failed with a
//    reason, never dropped. An entity that disappears gets its open changes failed, likewise.
//
// Change feed: triggers append the keys of changed rows to _sync_feed and NOTIFY once per
// statement; each reader (one per tab) reads on from its own cursor and reads only those rows
// from the view, never the whole table.
import type { PGliteInterface, Transaction } from "@electric-sql/pglite";
import { Serial } from "./scheduler.js";

// ---------------------------------------------------------------------------------------------
// The entity description: what the runtime knows of an entity, one typed description per entity,
// emitted once by the generator into sync/entities.ts and handed to every runtime module (this
// module's migrations, change feed and journal, the collections, shape sync, the change writer).
// The generator declares the same type (EntityDescription in sync-patterns' src/model/types.ts).
// The runtime decides by `codec`, `newKey`, `keySource` and the flags, never by Postgres type
// text; `sqlType` and `sql.keyType` are only printed into SQL casts (templates/runtime/SPEC.md, E).
// ---------------------------------------------------------------------------------------------

/**
 * How values of a column travel between the database and JavaScript: `json` values are written
 * as JSON text; `date` values read as `YYYY-MM-DD`, `timestamp` values as ISO strings; `bigint`
 * values read as numbers.
 */
export type Codec = "text" | "uuid" | "int" | "bigint" | "float" | "numeric" | "bool" | "json" | "timestamp" | "date" | "time" | "bytes";

/**
 * How a row created on this device gets its key when none is given: `uuid` (a time-ordered uuid),
 * `negative` (server keys, integer: a negative number from the local sequence), `prefixed` (server
 * keys, text: `tmp:<uuid>`), `required` (the caller gives it).
 */
export type NewKey = "uuid" | "negative" | "prefixed" | "required";

export interface ColumnDescription {
  name: string;
  codec: Codec;
  /** The column's Postgres type, for SQL casts only. */
  sqlType: string;
  key: boolean;
  readOnly: boolean;
  writeOnly: boolean;
  /** `x-sync-exclude`: lives only on this device, never sent, never synced. */
  device: boolean;
}

export interface EndpointDescription {
  /** Upper case: `POST`. */
  method: string;
  /** Path template as the spec writes it, e.g. `/v1/files/{file_key}/comments/{comment_id}` (for messages). */
  path: string;
  /** Its path parameters, in order. */
  params: string[];
}

export interface WriteEndpointDescription {
  /** Upper case: `PATCH`. */
  method: string;
  /** Path template as the spec writes it (for messages). */
  path: string;
  /**
   * The same path as literal text and parameters, each bound to the row field that fills it:
   * `["/v1/files/", { param: "file_key", field: "file_key" }, "/comments/", { param: "comment_id", field: "id" }]`.
   */
  parts: (string | { param: string; field: string })[];
}

export interface EntityDescription {
  /** The entity's name in `_changes.entity`, the change feed, `_sync_shapes` and the shape's `table`: its table name. */
  table: string;
  /** Its SQL objects' names (unquoted: quote with `quoteIdent`), and the key column's Postgres type for casts. */
  sql: {
    view: string;
    synced: string;
    local: string;
    rebuild: string;
    onInsert: string;
    onUpdate: string;
    onDelete: string;
    feed: string;
    ack: string;
    keyType: string;
  };
  /** The key column. */
  key: string;
  /**
   * `server`: the server assigns keys (x-sync key_source). A create is sent without the key, and
   * the key in its JSON response (at `createKeyPath`, e.g. `["id"]` or `["data", "id"]`) replaces
   * the row's temporary key on this device.
   */
  keySource: "client" | "server";
  newKey: NewKey;
  createKeyPath?: string[];
  mode: "local-first" | "confirmed";
  localFirst: boolean;
  /** `x-sync.scope`: the column the server scopes rows by (the shape proxy sets it; the client never chooses it). */
  scope?: string;
  columns: ColumnDescription[];
  list?: EndpointDescription;
  get?: EndpointDescription;
  create?: WriteEndpointDescription;
  update?: WriteEndpointDescription;
  remove?: WriteEndpointDescription;
  /** A server column echoing the change id (x-sync.write_id); acknowledgement then comes from it. */
  writeId?: string;
  /** Fields of this entity holding keys of server-key entities (foreign keys): rewritten when a temporary key is replaced. */
  references: { field: string; table: string; sqlType: string }[];
}

/** The entities by table name, for the places that start from a name stored in the database (`_changes.entity`, the feed). */
export function byTable<T extends { table: string }>(entities: readonly T[]): ReadonlyMap<string, T> {
  return new Map(entities.map((e) => [e.table, e]));
}

// ---------------------------------------------------------------------------------------------

/** An entity's SQL: its description (sync/entities.ts) with the DDL of its tables and objects. */
export interface EntitySchema {
  entity: EntityDescription;
  /** DDL of the synced table and the overlay. */
  tables: string;
  /** View, triggers and functions. */
  objects: string;
}

export interface LocalSchema {
  shared: string;
  entities: EntitySchema[];
  /** The suffix of each SQL object of an entity after its table name (`_synced`, `_ins`, …), to drop the objects of an entity that is gone. */
  objectSuffixes: Record<Exclude<keyof EntityDescription["sql"], "view" | "keyType">, string>;
}

/** What `_sync_schema.columns` keeps of a column (the same JSON as before the entity description). */
interface StoredColumn {
  name: string;
  pgType: string;
  device: boolean;
}

export interface MigrationReport {
  created: string[];
  /** Tables rebuilt because their columns changed; their shapes sync again from the start. */
  rebuilt: string[];
  /** Only views/triggers/functions replaced. */
  upgraded: string[];
  removed: string[];
  /** Open changes marked failed because they no longer fit the schema. */
  failedChanges: number;
}

type Queryable = Pick<PGliteInterface, "query" | "exec"> | Transaction;

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A stable 53-bit string hash (cyrb53), hex: enough to tell schema versions apart. */
export function hashText(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16);
}

interface StoredSchema {
  entity: string;
  tables_version: string;
  objects_version: string;
  columns: StoredColumn[];
}

/** Brings the database to `schema`, in one transaction. Idempotent. */
export async function migrate(pg: PGliteInterface, schema: LocalSchema): Promise<MigrationReport> {
  const report: MigrationReport = { created: [], rebuilt: [], upgraded: [], removed: [], failedChanges: 0 };
  await pg.transaction(async (tx) => {
    await tx.exec(schema.shared);
    const stored = new Map((await tx.query<StoredSchema>(`SELECT * FROM "_sync_schema"`)).rows.map((r) => [r.entity, r]));
    const failedBefore = await countFailed(tx);
    for (const part of schema.entities) {
      const entity = part.entity;
      const tablesVersion = hashText(part.tables);
      const objectsVersion = hashText(part.objects);
      const previous = stored.get(entity.table);
      if (!previous) {
        await tx.exec(part.tables);
        await tx.exec(part.objects);
        await rebuildOpenRows(tx, entity);
        report.created.push(entity.table);
      } else if (previous.tables_version !== tablesVersion) {
        await rebuildTables(tx, part, previous);
        report.rebuilt.push(entity.table);
      } else if (previous.objects_version !== objectsVersion) {
        await tx.exec(part.objects);
        report.upgraded.push(entity.table);
      } else continue;
      const columns: StoredColumn[] = entity.columns.map((c) => ({ name: c.name, pgType: c.sqlType, device: c.device }));
      await tx.query(
        `INSERT INTO "_sync_schema" ("entity", "tables_version", "objects_version", "columns") VALUES ($1, $2, $3, $4)
         ON CONFLICT ("entity") DO UPDATE SET "tables_version" = $2, "objects_version" = $3, "columns" = $4`,
        [entity.table, tablesVersion, objectsVersion, JSON.stringify(columns)],
      );
    }
    const current = new Set(schema.entities.map((e) => e.entity.table));
    for (const name of stored.keys()) {
      if (current.has(name)) continue;
      await removeEntity(tx, name, schema.objectSuffixes);
      report.removed.push(name);
    }
    report.failedChanges = (await countFailed(tx)) - failedBefore;
  });
  return report;
}

async function countFailed(tx: Queryable): Promise<number> {
  const r = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM "_changes" WHERE "status" = 'failed'`);
  return r.rows[0]?.n ?? 0;
}

async function rebuildTables(tx: Transaction, part: EntitySchema, previous: StoredSchema): Promise<void> {
  const entity = part.entity;
  const local = quoteIdent(entity.sql.local);
  const keepDevice = entity.columns.filter((c) => c.device && previous.columns.some((p) => p.name === c.name && p.device)).map((c) => c.name);
  let saved: Record<string, unknown>[] = [];
  if (keepDevice.length) {
    const rows = await tx.query<{ row: Record<string, unknown> }>(`SELECT to_jsonb(l) AS row FROM ${local} l`);
    saved = rows.rows
      .map(({ row }) => Object.fromEntries([[entity.key, row[entity.key]], ...keepDevice.map((c) => [c, row[c] ?? null])]))
      .filter((row) => keepDevice.some((c) => row[c] !== null));
  }
  await tx.exec(`DROP VIEW IF EXISTS ${quoteIdent(entity.sql.view)} CASCADE;
DROP TABLE IF EXISTS ${quoteIdent(entity.sql.synced)} CASCADE;
DROP TABLE IF EXISTS ${local} CASCADE;`);
  await tx.exec(part.tables);
  await tx.exec(part.objects);
  if (saved.length) {
    const cols = [entity.key, ...keepDevice].map(quoteIdent).join(", ");
    await tx.query(`INSERT INTO ${local} (${cols}) SELECT ${cols} FROM jsonb_populate_recordset(NULL::${local}, $1::jsonb)`, [JSON.stringify(saved)]);
  }
  await tx.query(`SELECT "_sync_validate_changes"($1, $2, $3::text[])`, [entity.table, entity.sql.local, entity.columns.map((c) => c.name)]);
  await rebuildOpenRows(tx, entity);
  // The synced table was emptied: its shape must sync again from the start.
  await tx.query(`DELETE FROM "_sync_shapes" WHERE "entity" = $1`, [entity.table]);
}

/** Re-folds every row that has open or failed changes into the overlay. */
async function rebuildOpenRows(tx: Queryable, entity: EntityDescription): Promise<void> {
  await tx.query(
    `SELECT ${quoteIdent(entity.sql.rebuild)}(k) FROM (SELECT DISTINCT "row_key" AS k FROM "_changes" WHERE "entity" = $1 AND "status" IN ('pending', 'sent', 'failed')) AS keys`,
    [entity.table],
  );
}

/** Drops an entity this client no longer has (its description is gone: its objects' names are its table name and the suffixes). */
async function removeEntity(tx: Transaction, table: string, suffixes: LocalSchema["objectSuffixes"]): Promise<void> {
  await tx.query(
    `UPDATE "_changes" SET "status" = 'failed', "last_error" = $2 WHERE "entity" = $1 AND "status" IN ('pending', 'sent')`,
    [table, `The client no longer syncs ${table}, so this change cannot be sent.`],
  );
  const q = (name: keyof LocalSchema["objectSuffixes"]): string => quoteIdent(table + suffixes[name]);
  await tx.exec(`DROP VIEW IF EXISTS ${quoteIdent(table)} CASCADE;
DROP TABLE IF EXISTS ${q("synced")} CASCADE;
DROP TABLE IF EXISTS ${q("local")} CASCADE;
DROP FUNCTION IF EXISTS ${q("rebuild")}(text);
DROP FUNCTION IF EXISTS ${q("onInsert")}();
DROP FUNCTION IF EXISTS ${q("onUpdate")}();
DROP FUNCTION IF EXISTS ${q("onDelete")}();
DROP FUNCTION IF EXISTS ${q("feed")}();
DROP FUNCTION IF EXISTS ${q("ack")}();`);
  await tx.query(`DELETE FROM "_sync_schema" WHERE "entity" = $1`, [table]);
  await tx.query(`DELETE FROM "_sync_shapes" WHERE "entity" = $1`, [table]);
}

/**
 * Where a database lives, as PGlite names it: `memory`, a Node directory (`nodefs`), IndexedDB
 * (`idb`), OPFS through a pool of sync access handles (`opfs-ahp`, Web Workers only), or PGlite's
 * memory-then-OPFS mirror (`memfs2opfs`).
 */
export type StorageKind = "memory" | "nodefs" | "idb" | "opfs-ahp" | "memfs2opfs";

export interface StorageChoice {
  /** The dataDir to give PGlite. */
  dataDir: string | undefined;
  storage: StorageKind;
  /** false when a database is there already; undefined when that cannot be told (a Node directory). */
  fresh: boolean | undefined;
}

type OpfsRoot = { getDirectoryHandle(name: string): Promise<OpfsRoot>; getFileHandle(name: string): Promise<unknown> };
type BrowserGlobals = {
  indexedDB?: { databases?: () => Promise<{ name?: string }[]> };
  FileSystemFileHandle?: { prototype: object };
  navigator?: { storage?: { getDirectory?: () => Promise<OpfsRoot> } };
};

/** Whether PGlite's IndexedDB database for `idb://<name>` exists (IdbFs names it /pglite/<name>). */
async function idbExists(name: string): Promise<boolean> {
  const idb = (globalThis as BrowserGlobals).indexedDB;
  if (typeof idb?.databases !== "function") return false;
  return (await idb.databases()).some((d) => d.name === `/pglite/${name}`);
}

/** The OPFS root when this context can open files with sync access handles (a dedicated Web Worker of a browser that has them). */
async function opfsRoot(): Promise<OpfsRoot | undefined> {
  const g = globalThis as BrowserGlobals;
  if (!g.FileSystemFileHandle || !("createSyncAccessHandle" in g.FileSystemFileHandle.prototype)) return undefined;
  if (typeof g.navigator?.storage?.getDirectory !== "function") return undefined;
  // Rejects where OPFS is refused (Firefox private windows, storage blocked by the user).
  return g.navigator.storage.getDirectory().catch(() => undefined);
}

/** Whether OPFS holds PGlite's `opfs-ahp` database at `path` (its state file). */
async function opfsAhpExists(root: OpfsRoot, path: string): Promise<boolean> {
  try {
    let dir = root;
    for (const part of path.split("/").filter(Boolean)) dir = await dir.getDirectoryHandle(part);
    await dir.getFileHandle("state.txt");
    return true;
  } catch {
    return false;
  }
}

/**
 * Picks the storage for `dataDir` in this context (docs/local-database.md, "Storage choice").
 * `opfs-ahp://<name>` is the fastest PGlite offers in the browser; it falls back to
 * `idb://<name>` where it cannot run: on a page's main thread (sync access handles exist only
 * in workers), in browsers without them or where OPFS is refused, and when an `idb://<name>`
 * database exists already (made by an earlier version of the app: its queued writes live there).
 * Every tab of a profile makes the same choice, so they share one database.
 */
export async function chooseStorage(dataDir: string | undefined): Promise<StorageChoice> {
  if (!dataDir || dataDir.startsWith("memory://")) return { dataDir, storage: "memory", fresh: true };
  const [scheme, name] = dataDir.includes("://") ? (dataDir.split("://", 2) as [string, string]) : ["", dataDir];
  if (scheme === "opfs-ahp") {
    const root = await opfsRoot();
    if (root && !(await idbExists(name))) return { dataDir, storage: "opfs-ahp", fresh: !(await opfsAhpExists(root, name)) };
    return { dataDir: `idb://${name}`, storage: "idb", fresh: !(await idbExists(name)) };
  }
  if (scheme === "idb") return { dataDir, storage: "idb", fresh: !(await idbExists(name)) };
  if (scheme === "memfs2opfs") return { dataDir, storage: "memfs2opfs", fresh: undefined };
  return { dataDir, storage: "nodefs", fresh: undefined };
}

/** PGlite's error when `loadDataDir` is given for a directory that holds a database. */
export function isExistingDatabase(error: unknown): boolean {
  return error instanceof Error && /Database already exists/.test(error.message);
}

/** An `opfs-ahp` database whose access handles another worker still holds (a closed tab's worker that has not ended yet). */
export function isHandleBusy(error: unknown): boolean {
  return error instanceof Error && (error.name === "NoModificationAllowedError" || /createSyncAccessHandle|Access Handles cannot be created/i.test(error.message));
}

/**
 * Opens PGlite on the storage `chooseStorage` picks, from a prebuilt data directory when the
 * database is new (no initdb: docs/local-database.md, "A prebuilt data directory"). `create` is
 * `PGlite.create` (this module imports no PGlite code, so the worker and the page share it).
 * Waits while another worker still holds an `opfs-ahp` database's access handles (a closed tab's
 * worker can outlive its page for a moment).
 */
export async function openStorage<TPg, TOptions extends { dataDir?: string; loadDataDir?: Blob | File }>(
  create: (options: TOptions) => Promise<TPg>,
  options: TOptions,
  prebuilt?: () => Promise<Blob | undefined>,
): Promise<{ pg: TPg; choice: StorageChoice }> {
  const choice = await chooseStorage(options.dataDir);
  const dataDir = choice.dataDir === undefined ? {} : { dataDir: choice.dataDir };
  let loadDataDir = prebuilt && choice.fresh !== false ? await prebuilt() : undefined;
  const deadline = Date.now() + 15_000;
  let waited = false;
  for (;;) {
    try {
      const pg = await create({ ...options, ...dataDir, ...(loadDataDir ? { loadDataDir } : {}) });
      return { pg, choice };
    } catch (error) {
      if (loadDataDir && isExistingDatabase(error)) loadDataDir = undefined;
      else if (isHandleBusy(error) && Date.now() < deadline) {
        if (!waited) console.warn(`sync-patterns: ${options.dataDir} is still held by another worker (a closed tab's); opening it again for up to 15 s. ${(error as Error).message}`);
        waited = true;
        await new Promise((resolve) => setTimeout(resolve, 100));
      } else throw error;
    }
  }
}

/** The setting the worker records its storage in (a session setting of the leader's PGlite). */
export const STORAGE_SETTING = "sync_patterns.storage";

/** A local write through an entity's view, as the collections make it. */
export interface LocalWrite {
  table: string;
  op: "insert" | "update" | "delete";
  key: unknown;
  /** insert: the row; update: the changed columns. */
  values: Record<string, unknown>;
}

/** JS value → query parameter for a column: JSON columns get JSON text. */
function toParam(value: unknown, column: ColumnDescription): unknown {
  if (value === undefined) return null;
  if (column.codec === "json") return value === null ? null : JSON.stringify(value);
  return value;
}

/**
 * Writes through the entity's view (its triggers queue the change). When the leading tab closed
 * while the write ran (PGliteWorker's "Leader changed, pending operation in indeterminate state"),
 * checks whether it got in and writes again only if not: neither lost nor made twice.
 */
export async function writeLocal(pg: PGliteInterface, entity: Pick<EntityDescription, "sql" | "key" | "columns">, write: LocalWrite): Promise<void> {
  const view = quoteIdent(entity.sql.view);
  const key = quoteIdent(entity.key);
  let run: () => Promise<unknown>;
  let applied: () => Promise<boolean>;
  if (write.op === "insert") {
    const present = entity.columns.filter((c) => write.values[c.name] !== undefined);
    run = () =>
      pg.query(
        `INSERT INTO ${view} (${present.map((c) => quoteIdent(c.name)).join(", ")}) VALUES (${present.map((_, i) => `$${i + 1}`).join(", ")})`,
        present.map((c) => toParam(write.values[c.name], c)),
      );
    applied = async () => (await pg.query(`SELECT 1 FROM ${view} WHERE ${key} = $1`, [write.key])).rows.length > 0;
  } else if (write.op === "update") {
    const set = entity.columns.filter((c) => c.name !== entity.key && c.name in write.values);
    if (!set.length) return;
    const params = [write.key, ...set.map((c) => toParam(write.values[c.name], c))];
    const differs = set.map((c, i) => `${quoteIdent(c.name)} IS DISTINCT FROM $${i + 2}`).join(" OR ");
    run = () => pg.query(`UPDATE ${view} SET ${set.map((c, i) => `${quoteIdent(c.name)} = $${i + 2}`).join(", ")} WHERE ${key} = $1`, params);
    applied = async () => (await pg.query(`SELECT 1 FROM ${view} WHERE ${key} = $1 AND (${differs})`, params)).rows.length === 0;
  } else {
    run = () => pg.query(`DELETE FROM ${view} WHERE ${key} = $1`, [write.key]);
    applied = async () => (await pg.query(`SELECT 1 FROM ${view} WHERE ${key} = $1`, [write.key])).rows.length === 0;
  }
  for (;;) {
    try {
      await run();
      return;
    } catch (error) {
      if (!isLeaderChange(error)) throw error;
      const done = await applied().catch((e: unknown) => (isLeaderChange(e) ? false : Promise.reject(e)));
      if (done) return;
    }
  }
}

interface JournalEntry extends LocalWrite {
  /** Date.now() when the write began. */
  at: number;
}

/**
 * Local writes on their way into the database (browser). A collection handler notes the write in
 * localStorage before it hands it to PGlite, which may take a while (a query waits for the one
 * before it: during an initial sync, for a large transaction) and is lost when its tab closes
 * first; it removes the note once the database has the write. Each tab holds a Web Lock for its
 * life; when a database opens, notes of tabs that are gone are written again, unless the database
 * already has them. Without localStorage or Web Locks (Node) there is no journal: the caller's
 * process holds the write until the database has it.
 */
export class WriteJournal {
  private readonly storage: Storage;
  private readonly prefix: string;
  private readonly tab: string;
  private count = 0;

  private constructor(storage: Storage, prefix: string, tab: string) {
    this.storage = storage;
    this.prefix = prefix;
    this.tab = tab;
  }

  static async open(dataDir: string): Promise<WriteJournal | undefined> {
    const storage = (globalThis as { localStorage?: Storage }).localStorage;
    const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
    if (!storage || !locks) return undefined;
    const tab = crypto.randomUUID();
    // Held until the tab closes; granted before the first note is written.
    await new Promise<void>((granted) => {
      void locks.request(`sync-patterns-tab:${tab}`, () => {
        granted();
        return new Promise<void>(() => {});
      });
    });
    return new WriteJournal(storage, `sync-patterns:journal:${dataDir}:`, tab);
  }

  /** Notes a write before it goes to the database; returns the note's id for `end`. */
  begin(write: LocalWrite): string {
    const id = `${this.prefix}${this.tab}:${++this.count}`;
    this.storage.setItem(id, JSON.stringify({ ...write, at: Date.now() } satisfies JournalEntry));
    return id;
  }

  end(id: string): void {
    this.storage.removeItem(id);
  }

  /** Writes again what tabs that are gone noted but maybe did not store. Returns how many were written. */
  async recover(pg: PGliteInterface, entities: readonly EntityDescription[]): Promise<number> {
    const locks = (globalThis as { navigator: { locks: LockManager } }).navigator.locks;
    // One tab at a time: two tabs opening at once must not both write a note again.
    return locks.request(`${this.prefix}recover`, () => this.replay(pg, entities, locks));
  }

  private async replay(pg: PGliteInterface, entities: readonly EntityDescription[], locks: LockManager): Promise<number> {
    const byName = byTable(entities);
    const held = new Set(((await locks.query()).held ?? []).map((l) => l.name));
    const notes: { id: string; entry: JournalEntry }[] = [];
    for (let i = 0; i < this.storage.length; i++) {
      const id = this.storage.key(i);
      if (!id?.startsWith(this.prefix)) continue;
      const tab = id.slice(this.prefix.length).split(":")[0];
      if (held.has(`sync-patterns-tab:${tab}`)) continue;
      notes.push({ id, entry: JSON.parse(this.storage.getItem(id) ?? "null") as JournalEntry });
    }
    notes.sort((a, b) => a.entry.at - b.entry.at);
    let written = 0;
    for (const { id, entry } of notes) {
      const entity = entry ? byName.get(entry.table) : undefined;
      // Stored already when a change of that row was logged since the write began.
      const stored =
        !entity ||
        (await pg.query(`SELECT 1 FROM "_changes" WHERE "entity" = $1 AND "row_key" = $2 AND "op" = $3 AND "created_at" >= to_timestamp($4::float8 / 1000)`, [
          entry.table,
          String(entry.key),
          entry.op,
          entry.at,
        ])).rows.length > 0;
      if (!stored) {
        await writeLocal(pg, entity!, entry);
        written++;
      }
      this.storage.removeItem(id);
    }
    return written;
  }
}

/** What a feed subscriber receives: changed rows as the view shows them now, and deleted keys. */
export interface FeedBatch<TRow> {
  /** True when the whole entity must be reloaded (after a shape re-fetch); `upserts` then holds every row. */
  reload: boolean;
  upserts: TRow[];
  /** Keys (as text) of rows that no longer exist in the view. */
  deletes: string[];
}

export type FeedListener<TRow> = (batch: FeedBatch<TRow>) => void;

/** Calls `callback` when PGlite's worker changed leader (PGliteWorker only): its session is new. */
function onPgliteLeaderChange(pg: PGliteInterface, callback: () => void): () => void {
  const shared = pg as Partial<{ onLeaderChange(callback: () => void): () => void }>;
  return typeof shared.onLeaderChange === "function" ? shared.onLeaderChange(callback) : () => {};
}

/** How long a probe of the new leader waits for its answer before another is sent (then the last, again and again). A lost probe costs nothing. */
const PROBE_WAIT_MS = [100, 100, 200, 200, 400];

/** What PGliteWorker rejects a call cut off by a change of leader with (its LeaderChangedError's message). */
const leaderChanged = (): Error => new Error("Leader changed, pending operation in indeterminate state");

/**
 * Makes PGliteWorker's calls end across a change of PGlite's leader (SPEC L16). PGliteWorker 0.5.16
 * sends each call on a BroadcastChannel that the new leader's worker reads only once it has opened
 * the database (seconds): a call sent before that is lost, with no answer and no error, and so is
 * the lock release its own `finally` sends after a call the change cut off, so that call never
 * ends either (seen as a write handler that never settled, its row `pending` for good). Here:
 *  - a call in progress when the leader changes rejects with "Leader changed" at once (the callers
 *    run it again; a local write checks whether it got in first, L7);
 *  - a query of a transaction that began before the change rejects without being sent (a ROLLBACK
 *    sent to the new leader outside its transaction lock could end another tab's transaction);
 *  - new calls wait until the new leader answers a probe (it takes and gives back the query lock,
 *    no SQL; sent again while unanswered; a lost probe leaves nothing behind).
 */
export function guardLeaderChanges(pg: PGliteInterface): void {
  // Call it once the tab is connected (after its first answered query).
  type Exclusive = <T>(fn: () => Promise<T>) => Promise<T>;
  const shared = pg as unknown as { _runExclusiveQuery: Exclusive; _runExclusiveTransaction: Exclusive };
  const query: Exclusive = shared._runExclusiveQuery.bind(pg);
  const transaction: Exclusive = shared._runExclusiveTransaction.bind(pg);
  let change = 0;
  let ready: Promise<void> = Promise.resolve();
  // The calls in progress: each is rejected at the next change of leader (a Set, not one shared
  // promise to race with: that would keep a reaction per call until the next change).
  const inProgress = new Set<(error: Error) => void>();
  // The change of leader the transaction (or plain query: PGlite runs both under the transaction lock) in progress began in.
  let inTransaction: { change: number } | undefined;

  const probe = async (mine: number): Promise<void> => {
    for (let attempt = 0; mine === change; attempt++) {
      const wait = PROBE_WAIT_MS[Math.min(attempt, PROBE_WAIT_MS.length - 1)]!;
      const answered = query(async () => true).catch(() => false);
      if (await Promise.race([answered, new Promise<false>((resolve) => setTimeout(() => resolve(false), wait))])) return;
    }
  };
  onPgliteLeaderChange(pg, () => {
    for (const cut of inProgress) cut(leaderChanged());
    inProgress.clear();
    ready = probe(++change);
  });
  const guarded = async <T>(run: Exclusive, fn: () => Promise<T>): Promise<T> => {
    // A probe left behind by a further change ends without an answer: wait for the newest one.
    for (let waited = ready; ; waited = ready) {
      await waited;
      if (waited === ready) break;
    }
    return new Promise<T>((resolve, reject) => {
      inProgress.add(reject);
      run(fn)
        .then(resolve, reject)
        .finally(() => inProgress.delete(reject));
    });
  };
  shared._runExclusiveTransaction = (fn) =>
    guarded(transaction, async () => {
      const mine = { change };
      inTransaction = mine;
      try {
        return await fn();
      } finally {
        if (inTransaction === mine) inTransaction = undefined;
      }
    });
  shared._runExclusiveQuery = (fn) => (inTransaction && inTransaction.change !== change ? Promise.reject(leaderChanged()) : guarded(query, fn));
}

/** Which tab runs the sync engine. */
export interface EngineLock {
  isLeader(): boolean;
  /** Called once, when this tab becomes the leader. */
  onLead(callback: () => void): void;
  /** Lets another tab lead (the engine stopped). */
  release(): void;
}

/**
 * One tab per database runs the sync engine: the one holding the Web Lock
 * `sync-patterns-engine:<dataDir>` (the others wait for it in line). A tab's locks go when its page
 * goes, even when its PGlite worker outlives it for a while (seen in Chromium: a worker closed
 * during a long COPY kept serving the other tabs, and PGlite's own election with it). Without
 * Web Locks or a `dataDir` (Node, memory) the one process leads.
 */
export function engineLock(dataDir: string | undefined): EngineLock {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  if (!dataDir || !locks) return { isLeader: () => true, onLead: () => {}, release: () => {} };
  let leader = false;
  let lead = (): void => {};
  let release = (): void => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  void locks.request(`sync-patterns-engine:${dataDir}`, () => {
    leader = true;
    lead();
    return held;
  });
  return { isLeader: () => leader, onLead: (callback) => (lead = callback), release: () => release() };
}

/**
 * LISTEN on `channel`, and again after every change of leader: the new leader's PGlite is a new
 * session that listens to nothing, and PGliteWorker keeps the callbacks but does not LISTEN again.
 * `resumed` runs after each re-LISTEN (notifications sent in between were lost: catch up).
 */
export async function listenShared(pg: PGliteInterface, channel: string, callback: (payload: string) => void, resumed: () => void): Promise<() => Promise<void>> {
  // Cut off by a change of leader: LISTEN again on the new leader (the callback is kept once, in a Set).
  let unlisten: (() => Promise<void>) | undefined;
  while (!unlisten) unlisten = await pg.listen(channel, callback).catch((error: unknown) => (isLeaderChange(error) ? undefined : Promise.reject(error)));
  const relisten = async (): Promise<void> => {
    // Queries wait for the new leader; one is cut off only by a further change of leader.
    for (;;) {
      try {
        await pg.exec(`LISTEN ${quoteIdent(channel)}`);
        break;
      } catch (error) {
        if (!isLeaderChange(error)) break;
      }
    }
    resumed();
  };
  const off = onPgliteLeaderChange(pg, () => void relisten());
  return async () => {
    off();
    await unlisten!();
  };
}

/** A query cut off by a change of leader (PGliteWorker's LeaderChangedError): safe to run again. */
export function isLeaderChange(error: unknown): boolean {
  return error instanceof Error && /Leader changed/.test(error.message);
}

const PRUNE_AFTER_ROWS = 1000;

/**
 * The change feed of this tab (or process). Triggers log the keys of changed rows in
 * `_sync_feed`; this reader reads on from its own cursor (every tab sees every change, whichever
 * tab or the sync engine made it), reads just those rows from the views and hands them out.
 */
export class ChangeFeed {
  private readonly pg: PGliteInterface;
  private readonly entities: ReadonlyMap<string, EntityDescription>;
  private readonly listeners = new Map<string, Set<FeedListener<Record<string, unknown>>>>();
  private readonly serial: Serial;
  private cursor = "0";
  private sincePrune = 0;
  private unlisten?: () => Promise<void>;

  /** `onError`: a failed read of the feed (the next change retries it). */
  constructor(pg: PGliteInterface, entities: readonly EntityDescription[], onError: (error: Error) => void = () => {}) {
    this.pg = pg;
    this.entities = byTable(entities);
    // The same scheduler as the change writer's (scheduler.ts): one read at a time, bursts coalesce.
    this.serial = new Serial((current) => this.drain(current), { rerun: isLeaderChange, onError: (error) => onError(error as Error) });
  }

  /** Starts listening; changes logged before this call are skipped (subscribers start from a full read). */
  async start(): Promise<void> {
    await this.prune();
    const r = await this.pg.query<{ seq: string }>(
      `SELECT GREATEST((SELECT max("seq") FROM "_sync_feed"), (SELECT "seq" FROM "_sync_feed_horizon"), 0)::text AS "seq"`,
    );
    this.cursor = r.rows[0]?.seq ?? "0";
    const read = (): void => this.serial.run();
    // After a change of PGlite's leader, read anew (a read in progress may never be answered).
    const resumed = (): void => this.serial.restart();
    this.unlisten = await listenShared(this.pg, "_sync_feed", read, resumed);
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
    await this.serial.idle();
  }

  subscribe<TRow>(table: string, listener: FeedListener<TRow>): () => void {
    const set = this.listeners.get(table) ?? new Set();
    set.add(listener as FeedListener<Record<string, unknown>>);
    this.listeners.set(table, set);
    return () => set.delete(listener as FeedListener<Record<string, unknown>>);
  }

  /** Resolves when every change logged so far has been delivered. */
  async flush(): Promise<void> {
    this.serial.run();
    await this.serial.idle();
  }

  private async drain(current: () => boolean): Promise<void> {
    const horizon = (await this.pg.query<{ missed: boolean }>(`SELECT "seq" > $1::bigint AS "missed" FROM "_sync_feed_horizon"`, [this.cursor])).rows[0];
    const logged = await this.pg.query<{ seq: string; entity: string; row_key: string | null }>(
      `SELECT "seq"::text AS "seq", "entity", "row_key" FROM "_sync_feed" WHERE "seq" > $1::bigint ORDER BY "seq"`,
      [this.cursor],
    );
    const byEntity = new Map<string, (string | null)[]>();
    // Left behind the pruned part of the log (a tab asleep for minutes): reload everything.
    if (horizon?.missed) for (const table of this.entities.keys()) byEntity.set(table, [null]);
    for (const r of logged.rows) byEntity.set(r.entity, [...(byEntity.get(r.entity) ?? []), r.row_key]);
    for (const [table, keys] of byEntity) await this.deliver(table, keys, current);
    // Only once delivered: a read cut off (a change of leader) is read again from the same place.
    if (!current()) return;
    const last = logged.rows[logged.rows.length - 1];
    if (last) this.cursor = last.seq;
    this.sincePrune += logged.rows.length;
    if (this.sincePrune >= PRUNE_AFTER_ROWS) {
      this.sincePrune = 0;
      await this.prune();
    }
  }

  private async deliver(table: string, logged: (string | null)[], current: () => boolean): Promise<void> {
    const entity = this.entities.get(table);
    const listeners = this.listeners.get(table);
    if (!entity || !listeners?.size) return;
    const view = quoteIdent(entity.sql.view);
    let batch: FeedBatch<Record<string, unknown>>;
    if (logged.includes(null)) {
      const all = await this.pg.query<Record<string, unknown>>(`SELECT * FROM ${view}`);
      batch = { reload: true, upserts: all.rows, deletes: [] };
    } else {
      const keys = [...new Set(logged as string[])];
      const key = quoteIdent(entity.key);
      const found = await this.pg.query<Record<string, unknown>>(`SELECT * FROM ${view} WHERE ${key} = ANY ($1::${entity.sql.keyType}[])`, [keys]);
      const present = new Set(found.rows.map((r) => String(r[entity.key])));
      batch = { reload: false, upserts: found.rows, deletes: keys.filter((k) => !present.has(k)) };
    }
    // A read left behind by a restart hands out nothing: a newer read has (or will have) newer rows.
    if (!current()) return;
    for (const listener of listeners) listener(batch);
  }

  /** Drops log rows older than a minute (every open reader has read them by then) and reclaims their space. */
  private async prune(): Promise<void> {
    const pruned = await this.pg.query<{ seq: string | null }>(
      `WITH gone AS (DELETE FROM "_sync_feed" WHERE "logged_at" < now() - interval '1 minute' RETURNING "seq")
       UPDATE "_sync_feed_horizon" SET "seq" = GREATEST("seq", (SELECT max("seq") FROM gone)) WHERE EXISTS (SELECT 1 FROM gone) RETURNING "seq"::text AS "seq"`,
    );
    // PGlite has no autovacuum: reclaim the dead rows so that later reads stay fast.
    if (pruned.rows.length) await this.pg.exec(`VACUUM "_sync_feed"`);
  }
}
