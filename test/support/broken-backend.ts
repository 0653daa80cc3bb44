/**
 * Deliberately broken backends and shape proxies for `doctor`'s tests: small HTTP proxies in
 * front of the real example backend (or the shape-protocol double) that break one rule of the
 * contract each (docs/backend.md). They listen on 127.0.0.1 and a free port.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";

export type ApiFault =
  /** Writes answer without their txid. */
  | "no-txid"
  /** Writes answer with the txid of another (real, committed) transaction. */
  | "other-txid"
  /** The Idempotency-Key never reaches the backend. */
  | "no-idempotency"
  /** A create's client key is replaced by one the "server" picks, silently. */
  | "replace-key"
  /** The first DELETE answers 500 (the backend is not reached); later ones work. */
  | "first-delete-fails"
  /** The txid as a 64-bit xid8 with epoch 1 (what `pg_current_xact_id()` without `::xid` gives after a wraparound). */
  | "xid8-txid"
  /** A create's answer leaves out the row's key (`id`): a server-key client cannot learn it. */
  | "no-created-key"
  /** Not broken: the txid moves from the header into the JSON body (`txid`), which the client also reads. */
  | "txid-in-body";

export interface Proxy {
  url: string;
  close(): Promise<void>;
}

type Rewrite = (req: { method: string; path: string; headers: Headers; body: string }) => Promise<void> | void;
type Answer = (res: { status: number; headers: Headers; body: string }, req: { method: string; path: string; query: URLSearchParams }) => Promise<void> | void;

async function proxy(upstream: string, rewriteRequest: Rewrite, rewriteAnswer: Answer, mapUrl: (url: URL) => void = () => {}): Promise<Proxy> {
  const server = http.createServer(async (req, res) => {
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const url = new URL(req.url ?? "/", upstream);
      const query = new URLSearchParams(url.searchParams);
      mapUrl(url);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "content-length") headers.set(k, v);
      const request = { method: req.method ?? "GET", path: url.pathname, headers, body: Buffer.concat(chunks).toString("utf8") };
      await rewriteRequest(request);
      url.pathname = request.path;
      const r = await fetch(url, { method: request.method, headers: request.headers, ...(request.body && request.method !== "GET" ? { body: request.body } : {}) });
      const answer = { status: r.status, headers: new Headers(r.headers), body: await r.text() };
      await rewriteAnswer(answer, { method: request.method, path: url.pathname, query });
      answer.headers.delete("content-length");
      answer.headers.delete("content-encoding");
      answer.headers.delete("transfer-encoding");
      res.writeHead(answer.status, Object.fromEntries(answer.headers));
      res.end(answer.body);
    } catch (e) {
      res.writeHead(502).end(String(e));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The example backend at `upstream` with one rule of the contract broken. */
export async function brokenApi(upstream: string, fault: ApiFault, databaseUrl: string): Promise<Proxy> {
  const db = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  db.on("error", () => undefined); // a client still ending when the test's server stops
  let deletes = 0;
  const p = await proxy(
    upstream,
    (req) => {
      // Sent to a path the backend answers 404 for; the answer is turned into a 500 below.
      if (fault === "first-delete-fails" && req.method === "DELETE" && deletes++ === 0) req.path = "/__fail";
      if (fault === "no-idempotency") {
        req.headers.delete("idempotency-key");
        req.headers.delete("x-change-id");
      }
      if (fault === "replace-key" && req.method === "POST" && req.body) {
        const body = JSON.parse(req.body) as Record<string, unknown>;
        if (typeof body.id === "string") req.body = JSON.stringify({ ...body, id: randomUUID() });
      }
    },
    async (res, req) => {
      if (req.path === "/__fail") {
        res.status = 500;
        res.headers.set("content-type", "text/plain");
        res.body = "Internal Server Error";
        return;
      }
      if (!res.headers.has("x-txid")) return;
      if (fault === "no-created-key" && req.method === "POST" && res.status < 300) {
        const { id: _, ...rest } = JSON.parse(res.body) as Record<string, unknown>;
        res.body = JSON.stringify(rest);
      }
      if (fault === "no-txid") res.headers.delete("x-txid");
      if (fault === "xid8-txid") res.headers.set("x-txid", String(BigInt(res.headers.get("x-txid")!) + (1n << 32n)));
      if (fault === "txid-in-body") {
        const txid = res.headers.get("x-txid")!;
        res.headers.delete("x-txid");
        res.headers.set("content-type", "application/json");
        if (res.status === 204) res.status = 200;
        res.body = JSON.stringify({ ...(res.body ? (JSON.parse(res.body) as object) : {}), txid });
      }
      if (fault === "other-txid") {
        const { rows } = await db.query<{ txid: string }>("SELECT pg_current_xact_id()::xid::text AS txid");
        res.headers.set("x-txid", rows[0]!.txid);
      }
    },
  );
  return { url: p.url, close: async () => (await p.close(), await db.end()) };
}

/**
 * A shape proxy in front of the shape double that scopes a table to the rows `visible` accepts
 * (a tenant, say). With `forwardWhere`, a request that brings its own `where` gets the client's
 * scope instead of the proxy's: the double has no `where`, so `where=true` (the only one doctor
 * sends) is applied as "every row", which is what Electric would do with it.
 */
export async function scopingShapeProxy(shapeUrl: string, visible: (row: Record<string, unknown>) => boolean, forwardWhere: boolean, dropHeaders: string[] = []): Promise<Proxy> {
  const upstream = new URL(shapeUrl);
  return proxy(
    upstream.origin,
    () => {},
    (res, req) => {
      for (const h of dropHeaders) res.headers.delete(h);
      if (forwardWhere && req.query.get("where") === "true") return;
      if (res.status !== 200) return;
      const messages = JSON.parse(res.body) as { value?: Record<string, unknown>; headers: { operation?: string } }[];
      res.body = JSON.stringify(messages.filter((m) => !m.headers.operation || !m.value || visible(m.value)));
    },
    (url) => url.searchParams.delete("where"),
  );
}

/** `upstream` behind a check of one header: requests without `name: value` get a 401 problem. */
export async function requireHeader(upstream: string, name: string, value: string): Promise<Proxy> {
  return proxy(
    upstream,
    (req) => {
      if (req.headers.get(name) !== value) req.path = "/__unauthorized";
    },
    (res, req) => {
      if (req.path !== "/__unauthorized") return;
      res.status = 401;
      res.headers = new Headers({ "content-type": "application/problem+json" });
      res.body = JSON.stringify({ title: "Unauthorized", status: 401 });
    },
  );
}
