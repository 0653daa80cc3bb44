/**
 * What the writer's status says (the badge, its tooltip, the errors panel): errors clear when
 * their cause is gone, a rejection reads as text, and `queued` counts every open change.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { entitySpec, generateClient } from "../support/generated.js";

interface Db {
  pg: { query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> };
  close(): Promise<void>;
}
interface Status {
  online: boolean;
  queued: number;
  failed: number;
  lastError: string | null;
}
interface Writer {
  start(): Promise<void>;
  stop(): Promise<void>;
  flush(): Promise<void>;
  status(): Promise<Status>;
  failedChanges(): Promise<{ change_id: string; last_error: string | null }[]>;
  discard(changeId: string): Promise<void>;
}
type WriterModule = { ChangeWriter: new (options: Record<string, unknown>) => Writer };

let db: Db;
let writerModule: WriterModule;
let entities: unknown;

beforeAll(async () => {
  const out = await generateClient("writer-status", entitySpec());
  db = await ((await import(`${out}/db/init.ts`)) as { createDatabase(): Promise<Db> }).createDatabase();
  writerModule = (await import(`${out}/sync/change-writer.ts`)) as WriterModule;
  entities = ((await import(`${out}/sync/entities.ts`)) as { ENTITIES: unknown }).ENTITIES;
}, 60_000);
afterAll(async () => db?.close());

/** The server, as the writer sees it: each request answered by the function the test sets. */
let answer: (request: Request) => Promise<Response> = async () => new Response("{}", { status: 201 });
const fetchFn = (async (input: Parameters<typeof fetch>[0] | URL, init?: RequestInit) => answer(new Request(input, init))) as typeof fetch;
const writer = () => new writerModule.ChangeWriter({ pg: db.pg, entities, baseUrl: "http://127.0.0.1:9", fetch: fetchFn, backoff: { initialMs: 1, maxMs: 5 } });
const json = (status: number, body: unknown, type = "application/problem+json") => new Response(JSON.stringify(body), { status, headers: { "content-type": type } });

describe("the writer's status", () => {
  it("a network error is the last error while it lasts, and clears once a request gets through", async () => {
    const w = writer();
    answer = async () => {
      throw new TypeError("Failed to fetch");
    };
    await db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'net')`, [crypto.randomUUID()]);
    await w.start();
    await w.flush();
    expect(await w.status()).toMatchObject({ online: false, queued: 1, lastError: "Network error: Failed to fetch" });
    answer = async () => json(201, {}, "application/json");
    await w.flush();
    // The retry is timed (backoff); wait for it without a timing threshold.
    await expect.poll(async () => (await w.status()).queued, { timeout: 10_000 }).toBe(0);
    expect(await w.status()).toMatchObject({ online: true, lastError: null });
    await w.stop();
  });

  it("a rejection is readable text in the error store, not a lingering last error; discarding it clears the count", async () => {
    const w = writer();
    answer = async () => {
      throw new TypeError("Failed to fetch");
    };
    await db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'first')`, [crypto.randomUUID()]);
    await w.start();
    await w.flush();
    expect((await w.status()).lastError).toMatch(/Network error/);
    // FastAPI's validation error shape.
    answer = async () => json(422, { detail: [{ type: "missing", loc: ["body", "name"], msg: "Field required" }] }, "application/json");
    await expect.poll(async () => (await w.status()).failed, { timeout: 10_000 }).toBe(1);
    const [failed] = await w.failedChanges();
    expect(failed!.last_error).toBe("422 name: Field required");
    expect(await w.status()).toMatchObject({ online: true, queued: 0, failed: 1, lastError: null });
    await w.discard(failed!.change_id);
    expect(await w.status()).toMatchObject({ failed: 0, lastError: null });
    await w.stop();
  });

  it("queued counts every open change: creates, edits and deletes, until their server version is back", async () => {
    const w = writer();
    answer = async () => json(503, { title: "Service unavailable" });
    const before = (await w.status()).queued;
    const a = crypto.randomUUID();
    const b = crypto.randomUUID();
    await db.pg.query(`INSERT INTO things_synced (id, name) VALUES ($1, 'on the server')`, [b]);
    await db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'new')`, [a]);
    await db.pg.query(`UPDATE things SET name = 'edited' WHERE id = $1`, [a]);
    await db.pg.query(`UPDATE things SET name = 'edited too' WHERE id = $1`, [b]);
    await db.pg.query(`DELETE FROM things WHERE id = $1`, [b]);
    expect((await w.status()).queued - before).toBe(4);
    await w.start();
    await w.flush();
    expect(await w.status()).toMatchObject({ lastError: "503 Service unavailable", online: true });
    // Accepted with a txid: sent, still open (syncing) until the shape stream brings that txid.
    let txid = 9000;
    answer = async () => new Response("{}", { status: 200, headers: { "x-txid": String(++txid) } });
    await expect.poll(async () => (await db.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM "_changes" WHERE "status" = 'pending'`)).rows[0]!.n, { timeout: 10_000 }).toBe(0);
    expect((await w.status()).queued - before).toBe(4);
    expect((await db.pg.query(`SELECT "_sync_status" FROM things WHERE id = $1`, [a])).rows).toEqual([{ _sync_status: "syncing" }]);
    // The server's versions arrive (the shape sync's part): the rows are the server's again.
    await db.pg.query(`INSERT INTO things_synced (id, name) VALUES ($1, 'edited')`, [a]);
    await db.pg.query(`DELETE FROM things_synced WHERE id = $1`, [b]);
    await db.pg.query(`SELECT "_sync_acknowledge"('things', $1::bigint[], NULL)`, [[9001, 9002, 9003, 9004]]);
    expect((await w.status()).queued - before).toBe(0);
    expect((await db.pg.query(`SELECT "name", "_sync_status" FROM things WHERE id = ANY($1::uuid[])`, [[a, b]])).rows).toEqual([{ name: "edited", _sync_status: "synced" }]);
    await w.stop();
  });
});
