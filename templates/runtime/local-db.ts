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
// statement; a subscriber reads only those rows from the view, never the whole table.
import type { PGliteInterface, Transaction } from "@electric-sql/pglite";

export interface ColumnSchema {
  name: string;
  pgType: string;
  /** `x-sync-exclude`: lives only on this device. */
  device: boolean;
}

export interface EntitySchema {
  /** Table base name; also the entity's name in `_changes.entity` and in the feed. */
  table: string;
  key: string;
  keyType: string;
  columns: ColumnSchema[];
  /** DDL of the synced table and the overlay. */
  tables: string;
  /** View, triggers and functions. */
  objects: string;
}

export interface LocalSchema {
  shared: string;
  entities: EntitySchema[];
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
  columns: ColumnSchema[];
}

/** Brings the database to `schema`, in one transaction. Idempotent. */
export async function migrate(pg: PGliteInterface, schema: LocalSchema): Promise<MigrationReport> {
  const report: MigrationReport = { created: [], rebuilt: [], upgraded: [], removed: [], failedChanges: 0 };
  await pg.transaction(async (tx) => {
    await tx.exec(schema.shared);
    const stored = new Map((await tx.query<StoredSchema>(`SELECT * FROM "_sync_schema"`)).rows.map((r) => [r.entity, r]));
    const failedBefore = await countFailed(tx);
    for (const entity of schema.entities) {
      const tablesVersion = hashText(entity.tables);
      const objectsVersion = hashText(entity.objects);
      const previous = stored.get(entity.table);
      if (!previous) {
        await tx.exec(entity.tables);
        await tx.exec(entity.objects);
        await rebuildOpenRows(tx, entity);
        report.created.push(entity.table);
      } else if (previous.tables_version !== tablesVersion) {
        await rebuildTables(tx, entity, previous);
        report.rebuilt.push(entity.table);
      } else if (previous.objects_version !== objectsVersion) {
        await tx.exec(entity.objects);
        report.upgraded.push(entity.table);
      } else continue;
      await tx.query(
        `INSERT INTO "_sync_schema" ("entity", "tables_version", "objects_version", "columns") VALUES ($1, $2, $3, $4)
         ON CONFLICT ("entity") DO UPDATE SET "tables_version" = $2, "objects_version" = $3, "columns" = $4`,
        [entity.table, tablesVersion, objectsVersion, JSON.stringify(entity.columns)],
      );
    }
    const current = new Set(schema.entities.map((e) => e.table));
    for (const name of stored.keys()) {
      if (current.has(name)) continue;
      await removeEntity(tx, name);
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

async function rebuildTables(tx: Transaction, entity: EntitySchema, previous: StoredSchema): Promise<void> {
  const local = quoteIdent(`${entity.table}_local`);
  const keepDevice = entity.columns.filter((c) => c.device && previous.columns.some((p) => p.name === c.name && p.device)).map((c) => c.name);
  let saved: Record<string, unknown>[] = [];
  if (keepDevice.length) {
    const rows = await tx.query<{ row: Record<string, unknown> }>(`SELECT to_jsonb(l) AS row FROM ${local} l`);
    saved = rows.rows
      .map(({ row }) => Object.fromEntries([[entity.key, row[entity.key]], ...keepDevice.map((c) => [c, row[c] ?? null])]))
      .filter((row) => keepDevice.some((c) => row[c] !== null));
  }
  await tx.exec(`DROP VIEW IF EXISTS ${quoteIdent(entity.table)} CASCADE;
DROP TABLE IF EXISTS ${quoteIdent(`${entity.table}_synced`)} CASCADE;
DROP TABLE IF EXISTS ${local} CASCADE;`);
  await tx.exec(entity.tables);
  await tx.exec(entity.objects);
  if (saved.length) {
    const cols = [entity.key, ...keepDevice].map(quoteIdent).join(", ");
    await tx.query(`INSERT INTO ${local} (${cols}) SELECT ${cols} FROM jsonb_populate_recordset(NULL::${local}, $1::jsonb)`, [JSON.stringify(saved)]);
  }
  await tx.query(`SELECT "_sync_validate_changes"($1, $2, $3::text[])`, [entity.table, `${entity.table}_local`, entity.columns.map((c) => c.name)]);
  await rebuildOpenRows(tx, entity);
  // The synced table was emptied: its shape must sync again from the start.
  await tx.query(`DELETE FROM "_sync_shapes" WHERE "entity" = $1`, [entity.table]);
}

/** Re-folds every row that has open or failed changes into the overlay. */
async function rebuildOpenRows(tx: Queryable, entity: EntitySchema): Promise<void> {
  await tx.query(
    `SELECT ${quoteIdent(`${entity.table}_rebuild`)}(k) FROM (SELECT DISTINCT "row_key" AS k FROM "_changes" WHERE "entity" = $1 AND "status" IN ('pending', 'sent', 'failed')) AS keys`,
    [entity.table],
  );
}

async function removeEntity(tx: Transaction, table: string): Promise<void> {
  await tx.query(
    `UPDATE "_changes" SET "status" = 'failed', "last_error" = $2 WHERE "entity" = $1 AND "status" IN ('pending', 'sent')`,
    [table, `The client no longer syncs ${table}, so this change cannot be sent.`],
  );
  const q = (suffix: string): string => quoteIdent(`${table}${suffix}`);
  await tx.exec(`DROP VIEW IF EXISTS ${quoteIdent(table)} CASCADE;
DROP TABLE IF EXISTS ${q("_synced")} CASCADE;
DROP TABLE IF EXISTS ${q("_local")} CASCADE;
DROP FUNCTION IF EXISTS ${q("_rebuild")}(text);
DROP FUNCTION IF EXISTS ${q("_ins")}();
DROP FUNCTION IF EXISTS ${q("_upd")}();
DROP FUNCTION IF EXISTS ${q("_del")}();
DROP FUNCTION IF EXISTS ${q("_feed")}();
DROP FUNCTION IF EXISTS ${q("_ack")}();`);
  await tx.query(`DELETE FROM "_sync_schema" WHERE "entity" = $1`, [table]);
  await tx.query(`DELETE FROM "_sync_shapes" WHERE "entity" = $1`, [table]);
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

const VACUUM_AFTER_ROWS = 1000;

/**
 * The per-entity change feed. One drain loop per entity, shared by all its subscribers: it
 * takes the keys triggers logged, reads just those rows from the view, and hands them out.
 */
export class ChangeFeed {
  private readonly listeners = new Map<string, Set<FeedListener<Record<string, unknown>>>>();
  private readonly draining = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private unlisten?: () => Promise<void>;
  private readonly pg: PGliteInterface;
  private readonly entities: EntitySchema[];

  constructor(pg: PGliteInterface, entities: EntitySchema[]) {
    this.pg = pg;
    this.entities = entities;
  }

  /** Starts listening; keys logged before this call are dropped (subscribers start from a full read). */
  async start(): Promise<void> {
    await this.pg.query(`DELETE FROM "_sync_feed"`);
    await this.pg.exec(`VACUUM "_sync_feed"`);
    this.unlisten = await this.pg.listen("_sync_feed", (entity) => this.schedule(entity));
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
    await Promise.all(this.draining.values());
  }

  subscribe<TRow>(table: string, listener: FeedListener<TRow>): () => void {
    const set = this.listeners.get(table) ?? new Set();
    set.add(listener as FeedListener<Record<string, unknown>>);
    this.listeners.set(table, set);
    return () => set.delete(listener as FeedListener<Record<string, unknown>>);
  }

  /** Resolves when every change logged so far has been delivered. */
  async flush(): Promise<void> {
    for (const e of this.entities) this.schedule(e.table);
    await Promise.all(this.draining.values());
  }

  private schedule(table: string): void {
    if (this.draining.has(table)) {
      this.dirty.add(table);
      return;
    }
    const run = (async () => {
      do {
        this.dirty.delete(table);
        await this.drain(table);
      } while (this.dirty.has(table));
    })().finally(() => this.draining.delete(table));
    this.draining.set(table, run);
  }

  private async drain(table: string): Promise<void> {
    const entity = this.entities.find((e) => e.table === table);
    if (!entity) return;
    const logged = await this.pg.query<{ row_key: string | null }>(`DELETE FROM "_sync_feed" WHERE "entity" = $1 RETURNING "row_key"`, [table]);
    if (logged.rows.length === 0) return;
    // PGlite has no autovacuum: after a bulk batch (an initial sync), reclaim the dead feed rows
    // so that later drains stay fast.
    if (logged.rows.length >= VACUUM_AFTER_ROWS) await this.pg.exec(`VACUUM "_sync_feed"`);
    const listeners = this.listeners.get(table);
    if (!listeners?.size) return;
    const view = quoteIdent(entity.table);
    let batch: FeedBatch<Record<string, unknown>>;
    if (logged.rows.some((r) => r.row_key === null)) {
      const all = await this.pg.query<Record<string, unknown>>(`SELECT * FROM ${view}`);
      batch = { reload: true, upserts: all.rows, deletes: [] };
    } else {
      const keys = [...new Set(logged.rows.map((r) => r.row_key as string))];
      const key = quoteIdent(entity.key);
      const found = await this.pg.query<Record<string, unknown>>(`SELECT * FROM ${view} WHERE ${key} = ANY ($1::${entity.keyType}[])`, [keys]);
      const present = new Set(found.rows.map((r) => String(r[entity.key])));
      batch = { reload: false, upserts: found.rows, deletes: keys.filter((k) => !present.has(k)) };
    }
    for (const listener of listeners) listener(batch);
  }
}
