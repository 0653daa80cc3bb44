/**
 * The two example backends, started the same way for the tenancy scenarios (parity.test.ts):
 * the Hono finance-tracker server (examples/finance-tracker/server) and the FastAPI example
 * (examples/fastapi). Each runs against its own PostgreSQL database and the shape-protocol double
 * behind its OWN shape proxy (`<api>/v1/shape`), with the client generated from its own spec.
 * A backend says how to sign its users in, how to make a token expire, and which table and
 * columns the scenarios write.
 */
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { DEMO_HOUSEHOLDS } from "../../examples/finance-tracker/server/auth.js";
import { createServer } from "../../examples/finance-tracker/server/server.js";
import { FASTAPI_EXAMPLE, startFastApi } from "../support/fastapi.js";
import { EXAMPLE_SPEC_TEXT, generateClient } from "../support/generated.js";
import type { PostgresServer } from "../support/postgres/index.js";
import { startShapeServer } from "../../packages/shape-server/src/index.js";

export interface GeneratedClient {
  createDatabase(): Promise<{ pg: { query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> }; close(): Promise<void> }>;
  startSync(o: Record<string, unknown>): Promise<{
    ready: Promise<void>;
    shapes: { stats: { applied: number; skipped: number; refetches: number } }[];
    writer: { status(): Promise<{ queued: number; failed: number; lastError: string | null }> };
    stop(): Promise<void>;
  }>;
}

export type Who = "a" | "b";

export interface TenancyBackend {
  name: string;
  /** REST base URL; the shape proxy is `${api}/v1/shape`. */
  api: string;
  client: GeneratedClient;
  /** The scoped table the scenarios use (also its shape name) and its REST collection path. */
  table: string;
  path: string;
  /** A text column of the table the scenarios write labels into. */
  label: string;
  /** A valid create body with that label. */
  body(label: string): Record<string, unknown>;
  /** A local insert (the generated client's view) of a row with key $1 and label $2. */
  localInsert: string;
  /** The server's own insert of a row of household $1 with label $2, returning `id`. */
  serverInsert: string;
  /** The scope value (household) of user a and of user b. */
  household: Record<Who, string>;
  /** A valid bearer token of the user. */
  token(who: Who): Promise<string>;
  /** A token that is valid now and refused after `expire()`. */
  expiringToken(who: Who): Promise<{ token: string; expire(): Promise<void> }>;
  /** The backend's database. */
  sql: pg.Client;
  stop(): Promise<void>;
}

/** The finance-tracker server (Hono): demo users Ada (Lovelace) and Alan (Turing), contacts. */
export async function startHono(postgres: PostgresServer): Promise<TenancyBackend> {
  const databaseUrl = await postgres.createDatabase();
  const sql = new pg.Client(databaseUrl);
  await sql.connect();
  const shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 1000 });
  const out = await generateClient("parity-hono", EXAMPLE_SPEC_TEXT);
  const client = (await import(`${out}/index.ts`)) as GeneratedClient;
  const server = await createServer({ databaseUrl, electricUrl: shapes.shapeUrl, shapesJson: path.join(out, "server/shapes.json"), log: () => {} });
  const emails: Record<Who, string> = { a: "ada@example.com", b: "alan@example.com" };
  const ids: Record<Who, string> = { a: "00000000-0000-4000-8000-0000000000a1", b: "00000000-0000-4000-8000-0000000000b1" };
  const household: Record<Who, string> = { a: DEMO_HOUSEHOLDS[0].id, b: DEMO_HOUSEHOLDS[1].id };
  const token = async (who: Who): Promise<string> => {
    const response = await fetch(`${server.url}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: emails[who], password: "demo" }) });
    if (!response.ok) throw new Error(`login: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { token: string }).token;
  };
  return {
    name: "Hono (examples/finance-tracker/server)",
    api: server.url,
    client,
    table: "contacts",
    path: "/api/contacts",
    label: "first_name",
    body: (label) => ({ first_name: label, last_name: "x" }),
    localInsert: `INSERT INTO contacts (id, first_name, last_name) VALUES ($1, $2, 'x')`,
    serverInsert: `INSERT INTO contacts (household_id, first_name, last_name) VALUES ($1, $2, 'x') RETURNING id::text AS id`,
    household,
    sql,
    token,
    async expiringToken(who) {
      // Sign in, then revoke the user's tokens (users.tokens_valid_after): the server refuses the
      // token from then on, as it refuses one past its `exp` (both end in the same 401).
      const issued = await token(who);
      return { token: issued, expire: async () => void (await sql.query(`UPDATE users SET tokens_valid_after = now() WHERE id = $1`, [ids[who]])) };
    },
    async stop() {
      await server.close();
      await shapes.stop();
      await sql.end();
    },
  };
}

/** The FastAPI example: users ann (h1) and cat (h2) with tokens in `users`, todos. */
export async function startFastApiBackend(postgres: PostgresServer): Promise<TenancyBackend> {
  const databaseUrl = await postgres.createDatabase();
  const sql = new pg.Client(databaseUrl);
  await sql.connect();
  const shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 1000 });
  const out = await generateClient("parity-fastapi", fs.readFileSync(path.join(FASTAPI_EXAMPLE, "openapi.yaml"), "utf8"));
  const client = (await import(`${out}/index.ts`)) as GeneratedClient;
  const app = await startFastApi({ databaseUrl, shapeUrl: shapes.shapeUrl, shapesJson: path.join(out, "server/shapes.json") });
  await sql.query(`INSERT INTO users (id, household_id, token) VALUES ('ann', 'h1', 'token-ann'), ('cat', 'h2', 'token-cat')`);
  await sql.query(`INSERT INTO household_members (user_id, household_id, role) VALUES ('ann', 'h1', 'owner'), ('cat', 'h2', 'owner')`);
  const users: Record<Who, string> = { a: "ann", b: "cat" };
  const current = async (who: Who) => (await sql.query<{ token: string }>(`SELECT token FROM users WHERE id = $1`, [users[who]])).rows[0]!.token;
  let rotations = 0;
  return {
    name: "FastAPI (examples/fastapi)",
    api: app.url,
    client,
    table: "todos",
    path: "/api/todos",
    label: "title",
    body: (label) => ({ id: crypto.randomUUID(), title: label }),
    localInsert: `INSERT INTO todos (id, title) VALUES ($1, $2)`,
    serverInsert: `INSERT INTO todos (id, household_id, title) VALUES (gen_random_uuid(), $1, $2) RETURNING id::text AS id`,
    household: { a: "h1", b: "h2" },
    sql,
    token: current,
    async expiringToken(who) {
      const token = await current(who);
      // The user's token is replaced: the old one is refused from then on.
      return { token, expire: async () => void (await sql.query(`UPDATE users SET token = $2 WHERE id = $1`, [users[who], `token-${users[who]}-${++rotations}`])) };
    },
    async stop() {
      await app.stop();
      await shapes.stop();
      await sql.end();
    },
  };
}
