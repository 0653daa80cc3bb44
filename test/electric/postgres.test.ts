/**
 * The PostgreSQL test harness (packages/dev-postgres, with the vitest hooks of test/support/postgres): a real server from the machine's
 * binaries, run as a non-root user when the tests run as root, that never outlives its owner.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { pgRunAs, startPostgres, usePostgres } from "../support/postgres/index.js";

const shared = usePostgres();
const sharedAgain = usePostgres();

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const waitUntil = async (what: string, predicate: () => boolean, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const postmasterPid = (dir: string) => Number(fs.readFileSync(path.join(dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);

describe("startPostgres", () => {
  it("serves a fresh cluster with logical replication on 127.0.0.1, as a non-root user", async () => {
    const s = shared();
    expect(sharedAgain()).toBe(s); // one server per test file
    expect(s.url).toBe(`postgres://postgres@127.0.0.1:${s.port}/postgres`);
    const r = await s.query<{ wal_level: string; slots: string; senders: string; sock: string; listen: string }>(
      `SELECT current_setting('wal_level') AS wal_level, current_setting('max_replication_slots') AS slots,
              current_setting('max_wal_senders') AS senders, current_setting('unix_socket_directories') AS sock,
              current_setting('listen_addresses') AS listen`,
    );
    expect(r.rows[0]).toEqual({ wal_level: "logical", slots: "32", senders: "32", sock: s.dir, listen: "127.0.0.1" });
    const owner = fs.statSync(path.join(s.dir, "data")).uid;
    if (process.getuid?.() === 0) {
      expect(owner).not.toBe(0);
      expect(owner).toBe(pgRunAs()?.uid);
    } else {
      expect(owner).toBe(process.getuid?.());
    }
    // Logical decoding works (test_decoding is there).
    const url = await s.createDatabase();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(`SELECT pg_create_logical_replication_slot('probe', 'test_decoding', true)`);
      await c.query(`CREATE TABLE t (id int PRIMARY KEY)`);
      await c.query(`INSERT INTO t VALUES (1)`);
      const changes = await c.query<{ data: string }>(`SELECT data FROM pg_logical_slot_get_changes('probe', NULL, NULL)`);
      expect(changes.rows.map((x) => x.data)).toContain("table public.t: INSERT: id[integer]:1");
    } finally {
      await c.end();
    }
  });

  it("stop() shuts the server down and removes its folder", async () => {
    const s = await startPostgres();
    const pid = postmasterPid(s.dir);
    expect(alive(pid)).toBe(true);
    await s.stop();
    expect(fs.existsSync(s.dir)).toBe(false);
    await waitUntil("postgres is gone", () => !alive(pid));
    await expect(new pg.Client({ connectionString: s.url, connectionTimeoutMillis: 2000 }).connect()).rejects.toThrow();
    await s.stop(); // idempotent
  });

  it("a server whose owner process is killed (SIGKILL) stops and cleans up by itself", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-pg-owner-"));
    const script = path.join(dir, "owner.mts");
    const harness = path.resolve(import.meta.dirname, "../support/postgres/index.ts");
    fs.writeFileSync(
      script,
      `import { startPostgres } from ${JSON.stringify(harness)};\n` +
        `const s = await startPostgres();\nconsole.log(JSON.stringify({ dir: s.dir }));\nsetInterval(() => {}, 1000);\n`,
    );
    // One node process (tsx as a loader, not its CLI, which would add a parent process).
    const repo = path.resolve(import.meta.dirname, "../..");
    const owner = spawn(process.execPath, ["--import", "tsx", script], { cwd: repo, stdio: ["ignore", "pipe", "inherit"] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = "";
        owner.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const nl = out.indexOf("\n");
          if (nl >= 0) resolve(out.slice(0, nl));
        });
        owner.once("exit", (code) => reject(new Error(`owner exited early (${code})`)));
      });
      const pgDir = (JSON.parse(line) as { dir: string }).dir;
      const pid = postmasterPid(pgDir);
      expect(alive(pid)).toBe(true);
      owner.kill("SIGKILL"); // no exit handlers run: the watchdog must notice on its own
      await waitUntil("the orphaned postgres stops", () => !alive(pid));
      await waitUntil("its folder is removed", () => !fs.existsSync(pgDir));
    } finally {
      owner.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
