/**
 * A writer sends a user's queued changes only with that user's credentials, and a stopped
 * writer sends nothing (writer invariants U1, U2; docs/local-database.md "One database per
 * user"). Real PGlite and a real HTTP server on 127.0.0.1 that records what reaches it.
 *
 * The bug these guard against: a user signs out while their writer waits for the next change or
 * for the credentials; the writer was stopped, but the request was made anyway once the wait
 * ended (sent while the user was signed out, with whatever token the headers gave then).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
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
  status(): Promise<{ queued: number; lastError: string | null }>;
}
interface Engine {
  writer: Writer;
  stop(): Promise<void>;
}
type WriterModule = {
  ChangeWriter: new (options: Record<string, unknown>) => Writer;
  CredentialsWithheldError: new (message: string) => Error;
};
type EngineModule = { startSync(options: Record<string, unknown>): Promise<Engine> };

let out: string;
let writerModule: WriterModule;
let engineModule: EngineModule;
let entities: unknown;
let server: http.Server;
let api: string;
/** Every request that reached the server: method, path, authorization. */
const received: { method: string; path: string; authorization: string | undefined }[] = [];

beforeAll(async () => {
  out = await generateClient("writer-user", entitySpec());
  writerModule = (await import(`${out}/sync/change-writer.ts`)) as WriterModule;
  engineModule = (await import(`${out}/sync/engine.ts`)) as EngineModule;
  entities = ((await import(`${out}/sync/entities.ts`)) as { ENTITIES: unknown }).ENTITIES;
  server = http.createServer((req, res) => {
    received.push({ method: req.method ?? "", path: req.url ?? "", authorization: req.headers.authorization });
    req.resume();
    req.on("end", () => res.writeHead(201, { "content-type": "application/json" }).end("{}"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

async function openDb(): Promise<Db> {
  return ((await import(`${out}/db/init.ts`)) as { createDatabase(): Promise<Db> }).createDatabase();
}

const changes = async (db: Db, id: string) =>
  (await db.pg.query<{ status: string; attempts: number }>(`SELECT "status", "attempts" FROM "_changes" WHERE "row_key" = $1`, [id])).rows;

/** A headers function that waits until `release()`; `asked` resolves when it was called. */
function slowHeaders(token: string) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let called!: () => void;
  const asked = new Promise<void>((r) => (called = r));
  return {
    headers: async () => {
      called();
      await gate;
      return { authorization: `Bearer ${token}` };
    },
    asked,
    release,
  };
}

describe("U1: a stopped writer sends nothing", () => {
  it("a writer stopped while it reads the credentials makes no request (the user signed out meanwhile)", async () => {
    const db = await openDb();
    const id = crypto.randomUUID();
    await db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'queued by ada')`, [id]);
    const ada = slowHeaders("ada");
    const writer = new writerModule.ChangeWriter({ pg: db.pg, entities, baseUrl: api, headers: ada.headers, backoff: { initialMs: 10, maxMs: 20 } });
    const before = received.length;
    await writer.start();
    await ada.asked;
    const stopping = writer.stop();
    ada.release();
    await stopping;
    // Whatever the writer was doing when it was stopped: no request, the change still queued.
    await new Promise((r) => setTimeout(r, 200));
    expect(received.slice(before)).toEqual([]);
    expect(await changes(db, id)).toEqual([{ status: "pending", attempts: 0 }]);
    await db.close();
  });

  it("an engine stopped while its writer reads the credentials makes no request, and its database closes with the change queued", async () => {
    const db = await openDb();
    const id = crypto.randomUUID();
    await db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'queued before sign-out')`, [id]);
    const ada = slowHeaders("ada");
    const before = received.length;
    const engine = await engineModule.startSync({ db, apiUrl: api, electricUrl: "", headers: ada.headers, backoff: { initialMs: 10, maxMs: 20 } });
    await ada.asked;
    const stopping = engine.stop();
    ada.release();
    await stopping;
    await new Promise((r) => setTimeout(r, 200));
    expect(received.slice(before)).toEqual([]);
    expect(await changes(db, id)).toEqual([{ status: "pending", attempts: 0 }]);
    await db.close();
  });
});

describe("U2: credentials are the database's user's or none", () => {
  it("while the headers withhold credentials (another user is signed in) nothing is sent; the change is sent once, with its user's token, when they are back", async () => {
    const db = await openDb();
    const id = crypto.randomUUID();
    await db.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'kept for ada')`, [id]);
    let signedIn: string | null = "alan";
    // Bound to Ada's database: her token when she is the one signed in, none otherwise.
    const headers = async () => {
      if (signedIn !== "ada") throw new writerModule.CredentialsWithheldError("Ada is not signed in.");
      return { authorization: "Bearer ada" };
    };
    const writer = new writerModule.ChangeWriter({ pg: db.pg, entities, baseUrl: api, headers, backoff: { initialMs: 10, maxMs: 20 } });
    const before = received.length;
    await writer.start();
    await writer.flush();
    await new Promise((r) => setTimeout(r, 200));
    expect(received.slice(before)).toEqual([]);
    expect(await changes(db, id)).toEqual([{ status: "pending", attempts: 0 }]);
    // Withheld credentials are not an error of the queue.
    expect((await writer.status()).lastError).toBeNull();

    signedIn = "ada";
    await writer.flush();
    expect(received.slice(before)).toEqual([{ method: "POST", path: "/things", authorization: "Bearer ada" }]);
    expect(await changes(db, id)).toEqual([{ status: "synced", attempts: 1 }]);
    await writer.stop();
    await db.close();
  });
});
