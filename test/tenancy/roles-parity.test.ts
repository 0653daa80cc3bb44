/**
 * Roles on the server, one table of cases run against both example backends: the Hono
 * finance-tracker server (contacts) and the FastAPI example (todos). Each reads the rules of its
 * own spec's x-rbac and x-owner-only from the generated server/permissions.json (Hono through
 * sync-patterns/server's findRefusal, FastAPI through examples/fastapi/permissions.py), and both
 * must give every case the same status and the same `reason`, `role`, `op` (403 problem+json).
 * Real parts: PostgreSQL, each backend's own process, the shape-protocol double behind each
 * backend's own shape proxy, and the client generated from each backend's spec.
 *
 * Both specs have the same structure: a viewer (read only), an editor (the basic group; creates),
 * an owner (every group; deletes), an x-owner-only field, and a field in a group only the owner
 * has. The finance-tracker's contacts have no such field, so the Hono server runs here on its
 * spec with one group added (`business: [company]`, the owner's): the server's code is the
 * example's, only the rules differ, and they come from the spec like everywhere else.
 */
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_HOUSEHOLDS, DEMO_USERS } from "../../examples/finance-tracker/server/auth.js";
import { createServer } from "../../examples/finance-tracker/server/server.js";
import { FASTAPI_EXAMPLE, fastApiAvailable, startFastApi } from "../support/fastapi.js";
import { EXAMPLE_SPEC_TEXT, generateClient } from "../support/generated.js";
import { usePostgres, type PostgresServer } from "../support/postgres/index.js";
import { startShapeServer } from "../../packages/shape-server/src/index.js";
import type { GeneratedClient } from "./backends.js";
import { eventually } from "../support/eventually.js";

const postgres = usePostgres();

type Role = "owner" | "editor" | "viewer";
/** A user of household A with that role, or `stranger`: the owner of household B. */
type Who = Role | "stranger";
/** basic: in the editor's groups; ownerOnly: x-owner-only; outside: in a group only the owner has; scope: the scope column (readOnly). */
type Kind = "basic" | "ownerOnly" | "outside" | "scope";

interface RolesBackend {
  name: string;
  api: string;
  path: string;
  client: GeneratedClient;
  table: string;
  entity: string;
  /** The field of each kind and a value to write into it. */
  fields: Record<Kind, { name: string; value: unknown }>;
  /** A valid create body (with its key) without the fields above. */
  createBody(): Record<string, unknown>;
  /** A row of household `h` written by the server itself; its key. */
  insert(h: "a" | "b"): Promise<string>;
  /** The row as stored (null when gone). */
  stored(id: string): Promise<Record<string, unknown> | null>;
  household: { a: string; b: string };
  token(who: Who): Promise<string>;
  /** Removes the viewer's membership (then `restoreViewer`). */
  revokeViewer(): Promise<void>;
  restoreViewer(): Promise<void>;
  sql: pg.Client;
  stop(): Promise<void>;
}

/** The finance-tracker's spec with `company` in a group only the owner has. */
function honoRolesSpec(): string {
  const replace = (text: string, from: string, to: string) => {
    if (text.split(from).length !== 2) throw new Error(`the finance-tracker spec no longer has exactly one ${JSON.stringify(from)}`);
    return text.replace(from, to);
  };
  let spec = replace(EXAMPLE_SPEC_TEXT, "        financial: [credit_limit]\n", "        financial: [credit_limit]\n        business: [company]\n");
  spec = replace(spec, "owner: [basic, financial]", "owner: [basic, financial, business]");
  return spec;
}

