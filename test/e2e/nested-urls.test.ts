/**
 * Writes of nested resources reach the right URL: every path parameter of a synced resource's
 * create, update and delete endpoints is filled from the row (by name, the item parameter from
 * the key, or through `x-sync.params`), URL-encoded; a trailing slash (Django REST framework)
 * stays in the URL. A generated client writes through its local database and a stub HTTP
 * server on 127.0.0.1 records what arrives.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateClient } from "../support/generated.js";
import { typecheck } from "../support/project.js";
import type { LocalDatabase, SyncClient } from "../support/sync-client.js";

const SPEC = `openapi: 3.1.0
info: { title: Nested, version: "1" }
paths:
  /v1/files/{file_key}/comments:
    x-sync: true
    parameters: [{ name: file_key, in: path, required: true, schema: { type: string } }]
    get:
      operationId: listComments
      responses:
        "200": { description: ok, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/Comment" } } } } }
    post:
      operationId: postComment
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Comment" } } } }
      responses: { "200": { description: ok } }
  /v1/files/{file_key}/comments/{comment_id}:
    parameters:
      - { name: file_key, in: path, required: true, schema: { type: string } }
      - { name: comment_id, in: path, required: true, schema: { type: string } }
    patch:
      operationId: patchComment
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Comment" } } } }
      responses: { "200": { description: ok } }
    delete:
      operationId: deleteComment
      responses: { "204": { description: ok } }
  /projects/{projectId}/tasks:
    x-sync: { params: { projectId: project } }
    parameters: [{ name: projectId, in: path, required: true, schema: { type: integer } }]
    get:
      operationId: listTasks
      responses:
        "200": { description: ok, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/Task" } } } } }
    post:
      operationId: createTask
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Task" } } } }
      responses: { "201": { description: ok } }
  /projects/{projectId}/tasks/{taskId}:
    parameters:
      - { name: projectId, in: path, required: true, schema: { type: integer } }
      - { name: taskId, in: path, required: true, schema: { type: string } }
    put:
      operationId: replaceTask
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Task" } } } }
      responses: { "200": { description: ok } }
    delete:
      operationId: deleteTask
      responses: { "204": { description: ok } }
  /shelves/{shelf}/items:
    x-sync: { params: { shelf: "it's \\"shelf\\" */" } }
    parameters: [{ name: shelf, in: path, required: true, schema: { type: string } }]
    get:
      operationId: listItems
      responses:
        "200": { description: ok, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/Item" } } } } }
    post:
      operationId: createItem
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Item" } } } }
      responses: { "201": { description: ok } }
  /shelves/{shelf}/items/{item}:
    parameters:
      - { name: shelf, in: path, required: true, schema: { type: string } }
      - { name: item, in: path, required: true, schema: { type: string } }
    patch:
      operationId: updateItem
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Item" } } } }
      responses: { "200": { description: ok } }
    delete:
      operationId: deleteItem
      responses: { "204": { description: ok } }
  /dcim/sites/:
    x-sync: true
    get:
      operationId: dcim_sites_list
      responses:
        "200":
          description: ok
          content: { application/json: { schema: { type: object, properties: { count: { type: integer }, results: { type: array, items: { $ref: "#/components/schemas/Site" } } } } } }
    post:
      operationId: dcim_sites_create
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Site" } } } }
      responses: { "201": { description: ok, content: { application/json: { schema: { $ref: "#/components/schemas/Site" } } } } }
  /dcim/sites/{id}/:
    parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
    patch:
      operationId: dcim_sites_partial_update
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Site" } } } }
      responses: { "200": { description: ok } }
    delete:
      operationId: dcim_sites_destroy
      responses: { "204": { description: ok } }
components:
  schemas:
    Comment:
      type: object
      required: [id, message]
      properties:
        id: { type: string }
        file_key: { type: [string, "null"] }
        message: { type: string }
    Task:
      type: object
      required: [id, project]
      properties:
        id: { type: string }
        project: { type: integer }
        title: { type: string }
    Item:
      type: object
      required: [id]
      properties:
        id: { type: string }
        "it's \\"shelf\\" */": { type: string }
        label: { type: string }
    Site:
      type: object
      required: [id, name]
      properties:
        id: { type: integer }
        name: { type: string }
`;

interface Hit {
  method: string;
  url: string;
  body: unknown;
}

let hits: Hit[] = [];
let server: http.Server;
let apiUrl: string;
let client: SyncClient;
let out: string;
let db: LocalDatabase;
let engine: Awaited<ReturnType<SyncClient["startSync"]>>;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString("utf8")));
    req.on("end", () => {
      hits.push({ method: req.method ?? "", url: req.url ?? "", body: text ? JSON.parse(text) : undefined });
      res.writeHead(req.method === "DELETE" ? 204 : 200, { "content-type": "application/json" });
      // A create answers with the row, under a key of the server's (sites' keys are server-assigned).
      res.end(req.method === "DELETE" ? undefined : req.method === "POST" && text ? JSON.stringify({ id: 500 + hits.length, ...JSON.parse(text) }) : "{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  out = await generateClient("nested-urls", SPEC);
  client = (await import(`${out}/index.ts`)) as SyncClient;
  db = await client.createDatabase();
  engine = await client.startSync({ db, apiUrl, electricUrl: "" });
}, 120_000);

afterAll(async () => {
  await engine?.stop();
  await db?.close();
  await new Promise((resolve) => server?.close(resolve));
});

/** Runs `write` against the local database, sends the queue, returns the requests that arrived. */
async function send(write: () => Promise<unknown>): Promise<Hit[]> {
  hits = [];
  await write();
  await engine.writer.flush();
  expect(await engine.writer.failedChanges()).toEqual([]);
  return hits;
}

describe("writes of nested resources", () => {
  it("the generated client type-checks in strict mode", async () => {
    const result = await typecheck(out);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  }, 120_000);

  // SPEC W11
  it("a change without a value for a parameter fails with that reason, and is not sent", async () => {
    hits = [];
    await db.pg.query(`INSERT INTO comments (id, message) VALUES ('orphan', 'no file')`);
    await engine.writer.flush();
    expect(hits).toEqual([]);
    const failed = await engine.writer.failedChanges();
    expect(failed.map((f) => f.last_error)).toEqual(["Cannot build the URL POST /v1/files/{file_key}/comments: the change has no value for {file_key} (file_key)."]);
    await db.pg.query(`UPDATE "_changes" SET "status" = 'discarded' WHERE "status" = 'failed'`);
  });

  it("create, update and delete fill every path parameter from the row, URL-encoded", async () => {
    const created = await send(() => db.pg.query(`INSERT INTO comments (id, file_key, message) VALUES ($1, $2, 'hello')`, ["c 1/ü", "a/b c"]));
    expect(created).toEqual([{ method: "POST", url: "/v1/files/a%2Fb%20c/comments", body: { id: "c 1/ü", file_key: "a/b c", message: "hello" } }]);

    // A row the server has (as the shape stream would store it), changed and deleted locally.
    await db.pg.query(`INSERT INTO comments_synced (id, file_key, message) VALUES ('k9', 'fïle/ü', 'server')`);
    const updated = await send(() => db.pg.query(`UPDATE comments SET message = 'edited' WHERE id = 'k9'`));
    expect(updated).toEqual([{ method: "PATCH", url: "/v1/files/f%C3%AFle%2F%C3%BC/comments/k9", body: { message: "edited" } }]);
    const deleted = await send(() => db.pg.query(`DELETE FROM comments WHERE id = 'k9'`));
    expect(deleted).toEqual([{ method: "DELETE", url: "/v1/files/f%C3%AFle%2F%C3%BC/comments/k9", body: undefined }]);
  });

  it("a parameter mapped with x-sync.params is filled from that property (PUT sends the whole row)", async () => {
    const created = await send(() => db.pg.query(`INSERT INTO tasks (id, project, title) VALUES ('t/1', 42, 'plan')`));
    expect(created).toEqual([{ method: "POST", url: "/projects/42/tasks", body: { id: "t/1", project: 42, title: "plan" } }]);
    await db.pg.query(`INSERT INTO tasks_synced (id, project, title) VALUES ('t 2', 7, 'server')`);
    const updated = await send(() => db.pg.query(`UPDATE tasks SET title = 'renamed' WHERE id = 't 2'`));
    expect(updated).toEqual([{ method: "PUT", url: "/projects/7/tasks/t%202", body: { id: "t 2", project: 7, title: "renamed" } }]);
    const deleted = await send(() => db.pg.query(`DELETE FROM tasks WHERE id = 't 2'`));
    expect(deleted.map((h) => `${h.method} ${h.url}`)).toEqual(["DELETE /projects/7/tasks/t%202"]);
  });

  it("a hostile property name (quotes, */) fills a parameter; its value is encoded", async () => {
    await db.pg.query(`INSERT INTO items_synced (id, "it's ""shelf"" */", label) VALUES ('i1', 'top & ?#', 'x')`);
    const updated = await send(() => db.pg.query(`UPDATE items SET label = 'y' WHERE id = 'i1'`));
    const deleted = await send(() => db.pg.query(`DELETE FROM items WHERE id = 'i1'`));
    expect([...updated, ...deleted].map((h) => `${h.method} ${h.url}`)).toEqual(["PATCH /shelves/top%20%26%20%3F%23/items/i1", "DELETE /shelves/top%20%26%20%3F%23/items/i1"]);
    expect(updated[0]!.body).toEqual({ label: "y" });
  });

  it("paths with a trailing slash (Django REST framework) are a resource, and the slash stays in the URLs", async () => {
    const created = await send(() => db.pg.query(`INSERT INTO sites (name) VALUES ('Berlin')`));
    expect(created).toEqual([{ method: "POST", url: "/dcim/sites/", body: { name: "Berlin" } }]);
    await db.pg.query(`INSERT INTO sites_synced (id, name) VALUES (6, 'Paris')`);
    const updated = await send(() => db.pg.query(`UPDATE sites SET name = 'Lyon' WHERE id = 6`));
    const deleted = await send(() => db.pg.query(`DELETE FROM sites WHERE id = 6`));
    expect([...updated, ...deleted].map((h) => `${h.method} ${h.url}`)).toEqual(["PATCH /dcim/sites/6/", "DELETE /dcim/sites/6/"]);
  });
});
