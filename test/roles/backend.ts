/**
 * The roles tests' own small backend (node:http on 127.0.0.1, a free port): the contacts REST API
 * and the shape proxy, both from the generated server files. Every write is checked with
 * `checkWrite` from `sync-patterns/server` against `server/permissions.json` and the caller's
 * membership in Postgres (403 problem+json when refused); the shape proxy serves each user their
 * own memberships (`user_id = $1`) and the contacts of the households they are a member of
 * (`household_id IN (…)`, read again for every request, so a revoked role changes the shape).
 * Users sign in with `Authorization: Bearer token-<user>`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { checkWrite, createShapeProxy, shapesFromSpec, toNodeHandler, type SpecPermissions, type SpecShapes } from "../../src/server/index.js";

export const ROLES_SCHEMA = `
CREATE TABLE household_members (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id text NOT NULL, household_id text NOT NULL, role text NOT NULL, UNIQUE (user_id, household_id));
CREATE TABLE contacts (id uuid PRIMARY KEY, household_id text NOT NULL, notes text, secret_note text, name text, nickname text, budget integer, credit_limit integer);
CREATE INDEX ON contacts (household_id);
ALTER TABLE household_members REPLICA IDENTITY FULL;
ALTER TABLE contacts REPLICA IDENTITY FULL;
`;

const CONTACT_COLUMNS = ["household_id", "notes", "secret_note", "name", "nickname", "budget", "credit_limit"];

interface User {
  id: string;
}

export interface RolesBackend {
  /** The API base URL; the shape proxy is `${url}/v1/shape`. */
  url: string;
  /** Every write's answer, in order: `PATCH /contacts/… 403`. */
  answers: string[];
  close(): Promise<void>;
}

export async function startRolesBackend(opts: { databaseUrl: string; electricUrl: string; shapes: SpecShapes; permissions: SpecPermissions }): Promise<RolesBackend> {
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 4 });
  pool.on("error", () => undefined);
  const authenticate = (request: { headers: { get(name: string): string | null } }): User | null => {
    const m = /^Bearer token-([a-z]+)$/.exec(request.headers.get("authorization") ?? "");
    return m ? { id: m[1]! } : null;
  };
  const shapeProxy = toNodeHandler(
    createShapeProxy<User>({
      electricUrl: opts.electricUrl,
      authenticate,
      shapes: shapesFromSpec<User>(opts.shapes, {
        scope: async (user, shape) =>
          shape.scope === "user_id" ? user.id : (await pool.query<{ h: string }>(`SELECT household_id AS h FROM household_members WHERE user_id = $1`, [user.id])).rows.map((r) => r.h),
      }),
    }),
  );
  const answers: string[] = [];

  const write = async (user: User, method: string, id: string | undefined, body: Record<string, unknown>): Promise<{ status: number; body?: unknown; txid?: string }> => {
    const tx = await pool.connect();
    try {
      await tx.query("BEGIN");
      const roleOf = async (household: unknown) =>
        (await tx.query<{ role: string }>(`SELECT role FROM household_members WHERE user_id = $1 AND household_id = $2`, [user.id, String(household)])).rows[0]?.role ?? null;
      const stored = id === undefined ? undefined : (await tx.query(`SELECT * FROM contacts WHERE id = $1 FOR UPDATE`, [id])).rows[0];
      // Another household's row, or none: 404 (the caller learns nothing about it).
      if (id !== undefined && (!stored || (await roleOf(stored.household_id)) === null)) {
        await tx.query("ROLLBACK");
        return { status: 404, body: { title: "Not found", status: 404 } };
      }
      const op = method === "POST" ? "create" : method === "PATCH" ? "update" : "delete";
      const refused = await checkWrite(opts.permissions, { entity: "contacts", op, row: op === "create" ? body : stored, values: body, roleOf });
      if (refused) {
        await tx.query("ROLLBACK");
        return { status: refused.status, body: await refused.json() };
      }
      const cols = CONTACT_COLUMNS.filter((c) => c in body);
      let row: unknown;
      if (op === "create") row = (await tx.query(`INSERT INTO contacts (id, ${cols.join(", ")}) VALUES ($1, ${cols.map((_, i) => `$${i + 2}`).join(", ")}) RETURNING *`, [body.id, ...cols.map((c) => body[c])])).rows[0];
      else if (op === "update") row = cols.length ? (await tx.query(`UPDATE contacts SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(", ")} WHERE id = $1 RETURNING *`, [id, ...cols.map((c) => body[c])])).rows[0] : stored;
      else await tx.query(`DELETE FROM contacts WHERE id = $1`, [id]);
      const txid = (await tx.query<{ t: string }>(`SELECT pg_current_xact_id()::xid::text AS t`)).rows[0]!.t;
      await tx.query("COMMIT");
      return { status: op === "create" ? 201 : op === "update" ? 200 : 204, ...(row ? { body: row } : {}), txid };
    } catch (error) {
      await tx.query("ROLLBACK").catch(() => undefined);
      return { status: 422, body: { title: "Invalid", detail: (error as Error).message } };
    } finally {
      tx.release();
    }
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/v1/shape") return void shapeProxy(req, res);
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString("utf8")));
    req.on("end", () => {
      void (async () => {
        const user = authenticate({ headers: { get: (name) => (req.headers[name] as string | undefined) ?? null } });
        const m = /^\/contacts(?:\/([0-9a-f-]{36}))?$/.exec(url.pathname);
        const method = req.method ?? "GET";
        let reply: { status: number; body?: unknown; txid?: string };
        if (!user) reply = { status: 401, body: { title: "Unauthorized", status: 401 } };
        else if (!m || (method === "POST") !== (m[1] === undefined) || !["POST", "PATCH", "DELETE"].includes(method)) reply = { status: 404, body: { title: "Not found", status: 404 } };
        else reply = await write(user, method, m[1], text ? (JSON.parse(text) as Record<string, unknown>) : {});
        answers.push(`${method} ${url.pathname} ${reply.status}`);
        const type = reply.status < 300 ? "application/json" : "application/problem+json";
        res.writeHead(reply.status, { ...(reply.body !== undefined ? { "content-type": type } : {}), ...(reply.txid ? { "x-txid": reply.txid } : {}) });
        res.end(reply.body !== undefined ? JSON.stringify(reply.body) : undefined);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answers,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await pool.end();
    },
  };
}
