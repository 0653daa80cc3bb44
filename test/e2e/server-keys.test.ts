/**
 * Server-assigned keys end to end (docs/extensions.md "Keys", docs/backend.md): real
 * PostgreSQL with serial primary keys, a small backend that assigns them (test/support/
 * serial-backend.ts), the shape-protocol test double, and the generated client in Node.
 *
 * Offline, the client creates rows under temporary keys, updates and deletes them, and creates
 * rows of other entities that refer to them (a foreign key, and a parent key in a nested URL).
 * Online, every write reaches the server exactly once, at the server key's URL, with
 * consistent foreign keys, and the client ends equal to the server.
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { entitySpec, generateClient } from "../support/generated.js";
import { typecheck } from "../support/project.js";
import { usePostgres } from "../support/postgres/index.js";
import { startSerialBackend, SERIAL_SCHEMA, type SerialBackend } from "../support/serial-backend.js";
import { startShapeServer, type ShapeServer } from "../../packages/shape-server/src/index.js";
import type { Engine, LocalDatabase, Row } from "../support/sync-client.js";
import { eventually } from "../support/eventually.js";

const row = (name: string, props: string) => `{ type: object, required: [id], properties: { id: { type: integer, readOnly: true }, ${props} } }`;
const crud = (collection: string, item: string, schema: string, params = "", itemParams = "") => `  ${collection}:
    x-sync: { local_first: true }${params}
    get:
      responses: { "200": { description: ok, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/${schema}" } } } } } }
    post:
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/${schema}" } } } }
      responses: { "201": { description: created, content: { application/json: { schema: { $ref: "#/components/schemas/${schema}" } } } } }
  ${item}:${itemParams}
    patch:
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/${schema}" } } } }
      responses: { "200": { description: ok } }
    delete:
      responses: { "204": { description: deleted } }
`;
const P = (name: string) => `{ name: ${name}, in: path, required: true, schema: { type: integer } }`;

export const SERIAL_SPEC = `openapi: 3.1.0
info: { title: Serial keys, version: "1" }
paths:
${crud("/projects", "/projects/{id}", "Project", "", `\n    parameters: [${P("id")}]`)}${crud("/tasks", "/tasks/{id}", "Task", "", `\n    parameters: [${P("id")}]`)}${crud("/projects/{project_id}/notes", "/projects/{project_id}/notes/{id}", "Note", `\n    parameters: [${P("project_id")}]`, `\n    parameters: [${P("project_id")}, ${P("id")}]`)}components:
  schemas:
    Project: ${row("Project", "name: { type: string }")}
    Task: ${row("Task", "project_id: { type: integer }, title: { type: string }, done: { type: boolean }")}
    Note: ${row("Note", "project_id: { type: integer }, body: { type: string }")}
`;

interface Collection {
  preload(): Promise<void>;
  get(key: number): Row | undefined;
  insert(row: object): { id: string; when(state: "settled"): Promise<unknown> };
  utils: { newKey(): Promise<number>; serverKeyOf(key: number): Promise<number | undefined>; currentKey(key: number): Promise<number>; read(key: number): Promise<Row | undefined>; changeIdsOf(id: string): string[] };
}
interface Client {
  createDatabase(): Promise<LocalDatabase>;
  startSync(o: { db: LocalDatabase; apiUrl: string; electricUrl: string; backoff?: { initialMs: number; maxMs: number }; fetch?: typeof fetch }): Promise<Engine>;
  createProjectsCollection(db: LocalDatabase): Collection;
  createRow(collection: Collection, input: object, options: { key: string; confirm?: (changeId: string) => Promise<void> }): Promise<Row>;
}

const postgres = usePostgres();
let server: pg.Client;
let shapes: ShapeServer;
let backend: SerialBackend;
let client: Client;
let db: LocalDatabase;
let engine: Engine;
let projects: Collection;
let offline = true;
let out: string;

const local = async (sql: string, params: unknown[] = []) => (await db.pg.query(sql, params)).rows;
const remote = async (sql: string) => (await server.query(sql)).rows as Row[];

beforeAll(async () => {
  const databaseUrl = await postgres().createDatabase();
  server = new pg.Client(databaseUrl);
  await server.connect();
  await server.query(SERIAL_SCHEMA);
  // Ids the client could never guess: the server's sequences start elsewhere.
  await server.query(`SELECT setval('projects_id_seq', 700), setval('tasks_id_seq', 800), setval('notes_id_seq', 900)`);
  shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 2000 });
  backend = await startSerialBackend(databaseUrl);
  out = await generateClient("server-keys", SERIAL_SPEC);
  client = (await import(`${out}/index.ts`)) as Client;
  db = await client.createDatabase();
  // The API is unreachable until `offline` is false; the shape stream is not.
  const gated: typeof fetch = (input, init) => (offline && String(input instanceof Request ? input.url : input).startsWith(backend.url) ? Promise.reject(new TypeError("fetch failed (offline)")) : fetch(input, init));
  engine = await client.startSync({ db, apiUrl: backend.url, electricUrl: shapes.shapeUrl, backoff: { initialMs: 50, maxMs: 300 }, fetch: gated });
  await engine.ready;
  projects = client.createProjectsCollection(db);
  await projects.preload();
}, 120_000);

afterAll(async () => {
  await engine?.stop();
  await db?.close();
  await shapes?.stop();
  await backend?.close();
  await server?.end();
});

describe("server-assigned keys (serial primary keys)", () => {
  // SPEC K1, W13
  it("rows made offline under temporary keys reach the server once each, under its keys, with consistent references", async () => {
    // Offline: an optimistic create resolves with the local row under a temporary key.
    const made = await client.createRow(projects, { name: "Draft" }, { key: "id" });
    const temp = made.id as number;
    expect(temp).toBeLessThan(0);
    expect(made._sync_status).toBe("pending");
    await local(`UPDATE projects SET name = 'Apollo' WHERE id = $1`, [temp]);
    // Created and deleted while queued.
    const [gone] = await local(`INSERT INTO projects (name) VALUES ('Scratch') RETURNING id`);
    await local(`DELETE FROM projects WHERE id = $1`, [gone!.id]);
    // Other entities refer to the temporary key: a foreign key, and the parent in a nested URL.
    const [task] = await local(`INSERT INTO tasks (project_id, title) VALUES ($1, 'Launch') RETURNING id`, [temp]);
    await local(`UPDATE tasks SET done = true WHERE id = $1`, [task!.id]);
    const [note] = await local(`INSERT INTO notes (project_id, body) VALUES ($1, 'first') RETURNING id`, [temp]);
    await local(`UPDATE notes SET body = 'edited' WHERE id = $1`, [note!.id]);
    // A server key cannot be invented: a positive key is refused, named.
    await expect(local(`INSERT INTO projects (id, name) VALUES (5, 'Guess')`)).rejects.toThrow(/projects: the server assigns the key id/);
    await engine.writer.flush();
    expect(await local(`SELECT id, name, _sync_status FROM projects`)).toEqual([{ id: temp, name: "Apollo", _sync_status: "pending" }]);
    expect(backend.requests).toEqual([]);

    offline = false;
    await engine.writer.flush();
    await eventually(async () => expect(await engine.writer.status()).toMatchObject({ queued: 0, failed: 0 }));

    const [p] = await remote(`SELECT * FROM projects ORDER BY id`);
    const [t] = await remote(`SELECT * FROM tasks`);
    const [n] = await remote(`SELECT * FROM notes`);
    const S = p!.id as number;
    expect(S).toBeGreaterThan(700);
    expect(await remote(`SELECT * FROM projects`)).toEqual([{ id: S, name: "Apollo" }]);
    expect(await remote(`SELECT * FROM tasks`)).toEqual([{ id: t!.id, project_id: S, title: "Launch", done: true }]);
    expect(await remote(`SELECT * FROM notes`)).toEqual([{ id: n!.id, project_id: S, body: "edited" }]);
    // Each write once, in order, at the server key's URL.
    expect(backend.requests).toEqual([
      "POST /projects",
      `PATCH /projects/${S}`,
      "POST /projects",
      `DELETE /projects/${S + 1}`,
      "POST /tasks",
      `PATCH /tasks/${t!.id as number}`,
      `POST /projects/${S}/notes`,
      `PATCH /projects/${S}/notes/${n!.id as number}`,
    ]);

    // The client ends equal to the server: no temporary key left anywhere.
    await eventually(async () => {
      expect(await local(`SELECT id, name, _sync_status FROM projects`)).toEqual([{ id: S, name: "Apollo", _sync_status: "synced" }]);
      expect(await local(`SELECT id, project_id, title, done, _sync_status FROM tasks`)).toEqual([{ ...t, _sync_status: "synced" }]);
      expect(await local(`SELECT id, project_id, body, _sync_status FROM notes`)).toEqual([{ ...n, _sync_status: "synced" }]);
    });
    for (const table of ["projects_local", "tasks_local", "notes_local"]) expect(await local(`SELECT * FROM ${table}`)).toEqual([]);
    expect(await local(`SELECT DISTINCT row_key FROM "_changes" WHERE row_key::int < 0`)).toEqual([]);

    // The temporary key maps to the server's; the collection holds the server's row only.
    expect(await projects.utils.serverKeyOf(temp)).toBe(S);
    // What the update and delete hooks do with a key they were given: a replaced temporary key addresses the server's row.
    expect(await projects.utils.currentKey(temp)).toBe(S);
    expect(await projects.utils.currentKey(S)).toBe(S);
    await eventually(async () => {
      expect(projects.get(S)).toMatchObject({ id: S, name: "Apollo", _sync_status: "synced" });
      expect(projects.get(temp)).toBeUndefined();
    });
  }, 60_000);

  it("a confirmed create resolves with the server's row, under the server's key", async () => {
    const confirmed = await client.createRow(projects, { name: "Gemini" }, { key: "id", confirm: (id) => engine.writer.waitForChange(id, 20_000) });
    const [p] = await remote(`SELECT * FROM projects WHERE name = 'Gemini'`);
    expect(confirmed).toEqual({ id: p!.id, name: "Gemini", _sync_status: "synced" });
    expect(confirmed.id as number).toBeGreaterThan(700);
  }, 30_000);
});

describe("the generated client for server keys", () => {
  it("type-checks in strict mode, and the create type does not offer a key", async () => {
    const types = fs.readFileSync(`${out}/types/project.ts`, "utf8");
    expect(types).toContain("the server assigns its key");
    expect(types).not.toMatch(/id\?: number/);
    expect(types).not.toContain("may be generated by the client");
    const result = await typecheck(out);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  }, 120_000);

  // SPEC K1
  it("a create answered without a key is reported, and the row's later changes fail with that reason (never a silent swap)", async () => {
    const stub = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(201, { "content-type": "application/json" });
        res.end("{}");
      });
    });
    await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", resolve));
    const other = await client.createDatabase();
    const writerOnly = await client.startSync({ db: other, apiUrl: `http://127.0.0.1:${(stub.address() as AddressInfo).port}`, electricUrl: "" });
    try {
      const [p] = (await other.pg.query(`INSERT INTO projects (name) VALUES ('Lost') RETURNING id`)).rows;
      await other.pg.query(`UPDATE projects SET name = 'Found' WHERE id = $1`, [p!.id]);
      await writerOnly.writer.flush();
      const failed = await writerOnly.writer.failedChanges();
      expect(failed.map((f) => f.last_error)).toEqual([
        expect.stringMatching(/^Not sent: The server accepted the create of projects -\d+ \(change .+\) but its response has no key at id/),
      ]);
      expect((await writerOnly.writer.status()).lastError).toMatch(/its response has no key at id/);
    } finally {
      await writerOnly.stop();
      await other.close();
      await new Promise((resolve) => stub.close(resolve));
    }
  }, 60_000);
});

describe("a server that ignores the client's key (K2)", () => {
  it("the row moves to the server's key, later changes follow it, and the writer says what to fix", async () => {
    const serverKey = "0190f000-0000-7000-8000-000000000001";
    const seen: string[] = [];
    const stub = http.createServer((req, res) => {
      let text = "";
      req.on("data", (c: Buffer) => (text += c.toString("utf8")));
      req.on("end", () => {
        seen.push(`${req.method} ${req.url}`);
        res.writeHead(req.method === "POST" ? 201 : 200, { "content-type": "application/json" });
        res.end(JSON.stringify({ ...(text ? (JSON.parse(text) as object) : {}), id: serverKey }));
      });
    });
    await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", resolve));
    const uuidOut = await generateClient("client-keys", entitySpec());
    const uuidClient = (await import(`${uuidOut}/index.ts`)) as Client;
    const other = await uuidClient.createDatabase();
    const writerOnly = await uuidClient.startSync({ db: other, apiUrl: `http://127.0.0.1:${(stub.address() as AddressInfo).port}`, electricUrl: "" });
    try {
      const mine = "0190f000-0000-7000-8000-00000000000a";
      await other.pg.query(`INSERT INTO things (id, name) VALUES ($1, 'a')`, [mine]);
      await other.pg.query(`UPDATE things SET name = 'b' WHERE id = $1`, [mine]);
      await writerOnly.writer.flush();
      expect(seen).toEqual(["POST /things", `PATCH /things/${serverKey}`]);
      expect((await writerOnly.writer.status()).lastError).toMatch(new RegExp(`under its own key ${serverKey}, not the key the client sent.*key_source: server`));
      expect((await other.pg.query(`SELECT server_key FROM "_sync_temp_keys" WHERE temp_key = $1`, [mine])).rows).toEqual([{ server_key: serverKey }]);
    } finally {
      await writerOnly.stop();
      await other.close();
      await new Promise((resolve) => stub.close(resolve));
    }
  }, 60_000);
});
