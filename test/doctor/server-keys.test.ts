/**
 * `sync-patterns doctor --write` for entities whose server assigns the key (`key_source: server`,
 * here integer read-only keys, so by default): the create goes without a key, as the client sends
 * it, and the server's key from the create's answer is the row's. Real parts: PostgreSQL, the
 * serial-key backend of the server-key e2e test (test/support/serial-backend.ts), the
 * shape-protocol double.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";
import { brokenApi } from "../support/broken-backend.js";
import { usePostgres } from "../support/postgres/index.js";
import { SERIAL_SCHEMA, startSerialBackend, type SerialBackend } from "../support/serial-backend.js";
import { startShapeServer, type ShapeServer } from "../../packages/shape-server/src/index.js";

const P = (name: string) => `{ name: ${name}, in: path, required: true, schema: { type: integer } }`;
const SPEC = `openapi: 3.1.0
info: { title: Serial keys, version: "1" }
paths:
  /projects:
    x-sync: { local_first: true }
    get:
      responses: { "200": { description: ok, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/Project" } } } } } }
    post:
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Project" } } } }
      responses: { "201": { description: created, content: { application/json: { schema: { $ref: "#/components/schemas/Project" } } } } }
  /projects/{id}:
    parameters: [${P("id")}]
    patch:
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Project" } } } }
      responses: { "200": { description: ok } }
    delete:
      responses: { "204": { description: deleted } }
  /projects/{project_id}/notes:
    x-sync: { local_first: true }
    parameters: [${P("project_id")}]
    post:
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Note" } } } }
      responses: { "201": { description: created, content: { application/json: { schema: { $ref: "#/components/schemas/Note" } } } } }
  /projects/{project_id}/notes/{id}:
    parameters: [${P("project_id")}, ${P("id")}]
    patch:
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Note" } } } }
      responses: { "200": { description: ok } }
    delete:
      responses: { "204": { description: deleted } }
components:
  schemas:
    Project: { type: object, required: [id, name], properties: { id: { type: integer, readOnly: true }, name: { type: string } } }
    Note: { type: object, required: [id, project_id, body], properties: { id: { type: integer, readOnly: true }, project_id: { type: integer }, body: { type: string } } }
`;

interface JsonRun {
  code: number;
  entities: { entity: string; passed: string[] }[];
  diagnostics: Diagnostic[];
}

const postgres = usePostgres();
let db: pg.Pool;
let shapes: ShapeServer;
let backend: SerialBackend;
let dir: string;
let databaseUrl: string;

async function doctor(...args: string[]): Promise<JsonRun> {
  let stdout = "";
  const code = await main(["doctor", ...args, "--json"], { cwd: dir, interactive: false, stdout: (t) => (stdout += t), stderr: () => {} });
  return { code, ...(JSON.parse(stdout) as Omit<JsonRun, "code">) };
}

async function count(): Promise<{ projects: number; notes: number }> {
  const r = await db.query<{ p: number; n: number }>(`SELECT (SELECT count(*) FROM projects)::int AS p, (SELECT count(*) FROM notes)::int AS n`);
  return { projects: r.rows[0]!.p, notes: r.rows[0]!.n };
}

beforeAll(async () => {
  databaseUrl = await postgres().createDatabase();
  db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  db.on("error", () => undefined); // a client still ending when the test's server stops
  await db.query(SERIAL_SCHEMA);
  await db.query(`INSERT INTO projects (name) VALUES ('Apollo')`);
  shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 1000 });
  backend = await startSerialBackend(databaseUrl);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-doctor-keys-"));
  fs.writeFileSync(path.join(dir, "openapi.yaml"), SPEC);
  fs.writeFileSync(path.join(dir, "sync-patterns.config.yaml"), "spec: openapi.yaml\noutput: src/generated\n");
}, 120_000);

afterAll(async () => {
  await backend?.close();
  await shapes?.stop();
  await db?.end();
});

it("accepts the server's key (no doctor/write-key-replaced), checks the rest at its URL, nested too, and deletes its rows", async () => {
  const before = await count();
  const r = await doctor("--api", backend.url, "--electric", shapes.shapeUrl, "--write");
  expect(r.diagnostics, JSON.stringify(r.diagnostics, null, 2)).toEqual([]);
  expect(r.code).toBe(0);
  const writes = ["server key", "create txid", "idempotency", "problem+json", "update txid", "delete txid", "cleanup"];
  expect(r.entities.map((e) => e.entity).sort()).toEqual(["note", "project"]);
  for (const e of r.entities) {
    expect(e.passed, e.entity).toEqual(expect.arrayContaining(writes));
    expect(e.passed, e.entity).not.toContain("client key kept");
  }
  // Every create went without a key: the server assigned them, and answered each replay from its store.
  expect(backend.requests.filter((q) => q.startsWith("POST"))).toEqual(["POST /projects", "POST /projects", "POST /projects/1/notes", "POST /projects/1/notes"]);
  expect(await count()).toEqual(before);
});

it("a create that answers without the server's key: doctor/write-server-key-missing, and doctor still deletes its row", async () => {
  const before = await count();
  const api = await brokenApi(backend.url, "no-created-key", databaseUrl);
  try {
    const r = await doctor("--api", api.url, "--electric", shapes.shapeUrl, "--entity", "project", "--write");
    expect(r.code).toBe(1);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["doctor/write-server-key-missing"]);
    expect(r.diagnostics[0]).toMatchObject({ message: expect.stringMatching(/no id at id: .*arrived in the shape as id=\d+/), hint: expect.stringMatching(/return the created row with its key \(\{ "id": 42, … \}\)/) });
    expect(r.entities[0]!.passed).toContain("cleanup");
  } finally {
    await api.close();
  }
  expect(await count()).toEqual(before);
});
