/**
 * A misbehaving HTTP cache in front of a shape server, for delivery-fault tests: it forwards
 * shape requests, remembers the responses that carried changes, and on a fixed schedule answers
 * a request with one of them instead of asking the server:
 *  - duplicate: the newest remembered response of that shape again (the client sees the same
 *    changes twice, at the same offset);
 *  - stale: an older one (changes the client has applied already arrive after newer ones, and
 *    the client's offset moves back, so what follows replays from there);
 *  - broken: `200 []` without Electric's headers, as from a proxy that strips them.
 * Responses are only replayed to requests of the same kind (live or not), as a cache keyed by
 * URL would.
 * Listens on 127.0.0.1 on a free port; `stop()` ends held requests.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ChaosProxyOptions {
  /** The shape server's base URL, e.g. `http://127.0.0.1:1234`. */
  target: string;
  /** Every n-th request that names a handle and an offset is answered with a duplicate. */
  duplicateEvery?: number;
  /** Every n-th such request is answered with a stale response ... */
  staleEvery?: number;
  /** ... this many responses older than the newest. Default 2. */
  staleDepth?: number;
  /** Every n-th such request gets a broken answer. */
  breakEvery?: number;
}

export interface ChaosProxy {
  url: string;
  /** `http://127.0.0.1:<port>/v1/shape` */
  shapeUrl: string;
  /** What was injected so far. */
  readonly injected: { forwarded: number; duplicated: number; stale: number; broken: number };
  stop(): Promise<void>;
}

interface Recorded {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Hop-by-hop or recomputed headers: not replayed. */
const DROPPED = new Set(["content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive", "date"]);

export async function startChaosProxy(options: ChaosProxyOptions): Promise<ChaosProxy> {
  const injected = { forwarded: 0, duplicated: 0, stale: 0, broken: 0 };
  const history = new Map<string, Recorded[]>();
  const staleDepth = options.staleDepth ?? 2;
  let resumed = 0;

  const send = (res: http.ServerResponse, r: Recorded): void => {
    res.writeHead(r.status, r.headers);
    res.end(r.body);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const handle = url.searchParams.get("handle");
    const offset = url.searchParams.get("offset");
    const kind = `${url.searchParams.get("table")}|${url.searchParams.get("live") === "true" ? "live" : "catch-up"}`;
    const key = `${kind}|${handle}`;
    const past = history.get(key) ?? [];
    if (handle && offset && offset !== "-1") {
      resumed++;
      if (options.breakEvery && resumed % options.breakEvery === 0) {
        injected.broken++;
        return send(res, { status: 200, headers: { "content-type": "application/json" }, body: "[]" });
      }
      if (options.duplicateEvery && resumed % options.duplicateEvery === 0 && past.length) {
        injected.duplicated++;
        return send(res, past[past.length - 1]!);
      }
      if (options.staleEvery && resumed % options.staleEvery === 0 && past.length > staleDepth) {
        injected.stale++;
        return send(res, past[past.length - 1 - staleDepth]!);
      }
    }
    const abort = new AbortController();
    res.once("close", () => abort.abort());
    void (async () => {
      try {
        const upstream = await fetch(new URL(url.pathname + url.search, options.target), { method: req.method ?? "GET", signal: abort.signal });
        const recorded: Recorded = {
          status: upstream.status,
          headers: Object.fromEntries([...upstream.headers].filter(([name]) => !DROPPED.has(name))),
          body: await upstream.text(),
        };
        injected.forwarded++;
        if (recorded.status === 200 && carriesChanges(recorded.body)) {
          const shapeKey = `${kind}|${recorded.headers["electric-handle"] ?? handle}`;
          history.set(shapeKey, [...(history.get(shapeKey) ?? []), recorded]);
        }
        send(res, recorded);
      } catch {
        if (!res.headersSent) res.destroy();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    shapeUrl: `${url}/v1/shape`,
    injected,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function carriesChanges(body: string): boolean {
  try {
    const messages = JSON.parse(body) as { headers?: { operation?: string } }[];
    return Array.isArray(messages) && messages.some((m) => m.headers?.operation !== undefined);
  } catch {
    return false;
  }
}
