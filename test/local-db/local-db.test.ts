/**
 * The generated local database in real PGlite: writes through the view, the change log, the
 * overlay against server state, refetch safety, device-only fields, hostile names, the feed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { entitySpec, generateClient } from "../support/generated.js";

interface Db {
  pg: {
    query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
    exec(sql: string): Promise<unknown>;
  };
  feed: {
    subscribe(table: string, cb: (batch: { reload: boolean; upserts: Record<string, unknown>[]; deletes: string[] }) => void): () => void;
    flush(): Promise<void>;
  };
  close(): Promise<void>;
}
type Init = { createDatabase(o?: { dataDir?: string }): Promise<Db> };

let db: Db;
const rows = async (sql: string, params: unknown[] = []) => (await db.pg.query(sql, params)).rows;
const one = async (sql: string, params: unknown[] = []) => (await rows(sql, params))[0];
const changes = (key: string) => rows(`SELECT "op", "value", "changed_columns", "status" FROM "_changes" WHERE "row_key" = $1 ORDER BY "seq"`, [key]);
const newId = () => crypto.randomUUID();

beforeAll(async () => {
  const out = await generateClient("local-db", entitySpec());
  const init = (await import(`${out}/db/init.ts`)) as Init;
  db = await init.createDatabase();
}, 60_000);
afterAll(async () => db?.close());

/** Stands in for the shape sync: server state arriving in the synced table. */
async function serverRow(id: string, values: { name?: string | null; qty?: number | null; note?: string | null }) {
  await db.pg.query(
    `INSERT INTO things_synced (id, name, qty, note) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, qty = EXCLUDED.qty, note = EXCLUDED.note`,
    [id, values.name ?? null, values.qty ?? null, values.note ?? null],
  );
}

// SPEC L1
describe("writes through the view", () => {
  it("insert: visible at once as pending, logged with its values, key generated when absent", async () => {
    const r = await one(`INSERT INTO things (name, qty) VALUES ('a', 1) RETURNING id`);
    const id = r!.id as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await one(`SELECT name, qty, _sync_status FROM things WHERE id = $1`, [id])).toEqual({ name: "a", qty: 1, _sync_status: "pending" });
    const log = await changes(id);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ op: "insert", status: "pending", value: { id, name: "a", qty: 1, note: null } });
    expect(log[0]!.value).not.toHaveProperty("private_note");
  });

  it("partial update logs only the changed columns; an update may set NULL", async () => {
    const id = newId();
    await serverRow(id, { name: "server", qty: 5, note: "n" });
    await db.pg.query(`UPDATE things SET qty = 6 WHERE id = $1`, [id]);
    await db.pg.query(`UPDATE things SET note = NULL WHERE id = $1`, [id]);
    expect(await one(`SELECT name, qty, note, _sync_status FROM things WHERE id = $1`, [id])).toEqual({ name: "server", qty: 6, note: null, _sync_status: "pending" });
    const log = await changes(id);
    expect(log.map((c) => [c.op, c.changed_columns, c.value])).toEqual([
      ["update", ["qty"], { id, qty: 6 }],
      ["update", ["note"], { id, note: null }],
    ]);
  });

  it("an update that changes nothing logs nothing", async () => {
    const id = newId();
    await serverRow(id, { name: "same" });
    await db.pg.query(`UPDATE things SET name = 'same' WHERE id = $1`, [id]);
    expect(await changes(id)).toEqual([]);
  });

  it("delete hides the row and logs it; insert after delete brings it back", async () => {
    const id = newId();
    await serverRow(id, { name: "gone soon" });
    await db.pg.query(`DELETE FROM things WHERE id = $1`, [id]);
    expect(await rows(`SELECT * FROM things WHERE id = $1`, [id])).toEqual([]);
    await db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'again')`, [id]);
    expect(await one(`SELECT name, _sync_status FROM things WHERE id = $1`, [id])).toEqual({ name: "again", _sync_status: "pending" });
    expect((await changes(id)).map((c) => c.op)).toEqual(["delete", "insert"]);
  });

  it("inserting an existing key is an error with a clear message, and logs nothing", async () => {
    const id = newId();
    await serverRow(id, { name: "exists" });
    await expect(db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'dup')`, [id])).rejects.toThrow(`things: a row with id ${id} already exists`);
    expect(await changes(id)).toEqual([]);
  });

  it("changing the key is refused", async () => {
    const id = newId();
    await serverRow(id, { name: "k" });
    await expect(db.pg.query(`UPDATE things SET id = $2 WHERE id = $1`, [id, newId()])).rejects.toThrow("the key id cannot be changed");
  });

  it("changes are ordered by a numeric sequence across rows", async () => {
    const before = Number((await one(`SELECT coalesce(max(seq), 0) AS m FROM "_changes"`))!.m);
    const a = newId();
    const b = newId();
    await db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'a')`, [a]);
    await db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'b')`, [b]);
    await db.pg.query(`UPDATE things SET name = 'a2' WHERE id = $1`, [a]);
    const log = await rows(`SELECT seq, row_key, op FROM "_changes" WHERE seq > $1 ORDER BY seq`, [before]);
    expect(log.map((c) => [c.row_key, c.op])).toEqual([[a, "insert"], [b, "insert"], [a, "update"]]);
    expect(log.map((c) => Number(c.seq))).toEqual([...log.map((c) => Number(c.seq))].sort((x, y) => x - y));
  });
});

