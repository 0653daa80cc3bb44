/**
 * Tenant-scoped shapes end to end: real PostgreSQL, the shape-protocol double (where + params
 * evaluated by Postgres) behind `createShapeProxy` with the definitions generated from a spec
 * with `x-sync: { scope: household_id }`. User A never receives a row of household B, whatever
 * they send to the proxy (tampered where, table, columns, params, handle, offset); a server-only
 * column never leaves the server; a row moved from A's household to B's leaves A's device.
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

const postgres = usePostgres();

interface User {
  household: string;
}
const TOKENS: Record<string, User> = { "token-a": { household: "a" }, "token-b": { household: "b" } };

interface Client {
  createDatabase(): Promise<{ pg: { query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> }; close(): Promise<void> }>;
  startSync(o: Record<string, unknown>): Promise<{ ready: Promise<void>; stop(): Promise<void> }>;
}

let server: pg.Client;
let shapes: ShapeServer;
let proxyServer: http.Server;
let proxyUrl = "";
let client: Client;

const SPEC = entitySpec({
  fields: `        household_id: { type: string }
        name: { type: string }
        private_note: { type: string, x-sync-exclude: true }`,
}).replace("x-sync: { local_first: true }", "x-sync: { local_first: true, scope: household_id }");

beforeAll(async () => {
  const databaseUrl = await postgres().createDatabase();
  server = new pg.Client(databaseUrl);
  await server.connect();
  // `server_secret` is a column the spec does not have: the proxy's columns leave it out.
  await server.query(`CREATE TABLE things (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), household_id text NOT NULL, name text, server_secret text DEFAULT 'hidden')`);
  await server.query(`INSERT INTO things (household_id, name) VALUES ('a', 'a1'), ('a', 'a2'), ('b', 'b1'), ('b', 'b2'), ('b', 'b3')`);
  shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 1000 });
  const out = await generateClient("scoped", SPEC);
  client = (await import(`${out}/index.ts`)) as Client;
  const spec = JSON.parse(fs.readFileSync(path.join(out, "server/shapes.json"), "utf8")) as SpecShapes;
  expect(spec.shapes.things).toMatchObject({ columns: ["id", "household_id", "name"], scope: "household_id" });
  const proxy = createShapeProxy<User>({
    electricUrl: shapes.shapeUrl,
    shapes: shapesFromSpec<User>(spec, { scope: (user) => user.household }),
    authenticate: (request) => TOKENS[(request.headers.get("authorization") ?? "").replace(/^Bearer /, "")] ?? null,
  });
  const node = toNodeHandler(proxy);
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

interface Page {
  status: number;
  handle: string | null;
  offset: string | null;
  rows: Record<string, unknown>[];
  upToDate: boolean;
}

async function page(token: string, query: Record<string, string>): Promise<Page> {
  const url = `${proxyUrl}?${new URLSearchParams(query)}`;
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  const messages = (response.ok || response.status === 409) && text ? (JSON.parse(text) as { headers: Record<string, unknown>; value?: Record<string, unknown> }[]) : [];
  return {
    status: response.status,
    handle: response.headers.get("electric-handle"),
    offset: response.headers.get("electric-offset"),
    rows: messages.filter((m) => m.value).map((m) => m.value!),
    upToDate: messages.some((m) => m.headers.control === "up-to-date"),
  };
}

/** Reads a shape as a raw client would, from `start`, following handles and offsets until up to date. */
async function readAll(token: string, start: Record<string, string>): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  let query = start;
  for (let i = 0; i < 8; i++) {
    const p = await page(token, query);
    rows.push(...p.rows);
    if (p.upToDate || !p.handle || !p.offset) break;
    query = p.status === 409 ? { table: "things", offset: "-1", handle: p.handle } : { ...start, handle: p.handle, offset: p.offset };
  }
  return rows;
}

