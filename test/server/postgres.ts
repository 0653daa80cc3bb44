/**
 * A throwaway PostgreSQL for the example-backend tests: initdb into a temp dir, pg_ctl start on
 * 127.0.0.1 and a free port, trust auth, `wal_level=logical`. initdb refuses to run as root, so
 * as root the cluster is created and run as `nobody` (through runuser) in a directory it owns.
 *
 * Local to test/server/ until the shared helper in test/support/postgres/ exists.
 */
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const BIN = process.env.PG_BIN ?? "/usr/local/bin";
const RUN_AS = "nobody";

export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<TestPostgres> {
  const root = process.getuid?.() === 0;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sp-pg-"));
  const data = path.join(dir, "data");
  const log = path.join(dir, "postgres.log");
  if (root) {
    await fs.chmod(dir, 0o755);
    const { stdout } = await run("id", ["-u", RUN_AS]);
    const uid = Number(stdout.trim());
    const gid = Number((await run("id", ["-g", RUN_AS])).stdout.trim());
    await fs.chown(dir, uid, gid);
  }
  const pg = (bin: string, args: string[]) =>
    root ? run("runuser", ["-u", RUN_AS, "--", path.join(BIN, bin), ...args]) : run(path.join(BIN, bin), args);

  await pg("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"]);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c wal_level=logical",
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
  ].join(" ");
  try {
    await pg("pg_ctl", ["start", "-D", data, "-l", log, "-w", "-t", "60", "-o", options]);
  } catch (err) {
    const text = await fs.readFile(log, "utf8").catch(() => "");
    await fs.rm(dir, { recursive: true, force: true });
    throw new Error(`postgres did not start: ${String(err)}\n${text}`);
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      await pg("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"]).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