// SPEC L2, L3
describe("server state arriving", () => {
  it("without acknowledgement the overlay stays (syncing once the server accepted it); once acknowledged by txid it is cleaned up", async () => {
    const id = newId();
    await db.pg.query(`INSERT INTO things (id, name, qty) VALUES ($1, 'mine', 1)`, [id]);
    expect(await one(`SELECT _sync_status FROM things WHERE id = $1`, [id])).toEqual({ _sync_status: "pending" });
    await db.pg.query(`UPDATE "_changes" SET status = 'sent', txid = 4242 WHERE row_key = $1`, [id]);
    expect(await one(`SELECT _sync_status FROM things WHERE id = $1`, [id])).toEqual({ _sync_status: "syncing" });
    await serverRow(id, { name: "mine", qty: 1 });
    expect(await one(`SELECT _sync_status FROM things WHERE id = $1`, [id])).toEqual({ _sync_status: "syncing" });
    expect(await one(`SELECT "_sync_acknowledge"('things', ARRAY[4242]::bigint[], NULL) AS n`)).toEqual({ n: 1 });
    expect(await one(`SELECT name, qty, _sync_status FROM things WHERE id = $1`, [id])).toEqual({ name: "mine", qty: 1, _sync_status: "synced" });
    expect(await rows(`SELECT * FROM things_local WHERE id = $1`, [id])).toEqual([]);
  });

  it("syncing only while every open change of the row was accepted: a newer edit, or delete, is pending again", async () => {
    const id = newId();
    await serverRow(id, { name: "v0", qty: 1 });
    await db.pg.query(`UPDATE things SET name = 'v1' WHERE id = $1`, [id]);
    await db.pg.query(`UPDATE "_changes" SET status = 'sent', txid = 4343 WHERE row_key = $1`, [id]);
    expect(await one(`SELECT name, _sync_status FROM things WHERE id = $1`, [id])).toEqual({ name: "v1", _sync_status: "syncing" });
    await db.pg.query(`UPDATE things SET qty = 2 WHERE id = $1`, [id]);
    expect(await one(`SELECT name, qty, _sync_status FROM things WHERE id = $1`, [id])).toEqual({ name: "v1", qty: 2, _sync_status: "pending" });
    // The row stays pending until its last open change was accepted too.
    const [, second] = (await rows(`SELECT seq FROM "_changes" WHERE row_key = $1 ORDER BY seq`, [id])).map((r) => r.seq);
    await db.pg.query(`UPDATE "_changes" SET status = 'sent', txid = 4344 WHERE seq = $1`, [second]);
    expect(await one(`SELECT _sync_status FROM things WHERE id = $1`, [id])).toEqual({ _sync_status: "syncing" });
    await db.pg.query(`DELETE FROM things WHERE id = $1`, [id]);
    expect(await one(`SELECT _sp_status FROM things_local WHERE id = $1`, [id])).toEqual({ _sp_status: "pending" });
    expect(await rows(`SELECT * FROM things WHERE id = $1`, [id])).toEqual([]);
  });

  it("a txid the stream delivered before the API answered acknowledges the change when it is recorded", async () => {
    const id = newId();
    await db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'raced')`, [id]);
    await serverRow(id, { name: "raced" });
    await db.pg.query(`SELECT "_sync_acknowledge"('things', ARRAY[5151]::bigint[], NULL)`);
    expect(await one(`SELECT _sync_status FROM things WHERE id = $1`, [id])).toEqual({ _sync_status: "pending" });
    await db.pg.query(`UPDATE "_changes" SET status = 'sent', txid = 5151 WHERE row_key = $1`, [id]);
    expect((await changes(id)).map((c) => c.status)).toEqual(["synced"]);
    expect(await one(`SELECT _sync_status FROM things WHERE id = $1`, [id])).toEqual({ _sync_status: "synced" });
  });

  it("a txid of another entity's stream does not acknowledge this entity's change", async () => {
    const id = newId();
    await db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'mine')`, [id]);
    await db.pg.query(`UPDATE "_changes" SET status = 'sent', txid = 6161 WHERE row_key = $1`, [id]);
    await db.pg.query(`SELECT "_sync_acknowledge"('other_things', ARRAY[6161]::bigint[], NULL)`);
    expect((await changes(id)).map((c) => c.status)).toEqual(["sent"]);
  });

  it("acknowledged by the echoed change id, the row's earlier changes are synced too", async () => {
    const id = newId();
    await serverRow(id, { name: "v0" });
    await db.pg.query(`UPDATE things SET name = 'v1' WHERE id = $1`, [id]);
    await db.pg.query(`UPDATE things SET qty = 2 WHERE id = $1`, [id]);
    const last = (await rows(`SELECT change_id FROM "_changes" WHERE row_key = $1 ORDER BY seq`, [id])).at(-1)!.change_id as string;
    await serverRow(id, { name: "v1", qty: 2 });
    await db.pg.query(`SELECT "_sync_acknowledge"('things', NULL, ARRAY[$1])`, [last]);
    expect((await changes(id)).map((c) => c.status)).toEqual(["synced", "synced"]);
    expect(await one(`SELECT name, qty, _sync_status FROM things WHERE id = $1`, [id])).toEqual({ name: "v1", qty: 2, _sync_status: "synced" });
  });

  it("another user's edit never erases pending local work, and shows through in other columns", async () => {
    const id = newId();
    await serverRow(id, { name: "orig", qty: 1 });
    await db.pg.query(`UPDATE things SET name = 'mine' WHERE id = $1`, [id]);
    await serverRow(id, { name: "theirs", qty: 99 });
    expect(await one(`SELECT name, qty, _sync_status FROM things WHERE id = $1`, [id])).toEqual({ name: "mine", qty: 99, _sync_status: "pending" });
  });

  it("a rejected change rolls back only its own effect; later changes are kept (rebased)", async () => {
    const id = newId();
    await serverRow(id, { name: "orig", qty: 1 });
    await db.pg.query(`UPDATE things SET name = 'bad' WHERE id = $1`, [id]);
    await db.pg.query(`UPDATE things SET qty = 7 WHERE id = $1`, [id]);
    const first = (await rows(`SELECT seq FROM "_changes" WHERE row_key = $1 ORDER BY seq`, [id]))[0]!.seq;
    await db.pg.query(`UPDATE "_changes" SET status = 'failed', last_error = '422 name rejected' WHERE seq = $1`, [first]);
    expect(await one(`SELECT name, qty, _sync_status FROM things WHERE id = $1`, [id])).toEqual({ name: "orig", qty: 7, _sync_status: "failed" });
    // Discarding the failed change leaves the row pending on the remaining change.
    await db.pg.query(`UPDATE "_changes" SET status = 'discarded' WHERE seq = $1`, [first]);
    expect(await one(`SELECT _sync_status FROM things WHERE id = $1`, [id])).toEqual({ _sync_status: "pending" });
  });

  it("a shape re-fetch (TRUNCATE of the synced table) keeps local work; a DELETE-based one too", async () => {
    const id = newId();
    await serverRow(id, { name: "s" });
    await db.pg.query(`UPDATE things SET name = 'local' WHERE id = $1`, [id]);
    const inserted = (await one(`INSERT INTO things (name) VALUES ('fresh') RETURNING id`))!.id as string;
    await db.pg.exec(`TRUNCATE things_synced`);
    expect(await rows(`SELECT id FROM things_local WHERE id = ANY($1::uuid[]) ORDER BY id`, [[id, inserted].sort()])).toHaveLength(2);
    expect(await one(`SELECT name FROM things WHERE id = $1`, [inserted])).toEqual({ name: "fresh" });
    await serverRow(id, { name: "s" });
    expect(await one(`SELECT name FROM things WHERE id = $1`, [id])).toEqual({ name: "local" });
    await db.pg.exec(`DELETE FROM things_synced`);
    expect(await one(`SELECT count(*)::int AS n FROM things_local WHERE id = $1`, [id])).toEqual({ n: 1 });
  });

  it("x-sync-exclude fields live only locally, are never logged, and survive sync and cleanup", async () => {
    const id = newId();
    await serverRow(id, { name: "p" });
    await db.pg.query(`UPDATE things SET private_note = 'only here' WHERE id = $1`, [id]);
    expect(await changes(id)).toEqual([]);
    expect(await one(`SELECT private_note, _sync_status FROM things WHERE id = $1`, [id])).toEqual({ private_note: "only here", _sync_status: "synced" });
    await db.pg.query(`UPDATE things SET name = 'p2' WHERE id = $1`, [id]);
    const txid = 777001;
    await db.pg.query(`UPDATE "_changes" SET status = 'sent', txid = $2 WHERE row_key = $1`, [id, txid]);
    await serverRow(id, { name: "p2" });
    await db.pg.query(`SELECT "_sync_acknowledge"('things', ARRAY[$1]::bigint[], NULL)`, [txid]);
    await db.pg.exec(`TRUNCATE things_synced`);
    await serverRow(id, { name: "p2" });
    expect(await one(`SELECT name, private_note, _sync_status FROM things WHERE id = $1`, [id])).toEqual({ name: "p2", private_note: "only here", _sync_status: "synced" });
  });
});

