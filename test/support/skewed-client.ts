/**
 * A generated client in its own process with a wrong clock, driven over IPC by a test. The clock
 * is `Date` shifted by `skewMs`; PGlite's `now()` reads the same clock, so the local database is
 * off by as much.
 */
import { fileURLToPath } from "node:url";
import { forkChild, serveParent } from "./child-ipc.js";
import type { Row, SyncClient } from "./sync-client.js";

export interface SkewedClient {
  sql<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Moves this client's clock by `ms` (negative: back). */
  jump(ms: number): Promise<void>;
  status(): Promise<{ queued: number; failed: number; lastError: string | null }>;
  stop(): Promise<void>;
}

export interface SkewedClientOptions {
  clientDir: string;
  apiUrl: string;
  shapeUrl: string;
  dataDir: string;
  skewMs: number;
  backoff?: { initialMs: number; maxMs: number };
}

/** Starts a client process; resolves once its shapes caught up. */
export async function startSkewedClient(o: SkewedClientOptions): Promise<SkewedClient> {
  const child = await forkChild(fileURLToPath(import.meta.url), { SKEWED_CLIENT: JSON.stringify(o) });
  return {
    sql: (sql, params = []) => child.call("sql", { sql, params }),
    jump: async (ms) => void (await child.call("jump", { ms })),
    status: () => child.call("status"),
    stop: child.stop,
  };
}

function runChild(o: SkewedClientOptions): void {
  const RealDate = Date;
  let skew = o.skewMs;
  class SkewedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(RealDate.now() + skew);
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return RealDate.now() + skew;
    }
  }
  globalThis.Date = SkewedDate as DateConstructor;

  const started = (async () => {
    const client = (await import(`${o.clientDir}/index.ts`)) as SyncClient;
    const db = await client.createDatabase({ dataDir: o.dataDir });
    const engine = await client.startSync({ db, apiUrl: o.apiUrl, electricUrl: o.shapeUrl, ...(o.backoff ? { backoff: o.backoff } : {}) });
    return { db, engine };
  })();
  serveParent({
    ready: async () => void (await (await started).engine.ready),
    sql: async (m) => (await (await started).db.pg.query(m.sql as string, m.params as unknown[])).rows,
    jump: (m) => void (skew += m.ms as number),
    status: async () => (await started).engine.writer.status(),
    stop: async () => {
      const { db, engine } = await started;
      await engine.stop();
      await db.close();
      setImmediate(() => process.exit(0));
    },
  });
}

if (process.env.SKEWED_CLIENT && process.argv[1] === fileURLToPath(import.meta.url)) runChild(JSON.parse(process.env.SKEWED_CLIENT) as SkewedClientOptions);
