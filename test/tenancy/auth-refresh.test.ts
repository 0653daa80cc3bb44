/**
 * One auth source for writes and shapes, refreshed on 401. Real parts: PostgreSQL, the
 * shape-protocol double behind `createShapeProxy` (which checks a bearer token), the generated
 * client in Node. A token that expires mid-stream: the shape request gets 401, the client's
 * `onUnauthorized` refreshes it, and the stream goes on from its handle and offset (nothing is
 * downloaded again). A write answered 401 is sent again after the refresh, never rolled back.
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createShapeProxy, shapesFromSpec, toNodeHandler, type SpecShapes } from "../../src/server/index.js";
import { entitySpec, generateClient } from "../support/generated.js";
import { usePostgres } from "../support/postgres/index.js";
import { startShapeServer, type ShapeServer } from "../../packages/shape-server/src/index.js";
import { eventually } from "../support/eventually.js";

const postgres = usePostgres();

interface Client {
  createDatabase(o?: { dataDir?: string }): Promise<{ pg: { query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> }; close(): Promise<void> }>;
  startSync(o: Record<string, unknown>): Promise<{
    ready: Promise<void>;
    shapes: { stats: { applied: number; skipped: number; refetches: number } }[];
    writer: { flush(): Promise<void>; status(): Promise<{ queued: number; failed: number; lastError: string | null }> };
    stop(): Promise<void>;
  }>;
}

let server: pg.Client;
let shapes: ShapeServer;
let proxyServer: http.Server;
let proxyUrl = "";
let client: Client;
let out = "";
/** Tokens the proxy accepts now. */
const valid = new Set<string>(["t1"]);
/** What reached the proxy: the query and the answer's status. */
const requests: { offset: string | null; handle: string | null; token: string; status: number }[] = [];