async function startHonoRoles(postgres: PostgresServer): Promise<RolesBackend> {
  const databaseUrl = await postgres.createDatabase();
  const sql = new pg.Client(databaseUrl);
  await sql.connect();
  const shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 1000 });
  const specText = honoRolesSpec();
  const out = await generateClient("roles-parity-hono", specText);
  const specPath = path.join(out, "..", "openapi.yaml");
  const client = (await import(`${out}/index.ts`)) as GeneratedClient;
  const server = await createServer({ databaseUrl, specPath, electricUrl: shapes.shapeUrl, shapesJson: path.join(out, "server/shapes.json"), permissionsJson: path.join(out, "server/permissions.json"), log: () => {} });
  const user = (who: Who) => DEMO_USERS.find((u) => (who === "stranger" ? u.household === DEMO_HOUSEHOLDS[1].id : u.household === DEMO_HOUSEHOLDS[0].id && u.role === who))!;
  const a = DEMO_HOUSEHOLDS[0].id;
  return {
    name: "Hono",
    api: server.url,
    path: "/api/contacts",
    client,
    table: "contacts",
    entity: "contact",
    fields: { basic: { name: "first_name", value: "Basic" }, ownerOnly: { name: "credit_limit", value: "500" }, outside: { name: "company", value: "Acme" }, scope: { name: "household_id", value: DEMO_HOUSEHOLDS[1].id } },
    createBody: () => ({ id: crypto.randomUUID(), first_name: "New", last_name: "x" }),
    insert: async (h) => (await sql.query<{ id: string }>(`INSERT INTO contacts (household_id, first_name, last_name) VALUES ($1, 'Row', 'x') RETURNING id::text AS id`, [DEMO_HOUSEHOLDS[h === "a" ? 0 : 1].id])).rows[0]!.id,
    stored: async (id) => (await sql.query(`SELECT household_id::text, first_name, credit_limit::text, company FROM contacts WHERE id = $1`, [id])).rows[0] ?? null,
    household: { a, b: DEMO_HOUSEHOLDS[1].id },
    async token(who) {
      const response = await fetch(`${server.url}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: user(who).email, password: "demo" }) });
      if (!response.ok) throw new Error(`login: ${response.status} ${await response.text()}`);
      return ((await response.json()) as { token: string }).token;
    },
    revokeViewer: async () => void (await sql.query(`DELETE FROM household_members WHERE user_id = $1 AND household_id = $2`, [user("viewer").id, a])),
    restoreViewer: async () => void (await sql.query(`INSERT INTO household_members (user_id, household_id, role) VALUES ($1, $2, 'viewer')`, [user("viewer").id, a])),
    sql,
    async stop() {
      await server.close();
      await shapes.stop();
      await sql.end();
    },
  };
}

async function startFastApiRoles(postgres: PostgresServer): Promise<RolesBackend> {
  const databaseUrl = await postgres.createDatabase();
  const sql = new pg.Client(databaseUrl);
  await sql.connect();
  const shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 1000 });
  const out = await generateClient("roles-parity-fastapi", fs.readFileSync(path.join(FASTAPI_EXAMPLE, "openapi.yaml"), "utf8"));
  const client = (await import(`${out}/index.ts`)) as GeneratedClient;
  const app = await startFastApi({ databaseUrl, shapeUrl: shapes.shapeUrl, shapesJson: path.join(out, "server/shapes.json") });
  const users: Record<Who, [string, string, string]> = { owner: ["olive", "h1", "owner"], editor: ["eddie", "h1", "editor"], viewer: ["vera", "h1", "viewer"], stranger: ["sam", "h2", "owner"] };
  for (const [id, household, role] of Object.values(users)) {
    await sql.query(`INSERT INTO users (id, household_id, token) VALUES ($1, $2, $3)`, [id, household, `token-${id}`]);
    await sql.query(`INSERT INTO household_members (user_id, household_id, role) VALUES ($1, $2, $3)`, [id, household, role]);
  }
  return {
    name: "FastAPI",
    api: app.url,
    path: "/api/todos",
    client,
    table: "todos",
    entity: "todo",
    fields: { basic: { name: "title", value: "Basic" }, ownerOnly: { name: "priority", value: 1 }, outside: { name: "due_on", value: "2027-01-31" }, scope: { name: "household_id", value: "h2" } },
    createBody: () => ({ id: crypto.randomUUID(), title: "New" }),
    insert: async (h) => (await sql.query<{ id: string }>(`INSERT INTO todos (id, household_id, title) VALUES (gen_random_uuid(), $1, 'Row') RETURNING id::text AS id`, [h === "a" ? "h1" : "h2"])).rows[0]!.id,
    stored: async (id) => (await sql.query(`SELECT household_id, title, priority, to_char(due_on, 'YYYY-MM-DD') AS due_on FROM todos WHERE id = $1`, [id])).rows[0] ?? null,
    household: { a: "h1", b: "h2" },
    token: async (who) => `token-${users[who][0]}`,
    revokeViewer: async () => void (await sql.query(`DELETE FROM household_members WHERE user_id = 'vera'`)),
    restoreViewer: async () => void (await sql.query(`INSERT INTO household_members (user_id, household_id, role) VALUES ('vera', 'h1', 'viewer')`)),
    sql,
    async stop() {
      await app.stop();
      await shapes.stop();
      await sql.end();
    },
  };
}

type Op = "create" | "update" | "delete";
interface Case {
  who: Who;
  op: Op;
  /** The fields the write sets (besides a create's required ones). */
  kinds: Kind[];
  /** The expected status, and for a 403 the refusal (its `field` is the backend's field of that kind). */
  status: number;
  reason?: string;
  field?: Kind | null;
}

/**
 * Every role × operation × kind of field, and the tampered requests: a field outside the role's
 * groups, an owner-only field by an editor (alone, with an allowed field, set to null), the scope
 * column sent to move a row to another household, a viewer's create, update and delete.
 */
const CASES: Case[] = [
  // create
  { who: "owner", op: "create", kinds: [], status: 201 },
  { who: "owner", op: "create", kinds: ["basic", "ownerOnly", "outside"], status: 201 },
  { who: "editor", op: "create", kinds: ["basic"], status: 201 },
  { who: "editor", op: "create", kinds: ["ownerOnly"], status: 403, reason: "owner-only", field: "ownerOnly" },
  { who: "editor", op: "create", kinds: ["outside"], status: 403, reason: "field-group", field: "outside" },
  { who: "viewer", op: "create", kinds: [], status: 403, reason: "read-only", field: null },
  // The scope column in a create: readOnly, the server sets it from the user (the row stays in A).
  { who: "editor", op: "create", kinds: ["scope"], status: 201 },
  // update
  { who: "owner", op: "update", kinds: ["basic"], status: 200 },
  { who: "owner", op: "update", kinds: ["ownerOnly"], status: 200 },
  { who: "owner", op: "update", kinds: ["outside"], status: 200 },
  { who: "editor", op: "update", kinds: ["basic"], status: 200 },
  { who: "editor", op: "update", kinds: ["ownerOnly"], status: 403, reason: "owner-only", field: "ownerOnly" },
  { who: "editor", op: "update", kinds: ["basic", "ownerOnly"], status: 403, reason: "owner-only", field: "ownerOnly" },
  { who: "editor", op: "update", kinds: ["outside"], status: 403, reason: "field-group", field: "outside" },
  { who: "viewer", op: "update", kinds: ["basic"], status: 403, reason: "read-only", field: null },
  // A row moved to household B by its scope column: readOnly, ignored; the row stays in A.
  { who: "editor", op: "update", kinds: ["scope"], status: 200 },
  { who: "owner", op: "update", kinds: ["scope", "basic"], status: 200 },
  { who: "viewer", op: "update", kinds: ["scope"], status: 403, reason: "read-only", field: null },
  // B's owner on A's row: not found (the scope check comes first, and says nothing about the row).
  { who: "stranger", op: "update", kinds: ["basic"], status: 404 },
  // delete
  { who: "owner", op: "delete", kinds: [], status: 204 },
  { who: "editor", op: "delete", kinds: [], status: 403, reason: "op", field: null },
  { who: "viewer", op: "delete", kinds: [], status: 403, reason: "read-only", field: null },
  { who: "stranger", op: "delete", kinds: [], status: 404 },
];

const title = (c: Case) => `${c.who} ${c.op}${c.kinds.length ? ` ${c.kinds.join("+")}` : ""} → ${c.status}${c.reason ? ` ${c.reason}` : ""}`;

const BACKENDS = [
  { name: "Hono", start: startHonoRoles, available: true },
  { name: "FastAPI", start: startFastApiRoles, available: fastApiAvailable },
];

describe.each(BACKENDS)("roles on the server: $name backend", ({ start, available }) => {
  let backend: RolesBackend;
  const tokens = {} as Record<Who, string>;

  beforeAll(async () => {
    if (!available) return;
    backend = await start(postgres());
    for (const who of ["owner", "editor", "viewer", "stranger"] as const) tokens[who] = await backend.token(who);
  }, 180_000);

  afterAll(async () => {
    await backend?.stop();
  });

  const send = async (who: Who, method: string, url: string, body?: unknown) => {
    const response = await fetch(`${backend.api}${url}`, {
      method,
      headers: { authorization: `Bearer ${tokens[who]}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, type: response.headers.get("content-type"), body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  };

  it.skipIf(!available).each(CASES.map((c) => [title(c), c] as const))("%s", async (_, c) => {
    const { fields } = backend;
    const values = Object.fromEntries(c.kinds.map((k) => [fields[k].name, fields[k].value]));
    const existing = c.op === "create" ? null : await backend.insert("a");
    const before = existing ? await backend.stored(existing) : null;
    const createBody = c.op === "create" ? { ...backend.createBody(), ...values } : null;
    const response =
      c.op === "create"
        ? await send(c.who, "POST", backend.path, createBody)
        : await send(c.who, c.op === "update" ? "PATCH" : "DELETE", `${backend.path}/${existing}`, c.op === "update" ? values : undefined);
    expect(response.status, `${title(c)}: ${JSON.stringify(response.body)}`).toBe(c.status);
    const id = existing ?? String(createBody!.id);
    const after = await backend.stored(id);
    if (c.status === 403) {
      expect(response.type).toMatch(/^application\/problem\+json/);
      // (`type` follows each app's own convention: about:blank, /problems/forbidden.)
      expect(response.body).toMatchObject({
        type: expect.any(String),
        title: "Forbidden",
        status: 403,
        entity: backend.entity,
        op: c.op,
        role: c.who,
        reason: c.reason,
        field: c.field ? fields[c.field].name : null,
        detail: expect.stringContaining(`"${c.who}"`),
      });
      // Nothing written.
      expect(after).toEqual(before);
      return;
    }
    if (c.status === 404) {
      expect(response.type).toMatch(/^application\/problem\+json/);
      expect(after).toEqual(before);
      return;
    }
    if (c.op === "delete") {
      expect(after).toBeNull();
      return;
    }
    // Landed, in household A whatever the body said; each field as sent (the scope column excepted).
    expect(after).toMatchObject({ household_id: backend.household.a });
    for (const k of c.kinds.filter((k) => k !== "scope")) expect(after![fields[k].name], k).toEqual(fields[k].value);
  });

  it.skipIf(!available)("both backends' refusals of one write are the same problem (detail included, entity and field names aside)", async () => {
    // The detail is the rules' own message: the same words from permission-rules.ts and permissions.py.
    const id = await backend.insert("a");
    const { fields } = backend;
    const refused = await send("editor", "PATCH", `${backend.path}/${id}`, { [fields.ownerOnly.name]: fields.ownerOnly.value });
    expect(refused.body!.detail).toBe(`The role "editor" may not set ${backend.entity}.${fields.ownerOnly.name}: only the owner may (x-owner-only).`);
    const outside = await send("editor", "PATCH", `${backend.path}/${id}`, { [fields.outside.name]: fields.outside.value });
    expect(outside.body!.detail).toBe(`The role "editor" may not set ${backend.entity}.${fields.outside.name}: it is outside the role's field groups (basic).`);
    const deleted = await send("editor", "DELETE", `${backend.path}/${id}`);
    expect(deleted.body!.detail).toBe(`The role "editor" may not delete a ${backend.entity} (x-rbac.delete: owner).`);
    const viewer = await send("viewer", "PATCH", `${backend.path}/${id}`, { [fields.basic.name]: "x" });
    expect(viewer.body!.detail).toBe(`The role "viewer" is read-only on this ${backend.entity}: it may not edit it.`);
  });

  it.skipIf(!available)("a membership revoked: the user's token no longer signs in (401), nothing written; restored, it does again", async () => {
    const id = await backend.insert("a");
    const before = await backend.stored(id);
    await backend.revokeViewer();
    try {
      const response = await send("viewer", "PATCH", `${backend.path}/${id}`, { [backend.fields.basic.name]: "x" });
      expect(response.status).toBe(401);
      expect(response.type).toMatch(/^application\/problem\+json/);
      expect((await send("viewer", "GET", backend.path)).status).toBe(401);
      expect(await backend.stored(id)).toEqual(before);
    } finally {
      await backend.restoreViewer();
    }
    if (backend.name === "Hono") tokens.viewer = await backend.token("viewer");
    expect((await send("viewer", "GET", backend.path)).status).toBe(200);
  });

  it.skipIf(!available)("a client that skips the hooks (an editor's own SQL on the local database): 403, the change rolls back with the server's reason as its error", async () => {
    const id = await backend.insert("a");
    const { fields, table } = backend;
    const db = await backend.client.createDatabase();
    const engine = await backend.client.startSync({ db, apiUrl: backend.api, electricUrl: `${backend.api}/v1/shape`, headers: () => ({ authorization: `Bearer ${tokens.editor}` }), backoff: { initialMs: 50, maxMs: 400 } });
    const local = async (sql: string, params: unknown[] = []) => (await db.pg.query(sql, params)).rows;
    try {
      await engine.ready;
      await eventually(async () => expect(await local(`SELECT id FROM ${table} WHERE id = $1`, [id])).toHaveLength(1));
      await local(`UPDATE ${table} SET "${fields.ownerOnly.name}" = $2 WHERE id = $1`, [id, fields.ownerOnly.value]);
      const [change] = await eventually(async () => {
        const rows = await local(`SELECT status, last_error FROM "_changes" WHERE row_key = $1`, [id]);
        expect(rows).toMatchObject([{ status: "failed" }]);
        return rows as { status: string; last_error: string }[];
      });
      expect(change!.last_error).toContain("Forbidden");
      expect(change!.last_error).toContain(`The role "editor" may not set ${backend.entity}.${fields.ownerOnly.name}`);
      // Rolled back: the device shows the server's row again.
      await eventually(async () => expect(await local(`SELECT "${fields.ownerOnly.name}" AS v FROM ${table} WHERE id = $1`, [id])).toEqual([{ v: null }]));
      expect((await backend.stored(id))![fields.ownerOnly.name]).toBeNull();
    } finally {
      await engine.stop();
      await db.close();
    }
  });
});
