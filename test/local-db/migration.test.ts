/**
 * A database created by one generation, opened by the next: file-backed reopen keeps
 * everything; schema changes rebuild the synced cache and keep every queued change (a change
 * that no longer fits is failed with a reason, never dropped); removed entities likewise.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO } from "../support/project.js";
import { entitySpec, generateClient } from "../support/generated.js";

interface Db {
  pg: { query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> };
  migration: { created: string[]; rebuilt: string[]; upgraded: string[]; removed: string[]; failedChanges: number };
  close(): Promise<void>;
}
type Init = { createDatabase(o?: { dataDir?: string }): Promise<Db> };

const dataDir = path.join(REPO, ".cache/pgdata", `migration-${process.pid}`);
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

const V1 = entitySpec();
const V2 = entitySpec({
  fields: `        name: { type: string }
        qty: { type: string, format: uuid }
        color: { type: string }
        private_note: { type: string, x-sync-exclude: true }`,
});
// `things` is no longer synced; `gadgets` is.
const V3 = entitySpec({ path: "/gadgets" });

async function open(spec: string, name: string): Promise<Db> {
  const out = await generateClient(name, spec);
  const init = (await import(`${out}/db/init.ts`)) as Init;
  return init.createDatabase({ dataDir });
}

// SPEC L4
describe("opening a database made by an earlier generation", () => {
  const ids = { inserted: crypto.randomUUID(), noted: crypto.randomUUID(), counted: crypto.randomUUID(), renamed: crypto.randomUUID() };

  it("a file-backed database reopened by the same generation keeps rows, overlay and queue", async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    const db = await open(V1, "mig-v1");
    expect(db.migration.created).toEqual(["things"]);
    for (const id of [ids.noted, ids.counted, ids.renamed]) {
      await db.pg.query(`INSERT INTO things_synced (id, name, qty, note) VALUES ($1, 'server', 1, 'n')`, [id]);
    }
    await db.pg.query(`INSERT INTO things (id, name, qty, note) VALUES ($1, 'new', 3, NULL)`, [ids.inserted]);
    await db.pg.query(`UPDATE things SET note = 'changed' WHERE id = $1`, [ids.noted]);
    await db.pg.query(`UPDATE things SET qty = 5 WHERE id = $1`, [ids.counted]);
    await db.pg.query(`UPDATE things SET name = 'renamed', private_note = 'mine' WHERE id = $1`, [ids.renamed]);
    await db.close();

    const again = await open(V1, "mig-v1-again");
    expect(again.migration).toMatchObject({ created: [], rebuilt: [], upgraded: [], removed: [] });
    expect((await again.pg.query(`SELECT count(*)::int AS n FROM "_changes" WHERE status = 'pending'`)).rows[0]).toEqual({ n: 4 });
    expect((await again.pg.query(`SELECT name, private_note, _sync_status FROM things WHERE id = $1`, [ids.renamed])).rows[0]).toEqual({ name: "renamed", private_note: "mine", _sync_status: "pending" });
    await again.close();
  }, 60_000);

  it("column added, removed and retyped: queue kept, misfits failed with a reason, cache re-synced", async () => {
    const db = await open(V2, "mig-v2");
    try {
      expect(db.migration.rebuilt).toEqual(["things"]);
      const byRow = async (id: string) => (await db.pg.query<{ status: string; last_error: string | null; value: Record<string, unknown> }>(`SELECT status, last_error, value FROM "_changes" WHERE row_key = $1 ORDER BY seq`, [id])).rows;
      // The insert's NULL for the removed column is dropped, but its qty 3 no longer fits a uuid.
      const inserted = await byRow(ids.inserted);
      expect(inserted.map((c) => c.status)).toEqual(["failed"]);
      expect(inserted[0]!.last_error).toMatch(/no longer fits/);
      // The update of a removed column cannot be sent.
      const noted = await byRow(ids.noted);
      expect(noted[0]).toMatchObject({ status: "failed" });
      expect(noted[0]!.last_error).toMatch(/note no longer exist/);
      // qty became a uuid: 5 no longer fits.
      expect((await byRow(ids.counted))[0]).toMatchObject({ status: "failed" });
      // A change that still fits stays queued with its overlay and the device-only field; the row
      // reappears in the view when the rebuilt synced table re-syncs.
      expect((await byRow(ids.renamed)).map((c) => c.status)).toEqual(["pending"]);
      expect((await db.pg.query(`SELECT name, color, private_note, _sync_status FROM things WHERE id = $1`, [ids.renamed])).rows).toEqual([]);
      expect((await db.pg.query(`SELECT name, private_note, _sp_status FROM things_local WHERE id = $1`, [ids.renamed])).rows[0]).toEqual({ name: "renamed", private_note: "mine", _sp_status: "pending" });
      // Nothing was dropped: every change is still in the log.
      expect((await db.pg.query(`SELECT count(*)::int AS n FROM "_changes"`)).rows[0]).toEqual({ n: 4 });
      expect((await db.pg.query(`SELECT count(*)::int AS n FROM things_synced`)).rows[0]).toEqual({ n: 0 });
    } finally {
      await db.close();
    }
  }, 60_000);

  it("an entity removed from the spec: its open changes fail with a reason, its tables go", async () => {
    const db = await open(V3, "mig-v3");
    try {
      expect(db.migration.removed).toEqual(["things"]);
      expect(db.migration.created).toEqual(["gadgets"]);
      const open = (await db.pg.query(`SELECT count(*)::int AS n FROM "_changes" WHERE status IN ('pending', 'sent')`)).rows[0];
      expect(open).toEqual({ n: 0 });
      const reasons = (await db.pg.query<{ last_error: string }>(`SELECT last_error FROM "_changes" WHERE row_key = $1`, [ids.renamed])).rows;
      expect(reasons[0]!.last_error).toMatch(/no longer syncs things/);
      expect((await db.pg.query(`SELECT to_regclass('things_local') AS t`)).rows[0]).toEqual({ t: null });
    } finally {
      await db.close();
    }
  }, 60_000);
});
