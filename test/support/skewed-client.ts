/**
 * A generated client in its own process with a wrong clock, driven over IPC by a test
 * (see `startSkewedClient`). The clock is `Date` shifted by `skewMs`; PGlite's `now()` reads the
 * same clock, so the local database is off by as much. Exits when its parent goes away.
 *
 * Run as a child: `node --import tsx skewed-client.ts` with CLIENT_DIR, API_URL, SHAPE_URL,
 * DATA_DIR, SKEW_MS and BACKOFF (JSON) in the environment.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Row, SyncClient } from "./sync-client.js";

export type Command =
  | { cmd: "sql"; sql: string; params?: unknown[] }
  | { cmd: "jump"; ms: number }
  | { cmd: "status" }
  | { cmd: "stop" };

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
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ["--import", "tsx"],
    env: {
      ...process.env,
      CLIENT_DIR: o.clientDir,
      API_URL: o.apiUrl,
      SHAPE_URL: o.shapeUrl,
      DATA_DIR: o.dataDir,
      SKEW_MS: String(o.skewMs),
      BACKOFF: JSON.stringify(o.backoff ?? {}),
    },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  type Reply = { id: number; ok: boolean; value?: unknown; error?: string };
  const replies = new Map<number, (r: Reply) => void>();
  let nextId = 0;
  child.on("message", (m) => {
    const r = m as Reply;
    replies.get(r.id)?.(r);
    replies.delete(r.id);
  });
  let gone = false;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      gone = true;
      for (const settle of replies.values()) settle({ id: -1, ok: false, error: "the client process exited" });
      replies.clear();
      resolve();
    }),
  );
  const call = (command: Command | { cmd: "ready" }): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (gone) return reject(new Error("the client process has exited"));
      const id = nextId++;
      replies.set(id, (r) => (r.ok ? resolve(r.value) : reject(new Error(r.error))));
      child.send({ ...command, id });
    });
  await Promise.race([call({ cmd: "ready" }), exited.then(() => Promise.reject(new Error("the client process exited before it was ready")))]);
  return {
    sql: async <T>(sql: string, params?: unknown[]) => (await call({ cmd: "sql", sql, ...(params ? { params } : {}) })) as T[],
    jump: async (ms) => void (await call({ cmd: "jump", ms })),
    status: async () => (await call({ cmd: "status" })) as { queued: number; failed: number; lastError: string | null },
    stop: async () => {
      await call({ cmd: "stop" }).catch(() => undefined);
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The child

async function runChild(parent: ChildProcess | NodeJS.Process): Promise<void> {
  const RealDate = Date;
  let skew = Number(process.env.SKEW_MS ?? 0);
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

  const client = (await import(`${process.env.CLIENT_DIR}/index.ts`)) as SyncClient;
  const db = await client.createDatabase({ dataDir: process.env.DATA_DIR! });
  const engine = await client.startSync({
    db,
    apiUrl: process.env.API_URL!,
    electricUrl: process.env.SHAPE_URL!,
    ...(process.env.BACKOFF && process.env.BACKOFF !== "{}" ? { backoff: JSON.parse(process.env.BACKOFF) as { initialMs: number; maxMs: number } } : {}),
  });
  parent.on("disconnect", () => process.exit(0));
  parent.on("message", (raw) => {
    const m = raw as (Command | { cmd: "ready" }) & { id: number };
    const run = async (): Promise<unknown> => {
      switch (m.cmd) {
        case "ready":
          return engine.ready;
        case "sql":
          return (await db.pg.query(m.sql, m.params)).rows;
        case "jump":
          skew += m.ms;
          return undefined;
        case "status":
          return engine.writer.status();
        case "stop":
          await engine.stop();
          await db.close();
          setImmediate(() => process.exit(0));
          return undefined;
      }
    };
    run().then(
      (value) => void parent.send?.({ id: m.id, ok: true, value: value === undefined ? null : JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v))) }),
      (error: unknown) => void parent.send?.({ id: m.id, ok: false, error: String((error as Error)?.message ?? error) }),
    );
  });
}

if (process.env.CLIENT_DIR && process.send && process.argv[1] === fileURLToPath(import.meta.url)) void runChild(process);
