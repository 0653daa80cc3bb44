/**
 * The local database's runtime (templates/runtime/local-db.ts, imported directly) against a bare
 * in-memory PGlite (`new PGlite()`), with the SQL a generated client ships (db/schema.ts):
 * migrations that keep queued writes (L4) and the change feed's per-reader cursors (L5).
 * SPEC.md section L.
 */
import { PGlite } from "@electric-sql/pglite";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ChangeFeed, migrate, type EntityDescription, type FeedBatch, type LocalSchema } from "../../templates/runtime/local-db.js";
import { entitySpec, generateClient } from "../support/generated.js";

let v1: LocalSchema;
let v2: LocalSchema;
/** The entity descriptions of v1 (sync/entities.ts), as the change feed takes them. */
let entities: readonly EntityDescription[];

beforeAll(async () => {
  const schema = async (name: string, spec: string) => ((await import(`${await generateClient(name, spec)}/db/schema.ts`)) as { LOCAL_SCHEMA: LocalSchema }).LOCAL_SCHEMA;
  const out = await generateClient("runtime-localdb-v1", entitySpec());
  v1 = ((await import(`${out}/db/schema.ts`)) as { LOCAL_SCHEMA: LocalSchema }).LOCAL_SCHEMA;
  entities = ((await import(`${out}/sync/entities.ts`)) as { ENTITIES: readonly EntityDescription[] }).ENTITIES;
  // qty becomes a uuid (a queued integer no longer fits), color is new.
  v2 = await schema(
    "runtime-localdb-v2",
    entitySpec({
      fields: `        name: { type: string }
        qty: { type: string, format: uuid }
        color: { type: string }
        private_note: { type: string, x-sync-exclude: true }`,
    }),
  );
}, 120_000);

const open: PGlite[] = [];
async function fresh(): Promise<PGlite> {
  const pg = new PGlite();
  open.push(pg);
  return pg;
}
afterEach(async () => {
  for (const pg of open.splice(0)) await pg.close();
});

describe("L4: migrations never lose a queued write", () => {
  it("a new database is created; opening it again changes nothing (idempotent)", async () => {
    const pg = await fresh();
    expect(await migrate(pg, v1)).toEqual({ created: ["things"], rebuilt: [], upgraded: [], removed: [], failedChanges: 0 });
    expect(await migrate(pg, v1)).toEqual({ created: [], rebuilt: [], upgraded: [], removed: [], failedChanges: 0 });
  });

  it("changed tables: the cache is rebuilt, every queued change kept; one that no longer fits fails with a reason; device-only values carried over", async () => {
    const pg = await fresh();
    await migrate(pg, v1);
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    await pg.query(`INSERT INTO things_synced (id, name, qty) VALUES ($1, 'server', 1)`, [b]);
    await pg.query(`INSERT INTO things (id, name) VALUES ($1, 'queued')`, [a]);
    await pg.query(`UPDATE things SET qty = 7, private_note = 'mine' WHERE id = $1`, [b]);
    await pg.query(`INSERT INTO "_sync_shapes" ("entity", "handle", "offset") VALUES ('things', 'h', '10_0')`);

    const report = await migrate(pg, v2);
    expect(report).toMatchObject({ rebuilt: ["things"], failedChanges: 1 });
    const changes = (await pg.query<{ row_key: string; status: string; last_error: string | null }>(`SELECT "row_key", "status", "last_error" FROM "_changes" ORDER BY "seq"`)).rows;
    expect(changes.map((c) => [c.row_key, c.status])).toEqual([
      [a, "pending"],
      [b, "failed"],
    ]);
    expect(changes[1]!.last_error).toMatch(/schema changed/);
    // The queued create is still in the view; the synced cache must sync again from the start.
    expect((await pg.query(`SELECT name, _sync_status FROM things WHERE id = $1`, [a])).rows).toEqual([{ name: "queued", _sync_status: "pending" }]);
    expect((await pg.query(`SELECT private_note FROM things_local WHERE id = $1`, [b])).rows).toEqual([{ private_note: "mine" }]);
    expect((await pg.query(`SELECT * FROM "_sync_shapes"`)).rows).toEqual([]);
  });

  it("an entity that disappears: its open changes fail with a reason, its tables go", async () => {
    const pg = await fresh();
    await migrate(pg, v1);
    await pg.query(`INSERT INTO things (id, name) VALUES ($1, 'orphan')`, [crypto.randomUUID()]);
    const report = await migrate(pg, { ...v1, entities: [] });
    expect(report).toMatchObject({ removed: ["things"], failedChanges: 1 });
    expect((await pg.query(`SELECT "status", "last_error" FROM "_changes"`)).rows).toEqual([{ status: "failed", last_error: "The client no longer syncs things, so this change cannot be sent." }]);
    expect((await pg.query(`SELECT to_regclass('things') AS t`)).rows).toEqual([{ t: null }]);
  });
});

describe("L5: the change feed", () => {
  it("every reader reads on from its own cursor: two readers (two tabs) both get every change, only the changed rows", async () => {
    const pg = await fresh();
    await migrate(pg, v1);
    await pg.query(`INSERT INTO things_synced (id, name) SELECT gen_random_uuid(), 'other ' || g FROM generate_series(1, 50) g`);
    const readers = [new ChangeFeed(pg, entities), new ChangeFeed(pg, entities)];
    const heard: FeedBatch<{ id: string; name: string }>[][] = [[], []];
    for (const [i, feed] of readers.entries()) {
      await feed.start();
      feed.subscribe<{ id: string; name: string }>("things", (batch) => heard[i]!.push(batch));
    }
    const id = crypto.randomUUID();
    await pg.query(`INSERT INTO things (id, name) VALUES ($1, 'mine')`, [id]);
    await pg.query(`DELETE FROM things WHERE id = $1`, [id]);
    for (const feed of readers) await feed.flush();
    for (const batches of heard) {
      const upserts = batches.flatMap((b) => b.upserts);
      const deletes = batches.flatMap((b) => b.deletes);
      // Read after both writes, or in between: either way only this row, never the other 50.
      expect(upserts.every((r) => r.id === id)).toBe(true);
      expect(deletes).toEqual([id]);
      expect(batches.every((b) => !b.reload)).toBe(true);
    }
    for (const feed of readers) await feed.stop();
  });

  it("a reader started late skips what was logged before it (its subscribers start from a full read)", async () => {
    const pg = await fresh();
    await migrate(pg, v1);
    await pg.query(`INSERT INTO things (id, name) VALUES ($1, 'before')`, [crypto.randomUUID()]);
    const feed = new ChangeFeed(pg, entities);
    const heard: FeedBatch<{ name: string }>[] = [];
    await feed.start();
    feed.subscribe<{ name: string }>("things", (batch) => heard.push(batch));
    await feed.flush();
    expect(heard).toEqual([]);
    await pg.query(`INSERT INTO things (id, name) VALUES ($1, 'after')`, [crypto.randomUUID()]);
    await feed.flush();
    expect(heard.flatMap((b) => b.upserts.map((r) => r.name))).toEqual(["after"]);
    await feed.stop();
  });
});
