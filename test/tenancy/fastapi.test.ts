/**
 * The FastAPI example (examples/fastapi) keeps the backend contract of docs/backend.md. Real
 * parts: uvicorn on 127.0.0.1 (started by test/support/fastapi.ts), PostgreSQL, the shape-protocol double behind the app's own shape proxy, and
 * the client generated from examples/fastapi/openapi.yaml in Node.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateClient } from "../support/generated.js";
import { FASTAPI_EXAMPLE, fastApiAvailable, startFastApi, type FastApi } from "../support/fastapi.js";
import { usePostgres } from "../support/postgres/index.js";
import { startShapeServer, type ShapeServer } from "../../packages/shape-server/src/index.js";
import { eventually } from "../support/eventually.js";

const postgres = usePostgres();

interface Client {
  createDatabase(): Promise<{ pg: { query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> }; close(): Promise<void> }>;
  startSync(o: Record<string, unknown>): Promise<{ ready: Promise<void>; writer: { status(): Promise<{ queued: number; failed: number; lastError: string | null }> }; stop(): Promise<void> }>;
}

let server: pg.Client;
let shapes: ShapeServer;
let app: FastApi;
let api = "";
let client: Client;

async function call(method: string, url: string, token: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(api + url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

describe.skipIf(!fastApiAvailable)("the FastAPI example backend", () => {
  beforeAll(async () => {
    const databaseUrl = await postgres().createDatabase();
    server = new pg.Client(databaseUrl);
    await server.connect();
    shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 1000 });
    const out = await generateClient("fastapi", fs.readFileSync(path.join(FASTAPI_EXAMPLE, "openapi.yaml"), "utf8"));
    client = (await import(`${out}/index.ts`)) as Client;
    app = await startFastApi({ databaseUrl, shapeUrl: shapes.shapeUrl, shapesJson: path.join(out, "server/shapes.json") });
    api = app.url;
    await server.query(`INSERT INTO users (id, household_id, token) VALUES ('ann', 'h1', 'token-ann'), ('bob', 'h1', 'token-bob'), ('cat', 'h2', 'token-cat')`);
    await server.query(`INSERT INTO household_members (user_id, household_id, role) VALUES ('ann', 'h1', 'owner'), ('bob', 'h1', 'editor'), ('cat', 'h2', 'owner')`);
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await shapes?.stop();
    await server?.end();
  });

  it("the generated client's create, update and delete land once, with txids, and sync back through the proxy", async () => {
    await server.query(`INSERT INTO todos (id, household_id, title) VALUES ($1, 'h2', 'cat''s todo')`, [randomUUID()]);
    const db = await client.createDatabase();
    const engine = await client.startSync({ db, apiUrl: api, electricUrl: `${api}/v1/shape`, headers: () => ({ authorization: "Bearer token-ann" }), backoff: { initialMs: 50, maxMs: 400 } });
    const local = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await db.pg.query<T>(sql, params)).rows;
    try {
      await engine.ready;
      expect(await local(`SELECT * FROM todos`)).toEqual([]); // cat's household is not ann's
      const id = randomUUID();
      await local(`INSERT INTO todos (id, title, tags, draft_note) VALUES ($1, 'milk', '["shop"]', 'only here')`, [id]);
      await eventually(async () => expect(await local(`SELECT title, household_id, tags, _sync_status FROM todos WHERE id = $1`, [id])).toEqual([{ title: "milk", household_id: "h1", tags: ["shop"], _sync_status: "synced" }]));
      await local(`UPDATE todos SET done = true WHERE id = $1`, [id]);
      await eventually(async () => expect(await local(`SELECT done, _sync_status FROM todos WHERE id = $1`, [id])).toEqual([{ done: true, _sync_status: "synced" }]));
      await local(`DELETE FROM todos WHERE id = $1`, [id]);
      await eventually(async () => expect((await server.query(`SELECT 1 FROM todos WHERE id = $1`, [id])).rows).toEqual([]));
      await eventually(async () => expect(await local(`SELECT status FROM "_changes" WHERE status <> 'synced'`)).toEqual([]));
      // Each change was applied once and answered with a txid the shape stream then carried.
      const changes = await local<{ op: string; txid: number | null }>(`SELECT op, txid FROM "_changes" ORDER BY seq`);
      expect(changes.map((c) => c.op)).toEqual(["insert", "update", "delete"]);
      for (const c of changes) expect(c.txid).toBeGreaterThan(0);
      expect((await server.query(`SELECT count(*)::int AS n FROM idempotency_keys WHERE user_id = 'ann'`)).rows).toEqual([{ n: 3 }]);
      // The device-only field never reached the server.
      expect((await server.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'todos' AND column_name = 'draft_note'`)).rows).toEqual([]);
    } finally {
      await engine.stop();
      await db.close();
    }
  });

  it("a write that touches another household's row is refused by the API and rolled back locally", async () => {
    const catsId = randomUUID();
    await server.query(`INSERT INTO todos (id, household_id, title) VALUES ($1, 'h2', 'cat''s secret')`, [catsId]);
    const db = await client.createDatabase();
    const engine = await client.startSync({ db, apiUrl: api, electricUrl: `${api}/v1/shape`, headers: () => ({ authorization: "Bearer token-ann" }), backoff: { initialMs: 50, maxMs: 400 } });
    const local = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await db.pg.query<T>(sql, params)).rows;
    try {
      await engine.ready;
      // Ann knows the id (say, from a link) and writes a row under it: the server says 409.
      await local(`INSERT INTO todos (id, title) VALUES ($1, 'mine now')`, [catsId]);
      await eventually(async () => expect(await local(`SELECT status FROM "_changes" WHERE row_key = $1`, [catsId])).toEqual([{ status: "failed" }]));
      expect(await local(`SELECT * FROM todos WHERE id = $1`, [catsId])).toEqual([]);
      expect((await server.query(`SELECT household_id, title FROM todos WHERE id = $1`, [catsId])).rows).toEqual([{ household_id: "h2", title: "cat's secret" }]);
    } finally {
      await engine.stop();
      await db.close();
    }
  });

  it("a replay returns the first answer (status, body, txid); another body under the key is a 422; keys are per user", async () => {
    const key = randomUUID();
    const body = { id: randomUUID(), title: "bread" };
    const first = await call("POST", "/api/todos", "token-ann", body, { "idempotency-key": key });
    const again = await call("POST", "/api/todos", "token-ann", body, { "idempotency-key": key });
    expect(first.status).toBe(201);
    expect(again).toMatchObject({ status: 201, body: first.body });
    expect(again.headers.get("x-txid")).toBe(first.headers.get("x-txid"));
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(first.headers.get("x-txid")).toMatch(/^\d+$/);

    const reused = await call("POST", "/api/todos", "token-ann", { ...body, title: "cake" }, { "idempotency-key": key });
    expect(reused.status).toBe(422);
    expect(reused.headers.get("content-type")).toBe("application/problem+json");
    expect(reused.body!.errors).toHaveProperty("Idempotency-Key");

    // Another user's key space: the same key is a new request for cat.
    const cats = await call("POST", "/api/todos", "token-cat", { id: randomUUID(), title: "fish" }, { "idempotency-key": key });
    expect(cats.status).toBe(201);
    expect(cats.body!.household_id).toBe("h2");

    const del = randomUUID();
    const d1 = await call("DELETE", `/api/todos/${body.id}`, "token-ann", undefined, { "idempotency-key": del });
    const d2 = await call("DELETE", `/api/todos/${body.id}`, "token-ann", undefined, { "idempotency-key": del });
    expect([d1.status, d2.status]).toEqual([204, 204]);
    expect(d2.headers.get("x-txid")).toBe(d1.headers.get("x-txid"));
  });

  it("answers problem+json: invalid bodies (with errors per field), 401, another household's row; a scope value sent by the client is ignored", async () => {
    const invalid = await call("POST", "/api/todos", "token-ann", { id: "not-a-uuid", title: "", done: "yes" });
    expect(invalid.status).toBe(422);
    expect(invalid.headers.get("content-type")).toBe("application/problem+json");
    expect(invalid.body).toMatchObject({ status: 422, title: expect.any(String), detail: expect.any(String) });
    expect(Object.keys(invalid.body!.errors as object).sort()).toEqual(["done", "id", "title"]);
    // household_id is readOnly: the server sets it from the user, whatever the body says (as the Hono example).
    const scoped = await call("POST", "/api/todos", "token-ann", { id: randomUUID(), title: "x", household_id: "h2" });
    expect(scoped.status).toBe(201);
    expect(scoped.body!.household_id).toBe("h1");
    const moved = await call("PATCH", `/api/todos/${scoped.body!.id as string}`, "token-ann", { household_id: "h2" });
    expect(moved.status).toBe(200);
    expect((await server.query(`SELECT household_id FROM todos WHERE id = $1`, [scoped.body!.id])).rows).toEqual([{ household_id: "h1" }]);
    expect((await call("POST", "/api/todos", "token-ann", "{not json")).status).toBe(400);
    const anonymous = await call("GET", "/api/todos", "nobody");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("content-type")).toBe("application/problem+json");
    const cats = await call("POST", "/api/todos", "token-cat", { id: randomUUID(), title: "cat only" });
    const foreign = await call("PATCH", `/api/todos/${cats.body!.id as string}`, "token-ann", { title: "mine now" });
    expect(foreign.status).toBe(404);
    expect(foreign.headers.get("content-type")).toBe("application/problem+json");
    expect((await server.query(`SELECT title FROM todos WHERE id = $1`, [cats.body!.id])).rows).toEqual([{ title: "cat only" }]);
  });

  it("the shape proxy gives each user their household's rows, whatever the request says", async () => {
    // Updates and deletes carry the key and the changed columns only (replica=default).
    type Message = { headers: { control?: string }; value?: { household_id?: string } };
    // Reads from offset -1 until up to date, as a client does: the first answer, then the log.
    const read = async (token: string, query: string) => {
      const rows: { household_id?: string }[] = [];
      let first: Response | undefined;
      let next = query;
      for (let i = 0; i < 8; i++) {
        const response = await fetch(`${api}/v1/shape?${next}`, { headers: { authorization: `Bearer ${token}` } });
        first ??= response;
        const text = await response.text();
        if (!response.ok) break;
        const messages = JSON.parse(text) as Message[];
        rows.push(...messages.filter((m) => m.value).map((m) => m.value!));
        if (messages.some((m) => m.headers.control === "up-to-date")) break;
        next = `${query}&handle=${response.headers.get("electric-handle")}&offset=${response.headers.get("electric-offset")}`.replace("offset=-1&", "");
      }
      return { response: first!, rows };
    };
    await server.query(`INSERT INTO todos (id, household_id, title) VALUES ($1, 'h1', 'ann and bob''s'), ($2, 'h2', 'cat''s')`, [randomUUID(), randomUUID()]);
    // The insert above reaches the shape's log through replication: read until it is there.
    const honest = await eventually(async () => {
      const r = await read("token-bob", "table=todos&offset=-1");
      expect(r.rows.some((row) => row.household_id === "h1")).toBe(true);
      return r;
    });
    expect(honest.response.headers.get("electric-handle")).toBeTruthy();
    expect(honest.response.headers.get("electric-offset")).toBeTruthy();
    expect(honest.response.headers.get("vary")).toMatch(/authorization/);
    for (const query of ["table=todos&offset=-1&where=true", "table=todos&offset=-1&where=household_id%3D%27h2%27", "table=todos&offset=-1&params%5B1%5D=h2", "table=todos&offset=-1&columns=id"]) {
      const { response, rows } = await read("token-bob", query);
      expect(response.status, query).toBe(200);
      expect(rows.filter((r) => r.household_id !== undefined && r.household_id !== "h1"), query).toEqual([]);
    }
    // A subset snapshot by key (how the client re-reads a write) stays in the household; other subsets: 400.
    const cats = (await server.query<{ id: string }>(`SELECT id FROM todos WHERE household_id = 'h2'`)).rows.map((r) => r.id);
    const ours = (await server.query<{ id: string }>(`SELECT id FROM todos WHERE household_id = 'h1'`)).rows.map((r) => r.id);
    const keys = [...ours, ...cats];
    const subset = new URLSearchParams({ subset__where: `"id" IN (${keys.map((_, i) => `$${i + 1}`).join(", ")})`, subset__params: JSON.stringify(Object.fromEntries(keys.map((k, i) => [i + 1, k]))) });
    const snap = await fetch(`${api}/v1/shape?table=todos&offset=${honest.response.headers.get("electric-offset")}&handle=${honest.response.headers.get("electric-handle")}&${subset}`, { headers: { authorization: "Bearer token-bob" } });
    expect(snap.status).toBe(200);
    expect(((await snap.json()) as { data: { value: { id: string } }[] }).data.map((m) => m.value.id).sort()).toEqual([...ours].sort());
    const wide = await fetch(`${api}/v1/shape?table=todos&offset=-1&subset__where=true`, { headers: { authorization: "Bearer token-bob" } });
    expect(wide.status).toBe(400);
    expect((await read("nobody", "table=todos&offset=-1")).response.status).toBe(401);
    expect((await read("token-bob", "table=users&offset=-1")).response.status).toBe(404);
  });
});
