/**
 * Two change writers on one local database (two tabs of a browser profile, two processes on one
 * data directory): a change's status only moves forward (writer invariant W8).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { entitySpec, generateClient } from "../support/generated.js";

interface Db {
  pg: { query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> };
  close(): Promise<void>;
}
interface Writer {
  start(): Promise<void>;
  stop(): Promise<void>;
  flush(): Promise<void>;
  kick(): void;
}
type WriterModule = { ChangeWriter: new (options: Record<string, unknown>) => Writer };

let db: Db;
let writerModule: WriterModule;
let entities: unknown;

beforeAll(async () => {
  const out = await generateClient("writers", entitySpec());
  db = await ((await import(`${out}/db/init.ts`)) as { createDatabase(): Promise<Db> }).createDatabase();
  writerModule = (await import(`${out}/sync/change-writer.ts`)) as WriterModule;
  entities = ((await import(`${out}/sync/entities.ts`)) as { ENTITIES: unknown }).ENTITIES;
}, 60_000);
afterAll(async () => db?.close());

const status = async (id: string) =>
  (await db.pg.query<{ status: string; last_error: string | null }>(`SELECT "status", "last_error" FROM "_changes" WHERE "row_key" = $1`, [id])).rows;

function writer(fetchFn: typeof fetch): Writer {
  return new writerModule.ChangeWriter({ pg: db.pg, entities, baseUrl: "http://127.0.0.1:9", fetch: fetchFn, backoff: { initialMs: 10, maxMs: 20 } });
}

describe("W8: a change's status only moves forward", () => {
  it("a 4xx that arrives after another writer confirmed the change leaves it synced", async () => {
    const id = crypto.randomUUID();
    let release!: () => void;
    const late = new Promise<void>((r) => (release = r));
    let slowCalled!: () => void;
    const slowAsked = new Promise<void>((r) => (slowCalled = r));
    // B reads the change while it is pending, then its request hangs; A confirms it meanwhile
    // (2xx without a txid: synced at once, W3); then B's request comes back 422.
    const b = writer(async () => {
      slowCalled();
      await late;
      return new Response(JSON.stringify({ title: "Unprocessable", detail: "name is taken" }), { status: 422, headers: { "content-type": "application/problem+json" } });
    });
    const a = writer(async () => new Response("{}", { status: 201, headers: { "content-type": "application/json" } }));

    await db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'raced')`, [id]);
    await b.start();
    await slowAsked;
    await a.start();
    await a.flush();
    expect(await status(id)).toEqual([{ status: "synced", last_error: null }]);

    release();
    await b.flush();
    expect(await status(id)).toEqual([{ status: "synced", last_error: null }]);
    await a.stop();
    await b.stop();
  });

  it("the database refuses to move a synced or discarded change back", async () => {
    const id = crypto.randomUUID();
    await db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'done')`, [id]);
    await db.pg.query(`UPDATE "_changes" SET "status" = 'synced' WHERE "row_key" = $1`, [id]);
    for (const next of ["failed", "pending", "sent"]) {
      await db.pg.query(`UPDATE "_changes" SET "status" = $2, "last_error" = 'late' WHERE "row_key" = $1`, [id, next]);
      expect(await status(id)).toEqual([{ status: "synced", last_error: null }]);
    }
    const other = crypto.randomUUID();
    await db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'gone')`, [other]);
    await db.pg.query(`UPDATE "_changes" SET "status" = 'failed' WHERE "row_key" = $1`, [other]);
    await db.pg.query(`UPDATE "_changes" SET "status" = 'discarded' WHERE "row_key" = $1`, [other]);
    await db.pg.query(`UPDATE "_changes" SET "status" = 'pending' WHERE "row_key" = $1`, [other]);
    expect((await status(other)).map((r) => r.status)).toEqual(["discarded"]);
  });
});
