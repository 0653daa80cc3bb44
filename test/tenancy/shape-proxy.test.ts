/**
 * The shape proxy (`sync-patterns/server`) at the request level, against a tiny recording
 * upstream on 127.0.0.1 standing in for Electric: whatever the client sends, the upstream sees
 * only the server's `table`, `where`, `params` and `columns` (and the client's protocol params);
 * Electric's headers come back unchanged, the body is streamed, and an unauthenticated request
 * gets 401 without reaching Electric.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createShapeProxy, shapesFromSpec, toNodeHandler, type SpecShapes } from "../../src/server/index.js";

interface User {
  id: string;
  householdId: string;
}
const USERS: Record<string, User> = { "token-a": { id: "a", householdId: "household-a" }, "token-b": { id: "b", householdId: "household-b" } };

const SPEC: SpecShapes = {
  shapes: {
    contacts: { entity: "contact", table: "contacts", key: "id", columns: ["id", "household_id", "name", "Order"], scope: "household_id" },
    categories: { entity: "category", table: "categories", key: "id", columns: ["id", "name"], scope: null },
  },
};

/** The upstream: records each request's URL and headers; `/slow` bodies wait for `release()`. */
const seen: URL[] = [];
const seenHeaders: http.IncomingHttpHeaders[] = [];
let release: () => void = () => undefined;
let upstreamClosed: () => void = () => undefined;
let upstream: http.Server;
let electricUrl = "";

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    const url = new URL(req.url!, "http://upstream");
    seen.push(url);
    seenHeaders.push(req.headers);
    res.writeHead(200, {
      ...(url.searchParams.get("live") === "gzip" ? { "content-encoding": "gzip" } : {}),
      "content-type": "application/json",
      "electric-handle": "123-456",
      "electric-offset": "0_0",
      "electric-schema": '{"id":{"type":"text"}}',
      "electric-cursor": "42",
      "cache-control": "public, max-age=604800, stale-while-revalidate=2629746",
      etag: '"123-456:-1:0_0"',
      vary: "accept-encoding",
    });
    if (url.searchParams.get("live") === "gzip") {
      const body = gzipSync('[{"headers":{"control":"up-to-date"}}]');
      res.end(body);
    } else if (url.searchParams.get("live") === "hold") {
      res.write("[");
      res.on("close", () => upstreamClosed());
    } else if (url.searchParams.get("live") === "slow") {
      res.write('[{"headers":{"operation":"insert"},"key":"1","value":{"id":"1"}}');
      release = () => res.end("]");
    } else res.end("[]");
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  electricUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1/shape`;
});
afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

function proxy() {
  return createShapeProxy<User>({
    electricUrl,
    secret: "server-secret",
    shapes: shapesFromSpec<User>(SPEC, { scope: (user) => user.householdId }),
    authenticate: (request) => USERS[(request.headers.get("authorization") ?? "").replace(/^Bearer /, "")] ?? null,
  });
}

async function ask(query: string, token: string | null = "token-a"): Promise<{ response: Response; upstream: URL | undefined }> {
  const before = seen.length;
  const response = await proxy()(new Request(`http://app.test/v1/shape?${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }));
  await response.text();
  return { response, upstream: seen.length > before ? seen[seen.length - 1] : undefined };
}