describe("scoped shapes through the proxy", () => {
  it("gives each user their household's rows, without server-only columns", async () => {
    const a = await readAll("token-a", { table: "things", offset: "-1" });
    expect(a.map((r) => r.name).sort()).toEqual(["a1", "a2"]);
    expect(Object.keys(a[0]!).sort()).toEqual(["household_id", "id", "name"]);
    const b = await readAll("token-b", { table: "things", offset: "-1" });
    expect(b.map((r) => r.name).sort()).toEqual(["b1", "b2", "b3"]);
  });

  it("user A never receives a row of household B, whatever they send", async () => {
    const b = await page("token-b", { table: "things", offset: "-1" });
    const bUpToDate = await page("token-b", { table: "things", offset: b.offset!, handle: b.handle! });
    const tampered: Record<string, string>[] = [
      { table: "things", offset: "-1", where: "true" },
      { table: "things", offset: "-1", where: "household_id = 'b'" },
      { table: "things", offset: "-1", where: "household_id = $1", "params[1]": "b" },
      { table: "things", offset: "-1", "params[1]": "b" },
      { table: "things", offset: "-1", columns: "id,household_id,name,server_secret" },
      { table: "things", offset: "-1", params: JSON.stringify({ 1: "b" }) },
      // B's own handle and offsets: the server's shape for A is another shape (409, A's handle).
      { table: "things", offset: b.offset!, handle: b.handle! },
      { table: "things", offset: bUpToDate.offset ?? b.offset!, handle: b.handle! },
      { table: "things", offset: "0_inf", handle: b.handle! },
      { table: "things", offset: "-1", handle: b.handle! },
    ];
    for (const query of tampered) {
      const rows = await readAll("token-a", query);
      expect(rows.filter((r) => r.household_id !== "a"), JSON.stringify(query)).toEqual([]);
      for (const r of rows) expect(r, JSON.stringify(query)).not.toHaveProperty("server_secret");
    }
    // Other tables, and a shape name that is not one: refused before Electric is asked.
    expect((await page("token-a", { table: "pg_catalog.pg_authid", offset: "-1" })).status).toBe(404);
    expect((await page("token-a", { table: "things_b", offset: "-1" })).status).toBe(404);
    expect((await page("nobody", { table: "things", offset: "-1" })).status).toBe(401);
  });

  it("a subset snapshot by key (the client's re-read) stays inside the user's scope", async () => {
    const ids = async (household: string) => (await server.query<{ id: string }>(`SELECT id FROM things WHERE household_id = $1 ORDER BY name`, [household])).rows.map((r) => r.id);
    const [mine] = await ids("a");
    const theirs = await ids("b");
    const first = await page("token-a", { table: "things", offset: "-1" });
    const subset = async (keys: string[]) => {
      const q = new URLSearchParams({ table: "things", handle: first.handle!, offset: first.offset!, subset__where: `"id" IN (${keys.map((_, i) => `$${i + 1}`).join(", ")})`, subset__params: JSON.stringify(Object.fromEntries(keys.map((k, i) => [i + 1, k]))) });
      const response = await fetch(`${proxyUrl}?${q}`, { headers: { authorization: "Bearer token-a" } });
      expect(response.status).toBe(200);
      return ((await response.json()) as { data: { value: Record<string, unknown> }[] }).data.map((m) => m.value);
    };
    expect((await subset([mine!])).map((r) => r.id)).toEqual([mine]);
    expect(await subset(theirs)).toEqual([]);
    expect((await subset([mine!, ...theirs])).map((r) => r.id)).toEqual([mine]);
  });

  it("the generated client of A syncs A's rows only, and a row moved to B leaves A's device", async () => {
    const db = await client.createDatabase();
    const engine = await client.startSync({ db, apiUrl: "http://127.0.0.1:9", electricUrl: proxyUrl, headers: () => ({ authorization: "Bearer token-a" }) });
    const names = async () => (await db.pg.query<{ name: string }>(`SELECT name FROM things ORDER BY name`)).rows.map((r) => r.name);
    const eventually = async (check: () => Promise<void>) => {
      const start = Date.now();
      for (;;) {
        try {
          return await check();
        } catch (e) {
          if (Date.now() - start > 20_000) throw e;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await engine.ready;
      expect(await names()).toEqual(["a1", "a2"]);
      await server.query(`INSERT INTO things (household_id, name) VALUES ('b', 'b4'), ('a', 'a3')`);
      await eventually(async () => expect(await names()).toEqual(["a1", "a2", "a3"]));
      await server.query(`UPDATE things SET household_id = 'b' WHERE name = 'a1'`);
      await eventually(async () => expect(await names()).toEqual(["a2", "a3"]));
      await server.query(`UPDATE things SET household_id = 'a' WHERE name = 'b1'`);
      await eventually(async () => expect(await names()).toEqual(["a2", "a3", "b1"]));
    } finally {
      await engine.stop();
      await db.close();
    }
  });
});