beforeAll(async () => {
  const databaseUrl = await postgres().createDatabase();
  server = new pg.Client(databaseUrl);
  await server.connect();
  await server.query(`CREATE TABLE things (id uuid PRIMARY KEY, name text, qty integer, note text)`);
  await server.query(`INSERT INTO things (id, name) SELECT gen_random_uuid(), 'row ' || i FROM generate_series(1, 3) i`);
  shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 1000 });
  out = await generateClient("auth-refresh", entitySpec());
  client = (await import(`${out}/index.ts`)) as Client;
  const spec = JSON.parse(fs.readFileSync(path.join(out, "server/shapes.json"), "utf8")) as SpecShapes;
  const proxy = createShapeProxy<{ token: string }>({
    electricUrl: shapes.shapeUrl,
    shapes: shapesFromSpec(spec),
    authenticate: (request) => {
      const token = (request.headers.get("authorization") ?? "").replace(/^Bearer /, "");
      return valid.has(token) ? { token } : null;
    },
  });
  const node = toNodeHandler(async (request) => {
    const url = new URL(request.url);
    const response = await proxy(request);
    requests.push({ offset: url.searchParams.get("offset"), handle: url.searchParams.get("handle"), token: request.headers.get("authorization") ?? "", status: response.status });
    return response;
  });
  proxyServer = http.createServer((req, res) => void node(req, res));
  await new Promise<void>((resolve) => proxyServer.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxyServer.address() as AddressInfo).port}/v1/shape`;
}, 120_000);

afterAll(async () => {
  proxyServer?.closeAllConnections();
  await new Promise<void>((resolve) => (proxyServer ? proxyServer.close(() => resolve()) : resolve()));
  await shapes?.stop();
  await server?.end();
});

describe("credentials", () => {
  it("a plain API call answered 401 is sent once more after onUnauthorized, with the headers read anew", async () => {
    const seen: string[] = [];
    const api = http.createServer((req, res) => {
      seen.push(req.headers.authorization ?? "");
      if (req.headers.authorization !== "Bearer new") res.writeHead(401, { "content-type": "application/problem+json" }).end('{"status":401,"title":"Unauthorized"}');
      else res.writeHead(200, { "content-type": "application/json" }).end("[]");
    });
    await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
    const api2 = client as unknown as { configureClient(c: Record<string, unknown>): void; listThings(): Promise<unknown> };
    let token = "old";
    try {
      api2.configureClient({ baseUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`, headers: () => ({ authorization: `Bearer ${token}` }), onUnauthorized: () => void (token = "new") });
      expect(await api2.listThings()).toEqual([]);
      expect(seen).toEqual(["Bearer old", "Bearer new"]);
    } finally {
      api2.configureClient({ headers: {}, onUnauthorized: undefined });
      await new Promise<void>((resolve) => api.close(() => resolve()));
    }
  });

  it("an expired token mid-stream is refreshed and the stream resumes from its offset", async () => {
    let token = "t1";
    let refreshes = 0;
    const db = await client.createDatabase();
    const engine = await client.startSync({
      db,
      apiUrl: "http://127.0.0.1:9",
      electricUrl: proxyUrl,
      headers: () => ({ authorization: `Bearer ${token}` }),
      onUnauthorized: () => {
        refreshes++;
        token = "t2";
        valid.add("t2");
      },
    });
    try {
      await engine.ready;
      expect((await db.pg.query(`SELECT count(*)::int AS n FROM things`)).rows).toEqual([{ n: 3 }]);
      const initial = requests.filter((r) => r.offset === "-1").length;

      valid.delete("t1"); // the token expires; the request held now was let in before
      await server.query(`INSERT INTO things (id, name) VALUES (gen_random_uuid(), 'after expiry')`);
      await eventually(async () => expect((await db.pg.query(`SELECT name FROM things WHERE name = 'after expiry'`)).rows).toHaveLength(1));

      expect(refreshes).toBe(1);
      const refused = requests.findIndex((r) => r.status === 401);
      expect(refused).toBeGreaterThan(-1);
      const before = requests[refused]!;
      const after = requests.slice(refused + 1).find((r) => r.status === 200)!;
      // Same stream, same place: the handle and offset the refused request carried.
      expect(before.offset).not.toBe("-1");
      expect(after).toMatchObject({ handle: before.handle, offset: before.offset, token: "Bearer t2" });
      // Nothing was downloaded again: no new initial request, 4 rows applied in all.
      expect(requests.filter((r) => r.offset === "-1").length).toBe(initial);
      expect(engine.shapes[0]!.stats).toMatchObject({ applied: 4, refetches: 0 });
    } finally {
      await engine.stop();
      await db.close();
    }
  });

  it("a write answered 401 is sent again after the refresh, with the new token, not rolled back", async () => {
    let token = "old";
    let refreshes = 0;
    const seen: string[] = [];
    const api = http.createServer((req, res) => {
      seen.push(req.headers.authorization ?? "");
      req.resume();
      req.on("end", () => {
        if (req.headers.authorization !== "Bearer new") {
          res.writeHead(401, { "content-type": "application/problem+json" }).end(JSON.stringify({ title: "Unauthorized", status: 401, detail: "token expired" }));
        } else res.writeHead(201, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
    const db = await client.createDatabase();
    const engine = await client.startSync({
      db,
      apiUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
      electricUrl: "",
      headers: () => ({ authorization: `Bearer ${token}` }),
      onUnauthorized: () => {
        refreshes++;
        token = "new";
      },
      backoff: { initialMs: 10, maxMs: 50 },
    });
    try {
      await db.pg.query(`INSERT INTO things (id, name) VALUES (gen_random_uuid(), 'written')`);
      await eventually(async () => expect(await engine.writer.status()).toMatchObject({ queued: 0, failed: 0 }));
      expect(seen).toEqual(["Bearer old", "Bearer new"]);
      expect(refreshes).toBe(1);
      // Accepted (no txid from this server: confirmed at once), not failed and rolled back.
      expect((await db.pg.query(`SELECT op, status FROM "_changes"`)).rows).toEqual([{ op: "insert", status: "synced" }]);
    } finally {
      await engine.stop();
      await db.close();
      await new Promise<void>((resolve) => api.close(() => resolve()));
    }
  });
});