// SPEC L5
describe("the change feed", () => {
  it("delivers exactly the changed rows for local writes, server rows, deletes and re-fetches", async () => {
    const batches: { reload: boolean; upserts: Record<string, unknown>[]; deletes: string[] }[] = [];
    const stop = db.feed.subscribe("things", (b) => batches.push(b));
    await db.feed.flush();
    batches.length = 0;
    const id = newId();
    await db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'fed')`, [id]);
    await db.feed.flush();
    expect(batches.flatMap((b) => b.upserts.map((r) => [r.id, r.name]))).toEqual([[id, "fed"]]);
    batches.length = 0;
    await db.pg.query(`DELETE FROM things WHERE id = $1`, [id]);
    await db.feed.flush();
    expect(batches.flatMap((b) => b.deletes)).toEqual([id]);
    batches.length = 0;
    await db.pg.exec(`TRUNCATE things_synced`);
    await db.feed.flush();
    expect(batches.some((b) => b.reload)).toBe(true);
    stop();
  });
});

describe("hostile names", () => {
  it("reserved words and quotes as table and column names work end to end", async () => {
    const spec = entitySpec({
      path: "/orders",
      table: 'order"s',
      fields: `        user: { type: string }
        group: { type: integer }
        "it's": { type: string }
        "say \\"hi\\"": { type: string }
        select: { type: string, x-sync-exclude: true }`,
    });
    const out = await generateClient("hostile", spec);
    const init = (await import(`${out}/db/init.ts`)) as Init;
    const hostile = await init.createDatabase();
    try {
      const r = await hostile.pg.query<{ id: string }>(`INSERT INTO "order""s" ("user", "group", "it's", "say ""hi""", "select") VALUES ('u', 1, 'x', 'y', 'z') RETURNING id`);
      const id = r.rows[0]!.id;
      await hostile.pg.query(`UPDATE "order""s" SET "group" = NULL, "it's" = 'q''uote' WHERE id = $1`, [id]);
      expect((await hostile.pg.query(`SELECT "user", "group", "it's", "select" FROM "order""s"`)).rows).toEqual([{ user: "u", group: null, "it's": "q'uote", select: "z" }]);
      const log = (await hostile.pg.query<{ value: Record<string, unknown> }>(`SELECT value FROM "_changes" ORDER BY seq`)).rows;
      expect(log[1]!.value).toEqual({ id, group: null, "it's": "q'uote" });
    } finally {
      await hostile.close();
    }
  }, 60_000);
});
