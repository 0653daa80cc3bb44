/**
 * A small REST backend whose keys the server assigns (serial primary keys), for the tests of
 * server-assigned keys (docs/backend.md, "Keys"). Each write runs in one transaction, answers
 * with the row and its txid (`X-Txid`), and is applied once per Idempotency-Key (a repeated key
 * replays the stored answer).
 *
 * Resources (`/projects`, `/tasks`, `/projects/{project_id}/notes`): GET lists, POST creates (the key in
 * the body is ignored: the server assigns it), PATCH updates the given columns, DELETE deletes;
 * 404 for a missing row, 422 for a foreign key that does not exist or a missing or invalid value;
 * errors are problem+json.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";

export const SERIAL_SCHEMA = `
CREATE TABLE projects (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE tasks (id serial PRIMARY KEY, project_id integer NOT NULL REFERENCES projects (id), title text NOT NULL, done boolean NOT NULL DEFAULT false);
CREATE TABLE notes (id serial PRIMARY KEY, project_id integer NOT NULL REFERENCES projects (id), body text NOT NULL);
ALTER TABLE projects REPLICA IDENTITY FULL;
ALTER TABLE tasks REPLICA IDENTITY FULL;
ALTER TABLE notes REPLICA IDENTITY FULL;
CREATE TABLE idempotency (key text PRIMARY KEY, status integer NOT NULL, body text, txid text NOT NULL);
`;

const COLUMNS: Record<string, string[]> = { projects: ["name"], tasks: ["project_id", "title", "done"], notes: ["project_id", "body"] };

export interface SerialBackend {
  url: string;
  /** Every write request, in order: `POST /projects`. */
  requests: string[];
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body?: unknown;
}

/** Routes a write to its table, the row's key and the parent key from the path. */
function route(method: string, path: string): { table: string; id?: number; parent?: number } | undefined {
  const nested = /^\/projects\/(\d+)\/notes(?:\/(\d+))?$/.exec(path);
  if (nested) return { table: "notes", parent: Number(nested[1]), ...(nested[2] ? { id: Number(nested[2]) } : {}) };
  const flat = /^\/(projects|tasks)(?:\/(\d+))?$/.exec(path);
  if (flat) return { table: flat[1]!, ...(flat[2] ? { id: Number(flat[2]) } : {}) };
  void method;
  return undefined;
}

async function apply(tx: pg.PoolClient, method: string, path: string, body: Record<string, unknown>): Promise<Reply> {
  const r = route(method, path);
  if (!r) return { status: 404, body: { title: "Not found" } };
  const values: Record<string, unknown> = { ...body, ...(r.parent !== undefined ? { project_id: r.parent } : {}) };
  const cols = COLUMNS[r.table]!.filter((c) => c in values);
  if (method === "POST" && r.id === undefined) {
    const insert = cols.length ? `(${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")})` : "DEFAULT VALUES";
    const q = await tx.query(`INSERT INTO ${r.table} ${insert} RETURNING *`, cols.map((c) => values[c]));
    return { status: 201, body: q.rows[0] };
  }
  if (r.id === undefined) return { status: 405 };
  const scope = r.parent !== undefined ? ` AND project_id = ${r.parent}` : "";
  if (method === "PATCH") {
    if (!cols.length) return { status: 422, body: { title: "Nothing to change" } };
    const q = await tx.query(`UPDATE ${r.table} SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(", ")} WHERE id = $1${scope} RETURNING *`, [r.id, ...cols.map((c) => values[c])]);
    return q.rows[0] ? { status: 200, body: q.rows[0] } : { status: 404, body: { title: "Not found" } };
  }
  if (method === "DELETE") {
    const q = await tx.query(`DELETE FROM ${r.table} WHERE id = $1${scope}`, [r.id]);
    return q.rowCount ? { status: 204 } : { status: 404, body: { title: "Not found" } };
  }
  return { status: 405 };
}

export async function startSerialBackend(databaseUrl: string): Promise<SerialBackend> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  pool.on("error", () => undefined); // a client still ending when the test's server stops
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString("utf8")));
    req.on("end", () => {
      void (async () => {
        const method = req.method ?? "GET";
        const path = new URL(req.url ?? "/", "http://x").pathname;
        const key = req.headers["idempotency-key"];
        const list = method === "GET" ? route(method, path) : undefined;
        if (list && list.id === undefined) {
          // A list (not a write: not in `requests`).
          const q = await pool.query(`SELECT * FROM ${list.table}${list.parent !== undefined ? ` WHERE project_id = ${list.parent}` : ""} ORDER BY id`);
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(q.rows));
          return;
        }
        const tx = await pool.connect();
        let reply: Reply;
        let txid = "";
        try {
          await tx.query("BEGIN");
          const stored = typeof key === "string" ? (await tx.query(`SELECT status, body, txid FROM idempotency WHERE key = $1`, [key])).rows[0] : undefined;
          if (stored) {
            await tx.query("ROLLBACK");
            reply = { status: stored.status as number, ...(stored.body !== null ? { body: JSON.parse(stored.body as string) as unknown } : {}) };
            txid = stored.txid as string;
          } else {
            requests.push(`${method} ${path}`);
            reply = await apply(tx, method, path, text ? (JSON.parse(text) as Record<string, unknown>) : {});
            txid = (await tx.query(`SELECT pg_current_xact_id()::xid::text AS t`)).rows[0].t as string;
            if (reply.status < 300) {
              if (typeof key === "string") await tx.query(`INSERT INTO idempotency (key, status, body, txid) VALUES ($1, $2, $3, $4)`, [key, reply.status, reply.body === undefined ? null : JSON.stringify(reply.body), txid]);
              await tx.query("COMMIT");
            } else await tx.query("ROLLBACK");
          }
        } catch (error) {
          await tx.query("ROLLBACK").catch(() => {});
          const e = error as { code?: string; message: string };
          reply =
            e.code === "23503"
              ? { status: 422, body: { title: "Unknown reference", detail: e.message } }
              : e.code === "23502" || e.code?.startsWith("22")
                ? { status: 422, body: { title: "Invalid row", detail: e.message } }
                : { status: 500, body: { title: e.message } };
        } finally {
          tx.release();
        }
        const type = reply.status < 300 ? "application/json" : "application/problem+json";
        res.writeHead(reply.status, { ...(reply.body !== undefined ? { "content-type": type } : {}), ...(reply.status < 300 ? { "x-txid": txid } : {}) });
        res.end(reply.body !== undefined ? JSON.stringify(reply.body) : undefined);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => {
      await new Promise((resolve) => server.close(resolve));
      await pool.end();
    },
  };
}
