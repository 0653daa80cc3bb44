/**
 * A throwaway PostgreSQL server for tests: a fresh cluster (initdb) in a temp folder, started on
 * 127.0.0.1 and a free port with `wal_level=logical`, trust auth, fsync off, and its unix socket
 * in the same temp folder.
 *
 * Lifetime: `stop()` shuts it down and removes the folder. Nothing outlives the test process:
 * - postgres runs under a tiny `sh` watchdog whose stdin is a pipe from this process; when the
 *   pipe closes (stop(), normal exit, crash, SIGKILL of the test worker) the watchdog shuts
 *   postgres down (fast shutdown) and deletes the folder;
 * - a `process.on("exit")` handler also sends SIGQUIT (immediate shutdown) to the postmaster and
 *   removes the folder synchronously.
 *
 * As root, initdb and postgres run as the `postgres` (or `nobody`) user; see binaries.ts.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { findPgBinaries, pgRunAs, type RunAs } from "./binaries.js";

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (superuser `postgres`, trust auth). */
  url: string;
  host: string;
  port: number;
  /** The temp folder: `data/` (the cluster), `postgres.log`, and the unix socket. */
  dir: string;
  /** URL of another database on this server. */
  urlFor(database: string): string;
  /** Creates a fresh, empty database (name generated unless given) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Runs one statement on the `postgres` database (through a small shared pool). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Stops the server (fast shutdown) and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Extra or overriding `postgresql.conf` settings, passed as `-c name=value`. */
  settings?: Record<string, string | number | boolean>;
  /** How long to wait for the server to accept connections. Default 60 s. */
  startTimeoutMs?: number;
}

const DEFAULT_SETTINGS: Record<string, string | number | boolean> = {
  wal_level: "logical",
  max_replication_slots: 32,
  max_wal_senders: 32,
  max_connections: 200,
  // fsync off makes a flush cheap. synchronous_commit stays on: logical decoding only sees
  // flushed WAL, and with it off a commit reaches the slot only at the WAL writer's next
  // round (wal_writer_delay, 200 ms), which slows every change feed.
  fsync: false,
  full_page_writes: false,
  wal_writer_delay: "10ms",
  // Anonymous shared memory through files in the data dir: containers often have a tiny /dev/shm.
  dynamic_shared_memory_type: "mmap",
  log_min_messages: "warning",
};

/**
 * The watchdog: starts postgres (stdout/stderr to postgres.log), prints its pid, waits for EOF
 * on stdin, then shuts postgres down and removes the folder. `$1` is the folder, the rest is the
 * postgres command line.
 */
const WATCHDOG = `
dir="$1"; shift
"$@" >"$dir/postgres.log" 2>&1 &
pid=$!
trap '' INT TERM HUP
echo "$pid"
cat >/dev/null
kill -INT "$pid" 2>/dev/null
wait "$pid"
rm -rf "$dir"
`;

const live = new Set<{ pid: number; dir: string }>();
let exitHandlerInstalled = false;

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on("exit", () => {
    for (const s of live) {
      try {
        process.kill(s.pid, "SIGQUIT");
      } catch {
        // already gone
      }
      fs.rmSync(s.dir, { recursive: true, force: true });
    }
  });
}

export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function childEnv(user: RunAs | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: "C", LANG: "C" };
  delete env.PGDATA;
  delete env.PGHOST;
  delete env.PGPORT;
  if (user) {
    env.HOME = user.home;
    env.USER = user.name;
    env.LOGNAME = user.name;
  }
  return env;
}

