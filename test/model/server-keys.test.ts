/**
 * Key sources in the model (docs/extensions.md, "Keys"): who makes an entity's keys, read from
 * the key's type and `readOnly` or from `x-sync.key_source`; where a create's response carries a
 * server key; which fields refer to server-key entities; and the located errors for specs that
 * cannot support server keys.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { buildModel, type ModelInput } from "../../src/model/build.js";
import type { Entity } from "../../src/model/types.js";
import { loadSpec } from "../../src/spec/load.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-keys-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function build(spec: string, entities?: ModelInput["entities"]) {
  const file = path.join(dir, `spec-${n++}.yaml`);
  fs.writeFileSync(file, spec);
  const loaded = await loadSpec(file, dir);
  if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return buildModel({ document: loaded.value.document, locate: loaded.value.locate, configFile: "sync-patterns.config.yaml", ...(entities ? { entities } : {}) });
}

async function entities(spec: string): Promise<Entity[]> {
  const r = await build(spec);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return r.value.entities;
}

/** One synced resource `/things` whose item schema has the key `id: <keySchema>`; `created` is the create's 201 response YAML. */
function spec(opts: { key: string; xSync?: string; created?: string; props?: string; more?: string }): string {
  const created = opts.created ?? `{ description: ok, content: { application/json: { schema: { $ref: "#/components/schemas/Thing" } } } }`;
  return `openapi: 3.1.0
info: { title: Keys, version: "1" }
paths:
  /things:
    x-sync: ${opts.xSync ?? "{ local_first: true }"}
    get:
      responses: { "200": { description: ok, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/Thing" } } } } } }
    post:
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/Thing" } } } }
      responses:
        "201": ${created}
  /things/{id}:
    parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
    patch:
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/Thing" } } } }
      responses: { "200": { description: ok } }
    delete:
      responses: { "204": { description: ok } }
${opts.more ?? ""}components:
  schemas:
    Thing:
      type: object
      required: [id]
      properties:
        id: ${opts.key}
        name: { type: string }
${opts.props ?? ""}`;
}

describe("key source defaults", () => {
  it.each([
    ["a uuid key", "{ type: string, format: uuid }", "client"],
    ["a read-only uuid key (the server keeps the client's uuid)", "{ type: string, format: uuid, readOnly: true }", "client"],
    ["an integer key", "{ type: integer }", "server"],
    ["a read-only int64 key", "{ type: integer, format: int64, readOnly: true }", "server"],
    ["a read-only text key", "{ type: string, readOnly: true }", "server"],
    ["a text key", "{ type: string }", "client"],
  ])("%s → %s", async (_what, key, want) => {
    const [e] = await entities(spec({ key }));
    expect(e!.keySource).toBe(want);
    if (want === "server") expect(e!.createKeyPath).toEqual(["id"]);
    else expect(e!.createKeyPath).toBeUndefined();
  });

  it("x-sync.key_source decides explicitly", async () => {
    const [client] = await entities(spec({ key: "{ type: integer }", xSync: "{ local_first: true, key_source: client }" }));
    expect(client!.keySource).toBe("client");
    const [server] = await entities(spec({ key: "{ type: string, format: uuid }", xSync: "{ key_source: server }" }));
    expect(server!.keySource).toBe("server");
    expect(server!.tempKey?.kind).toBe("uuid");
  });

  it("the config's key_source wins over x-sync, and its errors point at the config entry", async () => {
    const r = await build(spec({ key: "{ type: integer, readOnly: true }", xSync: "{ key_source: client }" }), { things: { keySource: "server" } });
    expect(r.ok && r.value.entities[0]!.keySource).toBe("server");
    const refused = await build(spec({ key: "{ type: integer }", created: "{ description: ok }" }), { things: { keySource: "server" } });
    expect(refused.diagnostics.find((d) => d.code === "model/server-key-not-returned")?.location?.pointer).toBe("/paths/~1things/post/responses");
    const wrongType = await build(spec({ key: "{ type: string, format: date }" }), { things: { keySource: "server" } });
    expect(wrongType.diagnostics.find((d) => d.code === "model/server-key-type")?.location).toEqual({ file: "sync-patterns.config.yaml", pointer: "/entities/things/key_source" });
    const config = parseConfig("spec: openapi.yaml\noutput: out\nentities:\n  things: { key_source: servr }\n", dir, "sync-patterns.config.yaml");
    expect(config.ok).toBe(false);
    expect(!config.ok && config.diagnostics[0]).toMatchObject({ code: "config/wrong-value", location: { pointer: "/entities/things/key_source" } });
    const good = parseConfig("spec: openapi.yaml\noutput: out\nentities:\n  things: { key_source: client }\n", dir, "sync-patterns.config.yaml");
    expect(good.ok && good.value.entities.things).toEqual({ keySource: "client" });
  });

  it("temporary keys fit the column: negative numbers, tmp: text, random uuids", async () => {
    const kinds = await Promise.all(["{ type: integer }", "{ type: string, readOnly: true }"].map(async (key) => (await entities(spec({ key })))[0]!.tempKey?.kind));
    expect(kinds).toEqual(["negative", "prefixed"]);
  });

  it("finds the key in a wrapped create response (`{ data: <row> }`, Directus)", async () => {
    const created = `{ description: ok, content: { application/json: { schema: { type: object, properties: { data: { $ref: "#/components/schemas/Thing" } } } } } }`;
    const [e] = await entities(spec({ key: "{ type: integer }", created }));
    expect(e!.createKeyPath).toEqual(["data", "id"]);
  });
});

