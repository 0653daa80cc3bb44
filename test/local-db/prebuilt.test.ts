/**
 * A new database from a prebuilt data directory (`buildDataDir()` → `createDatabase({ prebuiltDataDir })`):
 * it opens with the schema in place (no initdb, nothing for migrate to create), a tarball built by an
 * older generation is migrated on top, and a database that exists already is opened as it is.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO } from "../support/project.js";
import { entitySpec, generateClient } from "../support/generated.js";

interface Db {
  pg: { query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> };
  migration: { created: string[]; rebuilt: string[]; upgraded: string[]; removed: string[]; failedChanges: number };
  storage: string;
  close(): Promise<void>;
}
type Init = { createDatabase(o?: { dataDir?: string; prebuiltDataDir?: Blob }): Promise<Db>; buildDataDir(): Promise<Blob> };

const dataDir = path.join(REPO, ".cache/pgdata", `prebuilt-${process.pid}`);
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

const V1 = entitySpec();
const V2 = entitySpec({
  fields: `        name: { type: string }
        qty: { type: integer }
        color: { type: string }
        private_note: { type: string, x-sync-exclude: true }`,
});

const load = async (name: string, spec: string) => (await import(`${await generateClient(name, spec)}/db/init.ts`)) as Init;
const columns = async (db: Db, table: string) =>
  (await db.pg.query<{ c: string }>(`SELECT column_name AS c FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [table])).rows.map((r) => r.c);

describe("a prebuilt data directory", () => {
  it("opens with this generation's schema already in it: migrate creates nothing, writes work", async () => {
    const init = await load("prebuilt-v1", V1);
    const tarball = await init.buildDataDir();
    expect(tarball.size).toBeGreaterThan(0);
    const db = await init.createDatabase({ prebuiltDataDir: tarball });
    try {
      expect(db.migration).toMatchObject({ created: [], rebuilt: [], upgraded: [] });
      expect((await db.pg.query<{ entity: string }>(`SELECT "entity" FROM "_sync_schema"`)).rows).toEqual([{ entity: "things" }]);
      await db.pg.query(`INSERT INTO things (name, qty) VALUES ('from the tarball', 1)`);
      expect((await db.pg.query(`SELECT "_sync_status" FROM things WHERE name = 'from the tarball'`)).rows).toEqual([{ _sync_status: "pending" }]);
    } finally {
      await db.close();
    }
    // Without it, the same open creates the schema (the test above would fail if the tarball were ignored).
    const fresh = await init.createDatabase();
    expect(fresh.migration.created).toEqual(["things"]);
    await fresh.close();
  }, 120_000);

  it("built by an older generation: the schema changes are migrated on top of it", async () => {
    const old = await (await load("prebuilt-old", V1)).buildDataDir();
    const init = await load("prebuilt-v2", V2);
    const db = await init.createDatabase({ prebuiltDataDir: old });
    try {
      expect(db.migration.rebuilt).toEqual(["things"]);
      expect(await columns(db, "things")).toContain("color");
    } finally {
      await db.close();
    }
  }, 120_000);

  it("is used only for a new database: an existing one opens with its rows", async () => {
    const init = await load("prebuilt-dir", V1);
    const tarball = await init.buildDataDir();
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    const first = await init.createDatabase({ dataDir, prebuiltDataDir: tarball });
    expect(first.storage).toBe("nodefs");
    await first.pg.query(`INSERT INTO things (name) VALUES ('kept')`);
    await first.close();
    const again = await init.createDatabase({ dataDir, prebuiltDataDir: tarball });
    try {
      expect((await again.pg.query(`SELECT name FROM things`)).rows).toEqual([{ name: "kept" }]);
    } finally {
      await again.close();
    }
  }, 120_000);
});
