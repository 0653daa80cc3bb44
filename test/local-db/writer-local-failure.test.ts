/**
 * A failure of the local database while the change writer records what the server answered
 * (issue 12: with a column named `k` the acknowledgement's trigger failed, the server had
 * accepted 3 creates that stayed pending, `flush()` threw a bare SQL error and 2 promise
 * rejections went unhandled). The writer must surface it (flush rejects with an error that says
 * what happened, `status().lastError`, subscribers), never leave an unhandled rejection, keep
 * the changes pending, and send them again (same Idempotency-Key) once the database works.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { entitySpec, generateClient } from "../support/generated.js";

interface Db {
  pg: { query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>; exec(sql: string): Promise<unknown> };
  close(): Promise<void>;
}
interface Writer {
  start(): Promise<void>;
  stop(): Promise<void>;
  flush(): Promise<void>;
  status(): Promise<{ queued: number; lastError: string | null }>;
  subscribe(listener: (s: { lastError: string | null }) => void): () => void;
}
type WriterModule = { ChangeWriter: new (options: Record<string, unknown>) => Writer };

const requests: { method: string; url: string; key: string }[] = [];
const server = http.createServer((req, res) => {
  requests.push({ method: req.method!, url: req.url!, key: String(req.headers["idempotency-key"]) });
  req.resume();
  req.on("end", () => res.writeHead(201, { "content-type": "application/json" }).end("{}"));
});
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

let db: Db;
let writerModule: WriterModule;
let baseUrl: string;
let entities: unknown[];

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const out = await generateClient("writer-local-failure", entitySpec());
  db = await ((await import(`${out}/db/init.ts`)) as { createDatabase(): Promise<Db> }).createDatabase();
  writerModule = (await import(`${out}/sync/change-writer.ts`)) as WriterModule;
  // The entity's description as the generator emits it (sync/entities.ts).
  entities = ((await import(`${out}/sync/entities.ts`)) as { ENTITIES: unknown[] }).ENTITIES;
}, 60_000);

afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  await db?.close();
  await new Promise((resolve) => server.close(resolve));
});

const macrotask = () => new Promise((resolve) => setImmediate(resolve));

// SPEC W10
describe("the change writer when the local database fails to record an answer", () => {
  it("surfaces the failure, leaves no unhandled rejection, and sends again once the database works", async () => {
    // Any local failure at that point: here a trigger refuses to mark a change sent or synced.
    await db.pg.exec(`CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the disk is full'; END $$;
      CREATE TRIGGER test_refuse BEFORE UPDATE OF "status" ON "_changes" FOR EACH ROW WHEN (NEW."status" IN ('sent', 'synced')) EXECUTE FUNCTION test_refuse();`);
    for (const name of ["a", "b", "c"]) await db.pg.query(`INSERT INTO things (name) VALUES ($1)`, [name]);
    const writer = new writerModule.ChangeWriter({ pg: db.pg, entities, baseUrl });
    const heard: (string | null)[] = [];
    writer.subscribe((s) => heard.push(s.lastError));
    await writer.start();

    await expect(writer.flush()).rejects.toThrow(/server accepted change .* but the local database failed to record it: the disk is full/);
    expect((await writer.status()).lastError).toMatch(/the disk is full/);
    expect(heard.some((e) => e !== null && e.includes("the disk is full"))).toBe(true);
    expect((await writer.status()).queued).toBe(3);
    const firstKey = requests[0]!.key;

    await db.pg.exec(`DROP TRIGGER test_refuse ON "_changes"`);
    await writer.flush();
    expect((await writer.status()).queued).toBe(0);
    const synced = await db.pg.query<{ status: string }>(`SELECT "status" FROM "_changes" ORDER BY "seq"`);
    expect(synced.rows.map((r) => r.status)).toEqual(["synced", "synced", "synced"]);
    // The create the server had already accepted came again with its idempotency key.
    expect(requests.filter((r) => r.key === firstKey).length).toBeGreaterThanOrEqual(2);
    expect(new Set(requests.map((r) => r.key)).size).toBe(3);

    await writer.stop();
    await macrotask();
    await macrotask();
    expect(unhandled).toEqual([]);
  }, 60_000);
});