describe("located errors for specs that cannot support server keys", () => {
  it("a create response without the key is refused at the create's responses, naming both fixes", async () => {
    const r = await build(spec({ key: "{ type: integer, readOnly: true }", created: "{ description: ok }" }));
    expect(r.ok).toBe(false);
    const d = r.diagnostics.find((x) => x.code === "model/server-key-not-returned")!;
    expect(d.location?.pointer).toBe("/paths/~1things/post/responses");
    expect(d.location?.line).toEqual(expect.any(Number));
    expect(d.message).toContain(`POST /things documents a "id"`);
    expect(d.hint).toContain("Return the created row");
    expect(d.hint).toContain("key_source: client");
  });

  it("a key type that cannot hold a temporary key is refused at the key property", async () => {
    const r = await build(spec({ key: "{ type: string, format: date-time, readOnly: true }" }));
    expect(r.ok).toBe(false);
    expect(r.diagnostics.find((x) => x.code === "model/server-key-type")).toMatchObject({ location: { pointer: "/components/schemas/Thing/properties/id" } });
  });

  it("an unknown key_source is refused at the setting, with did-you-mean", async () => {
    const r = await build(spec({ key: "{ type: integer }", xSync: "{ key_source: servr }" }));
    expect(r.ok).toBe(false);
    expect(r.diagnostics.find((x) => x.code === "model/invalid-x-sync")).toMatchObject({ location: { pointer: "/paths/~1things/x-sync/key_source" }, hint: "Did you mean `server`?" });
  });

  it("x-sync-references naming no entity is refused at the property", async () => {
    const r = await build(spec({ key: "{ type: integer }", props: "        owner: { type: integer, x-sync-references: ownrs }\n" }));
    expect(r.ok).toBe(false);
    expect(r.diagnostics.find((x) => x.code === "model/invalid-x-sync")).toMatchObject({ location: { pointer: "/components/schemas/Thing/properties/owner/x-sync-references" } });
  });
});

describe("references to server-key entities", () => {
  const parts = `  /parts:
    x-sync: true
    get:
      responses: { "200": { description: ok, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/Part" } } } } } }
    post:
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/Part" } } } }
      responses: { "201": { description: ok, content: { application/json: { schema: { $ref: "#/components/schemas/Part" } } } } }
`;
  const part = (props: string) => `    Part:
      type: object
      required: [id]
      properties:
        id: { type: integer }
${props}`;

  it("a field named after the entity's key (thing_id, thingId) or marked x-sync-references refers to it", async () => {
    const es = await entities(spec({ key: "{ type: integer }", more: parts, props: part("        thing_id: { type: integer }\n        thingId: { type: integer }\n        parent: { type: integer, x-sync-references: things }\n        other_id: { type: integer }\n        thing_name: { type: string }\n") }));
    const p = es.find((e) => e.table === "parts")!;
    expect(p.references).toEqual([
      { field: "thing_id", pgType: "integer", table: "things" },
      { field: "thingId", pgType: "integer", table: "things" },
      { field: "parent", pgType: "integer", table: "things" },
    ]);
  });

  it("fields referring to client-key entities need nothing (their keys never change)", async () => {
    const es = await entities(spec({ key: "{ type: string, format: uuid }", more: parts, props: part("        thing_id: { type: string, format: uuid }\n") }));
    expect(es.find((e) => e.table === "parts")!.references).toEqual([]);
  });
});