function initCluster(initdb: string, dataDir: string, cwd: string, user: RunAs | undefined): void {
  const args = ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"];
  const r = spawnSync(initdb, args, {
    cwd,
    env: childEnv(user),
    encoding: "utf8",
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  if (r.status !== 0) {
    throw new Error(`initdb failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout ?? ""}${r.stderr ?? ""}`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Connects until the server answers; fails at once if the postmaster died (bad config, port taken). */
async function waitReady(url: string, pid: number, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.query("SELECT 1");
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (!isAlive(pid) || Date.now() > deadline) {
        const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "";
        throw new Error(`postgres did not start (${String(err)}):\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  return start(options, 1);
}

/**
 * Where to make the temp folder: os.tmpdir(), unless the server runs as another user who
 * can't reach it (TMPDIR under /root) or the unix socket path would be too long (~107 bytes).
 */
function tempBase(user: RunAs | undefined): string {
  const base = os.tmpdir();
  const reachable = (dir: string): boolean => {
    for (let d = path.resolve(dir); ; d = path.dirname(d)) {
      if ((fs.statSync(d).mode & 0o001) === 0) return false;
      if (d === path.dirname(d)) return true;
    }
  };
  if (base.length > 60 || (user && !reachable(base))) return "/tmp";
  return base;
}

async function start(options: StartPostgresOptions, attempt: number): Promise<PostgresServer> {
  const bins = findPgBinaries();
  const user = pgRunAs();
  const dir = fs.mkdtempSync(path.join(tempBase(user), "sp-pg-"));
  const dataDir = path.join(dir, "data");
  const logFile = path.join(dir, "postgres.log");
  try {
    if (user) fs.chownSync(dir, user.uid, user.gid);
    initCluster(bins.initdb, dataDir, dir, user);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const settings = { ...DEFAULT_SETTINGS, ...options.settings };
  const port = await freePort();
  const args = ["-D", dataDir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${dir}`];
  for (const [k, v] of Object.entries(settings)) args.push("-c", `${k}=${typeof v === "boolean" ? (v ? "on" : "off") : v}`);
  const child = spawn("/bin/sh", ["-c", WATCHDOG, "sh", dir, bins.postgres, ...args], {
    cwd: dir,
    env: childEnv(user),
    stdio: ["pipe", "pipe", "inherit"],
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  // The pipe must not keep the event loop alive, or a test process that forgets stop() would hang.
  child.unref();
  const stdin = child.stdin as unknown as { unref?: () => void } | null;
  stdin?.unref?.();
  const pid = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) resolve(Number(line));
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`postgres watchdog exited early (${code})`)));
  });
  (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  const entry = { pid, dir };
  live.add(entry);
  installExitHandler();

  const host = "127.0.0.1";
  const urlFor = (database: string) => `postgres://postgres@${host}:${port}/${encodeURIComponent(database)}`;
  const url = urlFor("postgres");
  try {
    await waitReady(url, pid, logFile, options.startTimeoutMs ?? 60_000);
  } catch (err) {
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "";
    const exited = new Promise((r) => child.once("exit", r));
    child.ref();
    child.stdin?.end();
    await exited;
    live.delete(entry);
    if (attempt < 3 && /could not bind|Address already in use/.test(log)) {
      // The free port was taken between probing and binding. The watchdog removed the
      // folder: make a new cluster on another port.
      return start(options, attempt + 1);
    }
    throw err;
  }

  let pool: pg.Pool | undefined;
  let dbCounter = 0;
  let stopping: Promise<void> | undefined;
  const server: PostgresServer = {
    url,
    host,
    port,
    dir,
    urlFor,
    query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]) {
      if (!pool) {
        pool = new pg.Pool({ connectionString: url, max: 4 });
        pool.on("error", () => undefined); // idle clients see the server stop
      }
      return pool.query<R>(sql, params);
    },
    async createDatabase(name?: string) {
      const db = name ?? `test_${process.pid}_${++dbCounter}_${Math.random().toString(36).slice(2, 8)}`;
      await server.query(`CREATE DATABASE "${db.replaceAll('"', '""')}" TEMPLATE template0 ENCODING 'UTF8'`);
      return urlFor(db);
    },
    stop() {
      stopping ??= (async () => {
        await pool?.end().catch(() => undefined);
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((r) => child.once("exit", r));
          child.ref(); // keep this process alive until the watchdog is done
          child.stdin?.end();
          await exited;
        }
        live.delete(entry);
        fs.rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
  return server;
}