describe("the shape proxy", () => {
  it("asks Electric for the server's shape: table, scope where, its params and the spec's columns", async () => {
    const { response, upstream } = await ask("table=contacts&offset=-1");
    expect(response.status).toBe(200);
    expect(upstream!.pathname).toBe("/v1/shape");
    expect(Object.fromEntries(upstream!.searchParams)).toEqual({
      table: "contacts",
      where: '"household_id" = $1',
      "params[1]": "household-a",
      columns: 'id,household_id,name,"Order"',
      offset: "-1",
      secret: "server-secret",
    });
  });

  it("forwards only the server's values whatever the client tampers with", async () => {
    const tampered = [
      "table=contacts",
      "where=" + encodeURIComponent("household_id = 'household-b' OR true"),
      "params[1]=household-b",
      "params[2]=x",
      "params=" + encodeURIComponent('{"1":"household-b"}'),
      "columns=" + encodeURIComponent("id,secret_column"),
      "table=categories",
      "secret=client-secret",
      "api_secret=client-secret",
      "subset__limit=1", // a subset where is checked on its own (below)
      "handle=999-handle-of-b",
      "offset=12345_6",
      "live=true",
      "cursor=7",
    ].join("&");
    const { upstream } = await ask(tampered);
    expect(Object.fromEntries(upstream!.searchParams)).toEqual({
      table: "contacts",
      where: '"household_id" = $1',
      "params[1]": "household-a",
      columns: 'id,household_id,name,"Order"',
      secret: "server-secret",
      // Protocol params only say where in the stream the client is; Electric checks the handle
      // against the shape the server defined (another shape's handle gets a 409 and the right one).
      handle: "999-handle-of-b",
      offset: "12345_6",
      live: "true",
      cursor: "7",
    });
  });

  it("gives each user their own scope value", async () => {
    const { upstream } = await ask("table=contacts&offset=-1", "token-b");
    expect(upstream!.searchParams.get("params[1]")).toBe("household-b");
  });

  it("sends no where for an entity without x-sync.scope", async () => {
    const { upstream } = await ask("table=categories&offset=-1&where=id%3D1");
    expect(Object.fromEntries(upstream!.searchParams)).toEqual({ table: "categories", columns: "id,name", offset: "-1", secret: "server-secret" });
  });

  it("does not pass the client's credentials on to Electric", async () => {
    await ask("table=contacts&offset=-1");
    expect(seenHeaders[seenHeaders.length - 1]!.authorization).toBeUndefined();
  });

  it("passes Electric's headers through and adds the credentials to Vary", async () => {
    const { response } = await ask("table=contacts&offset=-1");
    const h = response.headers;
    expect(h.get("electric-handle")).toBe("123-456");
    expect(h.get("electric-offset")).toBe("0_0");
    expect(h.get("electric-schema")).toBe('{"id":{"type":"text"}}');
    expect(h.get("electric-cursor")).toBe("42");
    expect(h.get("cache-control")).toBe("public, max-age=604800, stale-while-revalidate=2629746");
    expect(h.get("etag")).toBe('"123-456:-1:0_0"');
    expect(h.get("vary")).toBe("accept-encoding, authorization, cookie");
  });

  it("answers 401 problem+json without asking Electric when the request has no valid credentials", async () => {
    for (const token of [null, "expired"]) {
      const { response, upstream } = await ask("table=contacts&offset=-1", token);
      expect(response.status).toBe(401);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(upstream).toBeUndefined();
    }
  });

  it("answers 404 for a shape the server does not define, 403 when the user has no scope value", async () => {
    expect((await ask("table=pg_authid&offset=-1")).response.status).toBe(404);
    expect((await ask("offset=-1")).response.status).toBe(404);
    expect((await ask("table=constructor&offset=-1")).response.status).toBe(404);
    const noHousehold = createShapeProxy<User>({
      electricUrl,
      shapes: shapesFromSpec<User>(SPEC, { scope: () => null }),
      authenticate: () => ({ id: "c", householdId: "" }),
    });
    const before = seen.length;
    expect((await noHousehold(new Request("http://app.test/v1/shape?table=contacts&offset=-1"))).status).toBe(403);
    expect(seen.length).toBe(before);
  });

  it("streams the body (through the Node adapter): the first bytes arrive before Electric has finished", async () => {
    const server = http.createServer(toNodeHandler(proxy()));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const response = await fetch(`http://127.0.0.1:${port}/v1/shape?table=contacts&offset=-1&live=slow`, { headers: { authorization: "Bearer token-a" } });
      expect(response.headers.get("electric-handle")).toBe("123-456");
      const reader = response.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toContain('"operation":"insert"');
      release();
      let rest = "";
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
      expect(JSON.parse(first + rest)).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("passes on a subset snapshot by key (what the client re-reads a write with), canonically", async () => {
    const q = new URLSearchParams({
      table: "contacts",
      handle: "h",
      offset: "5_0",
      subset__where: '"id" IN ($1, $2)',
      subset__params: JSON.stringify({ 1: "k1", 2: "k2" }),
      subset__limit: "1",
      subset__order_by: "name",
    });
    const { response, upstream } = await ask(q.toString());
    expect(response.status).toBe(200);
    expect(Object.fromEntries(upstream!.searchParams)).toEqual({
      table: "contacts",
      where: '"household_id" = $1',
      "params[1]": "household-a",
      columns: 'id,household_id,name,"Order"',
      handle: "h",
      offset: "5_0",
      secret: "server-secret",
      subset__where: '"id" IN ($1, $2)',
      subset__params: '{"1":"k1","2":"k2"}',
    });
    expect((await ask(new URLSearchParams({ table: "contacts", offset: "-1", subset__where: "id in ($1)", subset__params: '{"1":"k"}' }).toString())).upstream!.searchParams.get("subset__where")).toBe('"id" IN ($1)');
  });

  it.each([
    ["another column", '"household_id" IN ($1)', '{"1":"household-b"}'],
    ["another operator", '"id" = $1 OR true', '{"1":"k"}'],
    ["a widened list", '"id" IN ($1) OR true', '{"1":"k"}'],
    ["a subquery", '"id" IN (SELECT id FROM contacts)', "{}"],
    ["a function", '"id" IN (pg_sleep($1))', '{"1":"1"}'],
    ["params that do not match", '"id" IN ($1, $2)', '{"1":"k"}'],
    ["params out of order", '"id" IN ($2, $1)', '{"1":"a","2":"b"}'],
    ["object params", '"id" IN ($1)', '{"1":{"a":1}}'],
    ["no params", '"id" IN ($1)', null],
  ])("refuses a subset snapshot with %s (400, Electric not asked)", async (_, where, params) => {
    const q = new URLSearchParams({ table: "contacts", offset: "-1", subset__where: where });
    if (params !== null) q.set("subset__params", params);
    const { response, upstream } = await ask(q.toString());
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(upstream).toBeUndefined();
  });

  it("a compressed answer from Electric reaches the client readable (fetch decoded it: no stale content-encoding)", async () => {
    const server = http.createServer(toNodeHandler(proxy()));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const response = await fetch(`http://127.0.0.1:${port}/v1/shape?table=contacts&offset=-1&live=gzip`, { headers: { authorization: "Bearer token-a" } });
      expect(response.headers.get("content-encoding")).toBeNull();
      expect(await response.json()).toEqual([{ headers: { control: "up-to-date" } }]);
      expect(response.headers.get("electric-handle")).toBe("123-456");
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("a client that goes away ends the request to Electric (Node adapter)", async () => {
    const server = http.createServer(toNodeHandler(proxy()));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
      const port = (server.address() as AddressInfo).port;
      const abort = new AbortController();
      const response = await fetch(`http://127.0.0.1:${port}/v1/shape?table=contacts&offset=-1&live=hold`, { headers: { authorization: "Bearer token-a" }, signal: abort.signal });
      await response.body!.getReader().read();
      abort.abort();
      await closed; // resolves only when the upstream request is closed
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("refuses a scoped spec without a scope function", () => {
    expect(() => shapesFromSpec(SPEC)).toThrow(/scoped by "household_id"/);
  });
});
