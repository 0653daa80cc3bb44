/**
 * Where the PostgreSQL server binaries are, and which OS user runs them.
 *
 * Binaries: `$PG_BIN` if set, else the first directory on `PATH` that has both `initdb` and
 * `postgres`, else `/usr/local/bin`, else the newest `/usr/lib/postgresql/<ver>/bin` (where
 * Debian's `apt-get install postgresql` puts them; they are not on PATH there).
 *
 * User: initdb and postgres refuse to run as root. When this process is root (CI containers),
 * the cluster is created and run as the `postgres` user if it exists (the Debian package creates
 * it), else as `nobody`, by spawning the binaries with that uid/gid (Node's `spawn({ uid, gid })`,
 * so neither `su` nor `runuser` is needed). Otherwise they run as the current user.
 */
import fs from "node:fs";
import path from "node:path";

export interface PgBinaries {
  dir: string;
  initdb: string;
  postgres: string;
}

export interface RunAs {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

const has = (dir: string, name: string): boolean => {
  try {
    fs.accessSync(path.join(dir, name), fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Compare "15", "16", "9.6" numerically, newest first. */
const byVersionDesc = (a: string, b: string): number => {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pb[i] ?? 0) - (pa[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
};

export function findPgBinaries(): PgBinaries {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  candidates.push(...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean));
  candidates.push("/usr/local/bin");
  const debianRoot = "/usr/lib/postgresql";
  if (fs.existsSync(debianRoot)) {
    const versions = fs.readdirSync(debianRoot).filter((v) => /^\d+(\.\d+)?$/.test(v)).sort(byVersionDesc);
    candidates.push(...versions.map((v) => path.join(debianRoot, v, "bin")));
  }
  const dir = candidates.find((d) => has(d, "initdb") && has(d, "postgres"));
  if (!dir) {
    throw new Error(
      "PostgreSQL server binaries (initdb, postgres) not found on PATH, in /usr/local/bin or in " +
        "/usr/lib/postgresql/*/bin. Install them with `apt-get install -y postgresql` or set PG_BIN.",
    );
  }
  return { dir, initdb: path.join(dir, "initdb"), postgres: path.join(dir, "postgres") };
}

/** The passwd entry of `name`, read from /etc/passwd (no getent needed). */
function passwdEntry(name: string): RunAs | undefined {
  let text: string;
  try {
    text = fs.readFileSync("/etc/passwd", "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const [user, , uid, gid, , home] = line.split(":");
    if (user === name && uid !== undefined && gid !== undefined) {
      return { name, uid: Number(uid), gid: Number(gid), home: home || "/" };
    }
  }
  return undefined;
}

/**
 * The user to run initdb/postgres as: undefined (= this process's user) unless we are root,
 * in which case `postgres` or, failing that, `nobody`.
 */
export function pgRunAs(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const preferred = process.env.PG_RUN_AS;
  const names = preferred ? [preferred] : ["postgres", "nobody"];
  for (const name of names) {
    const entry = passwdEntry(name);
    if (entry && entry.uid !== 0) return entry;
  }
  throw new Error(
    `running as root and no non-root user (${names.join(", ")}) found to run PostgreSQL as; ` +
      "create one (useradd postgres) or set PG_RUN_AS",
  );
}
