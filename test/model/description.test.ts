/**
 * The runtime description of an entity (src/model/description.ts, emitted as sync/entities.ts and
 * read by every runtime module; templates/runtime/SPEC.md, section E): a codec for every column
 * type, the SQL object names from the one list of suffixes, key generation decided once, endpoints
 * with their path parameters, the flags, and hostile names that survive printing unchanged.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildModel } from "../../src/model/build.js";
import { describeEntity } from "../../src/model/description.js";
import { codecOf, pgType, type PgType } from "../../src/model/pg-type.js";
import { BOOKKEEPING, CHANNELS, ENTITY_OBJECT_SUFFIXES, SYNC_STATUS_COLUMN, entityObjectNames, tableNameProblem } from "../../src/model/sql-names.js";
import type { Codec, Entity } from "../../src/model/types.js";
import { printEntity } from "../../src/plan/print/index.js";
import { tsLiteral } from "../../src/plan/print/typescript.js";
import { loadSpec } from "../../src/spec/load.js";
import type { Json } from "../../src/spec/parse.js";
import { REPO } from "../support/project.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-description-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** One synced resource `/things` (item `/things/{id}`) whose item schema is `Thing` with these properties (JSON). */
async function entityOf(opts: { properties: Record<string, Json>; xSync?: Json; required?: string[]; more?: Record<string, Json> }): Promise<Entity> {
  const thing = { $ref: "#/components/schemas/Thing" };
  const json = (schema: Json) => ({ content: { "application/json": { schema } } });
  const spec = {
    openapi: "3.1.0",
    info: { title: "Description", version: "1" },
    paths: {
      "/things": {
        "x-sync": opts.xSync ?? { local_first: true },
        get: { responses: { "200": { description: "ok", ...json({ type: "array", items: thing }) } } },
        post: { requestBody: json(thing), responses: { "201": { description: "ok", ...json(thing) } } },
      },
      "/things/{id}": {
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
        get: { responses: { "200": { description: "ok", ...json(thing) } } },
        patch: { requestBody: json(thing), responses: { "200": { description: "ok" } } },
        delete: { responses: { "204": { description: "ok" } } },
      },
      ...opts.more,
    },
    components: { schemas: { Thing: { type: "object", required: opts.required ?? ["id"], properties: opts.properties } } },
  };
  const file = path.join(dir, `spec-${n++}.json`);
  fs.writeFileSync(file, JSON.stringify(spec));
  const loaded = await loadSpec(file, dir);
  if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  const r = buildModel({ document: loaded.value.document, locate: loaded.value.locate, configFile: "sync-patterns.config.yaml" });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return r.value.entities[0]!;
}

describe("codecs (SPEC E1)", () => {
  // Every Postgres type pg-type.ts returns has exactly one codec; the runtime decides by it.
  const cases: [string, { given: Json; want: { pg: PgType; codec: Codec } }][] = [
    ["a uuid string is a uuid", { given: { type: "string", format: "uuid" }, want: { pg: "uuid", codec: "uuid" } }],
    ["a date-time is a timestamp (read as an ISO string)", { given: { type: "string", format: "date-time" }, want: { pg: "timestamptz", codec: "timestamp" } }],
    ["a date is a date (read as YYYY-MM-DD)", { given: { type: "string", format: "date" }, want: { pg: "date", codec: "date" } }],
    ["a time is a time", { given: { type: "string", format: "time" }, want: { pg: "time", codec: "time" } }],
    ["a decimal string is numeric", { given: { type: "string", format: "decimal" }, want: { pg: "numeric", codec: "numeric" } }],
    ["an int64 is a bigint (read as a number)", { given: { type: "integer", format: "int64" }, want: { pg: "bigint", codec: "bigint" } }],
    ["a binary string is bytes", { given: { type: "string", format: "binary" }, want: { pg: "bytea", codec: "bytes" } }],
    ["a plain string is text", { given: { type: "string" }, want: { pg: "text", codec: "text" } }],
    ["an integer is an int", { given: { type: "integer" }, want: { pg: "integer", codec: "int" } }],
    ["a float is a float", { given: { type: "number", format: "float" }, want: { pg: "real", codec: "float" } }],
    ["a double is a float", { given: { type: "number" }, want: { pg: "double precision", codec: "float" } }],
    ["a boolean is a bool", { given: { type: "boolean" }, want: { pg: "boolean", codec: "bool" } }],
    ["an object is json (written as JSON text)", { given: { type: "object", properties: { a: { type: "string" } } }, want: { pg: "jsonb", codec: "json" } }],
    ["an array is json, never a Postgres array", { given: { type: "array", items: { type: "string" } }, want: { pg: "jsonb", codec: "json" } }],
  ];
  it.each(cases)("%s", (_name, { given, want }) => {
    const pg = pgType(given, {});
    expect({ pg, codec: codecOf(pg) }).toEqual(want);
  });

  it("reaches the description's columns, with the flags", async () => {
    const e = await entityOf({
      properties: {
        id: { type: "string", format: "uuid", readOnly: true },
        due: { type: "string", format: "date" },
        meta: { type: "object" },
        secret: { type: "string", writeOnly: true },
        note: { type: "string", "x-sync-exclude": true },
      },
    });
    const d = describeEntity(e);
    expect(d.columns).toEqual([
      { name: "id", codec: "uuid", sqlType: "uuid", key: true, readOnly: true, writeOnly: false, device: false },
      { name: "due", codec: "date", sqlType: "date", key: false, readOnly: false, writeOnly: false, device: false },
      { name: "meta", codec: "json", sqlType: "jsonb", key: false, readOnly: false, writeOnly: false, device: false },
      { name: "secret", codec: "text", sqlType: "text", key: false, readOnly: false, writeOnly: true, device: false },
      { name: "note", codec: "text", sqlType: "text", key: false, readOnly: false, writeOnly: false, device: true },
    ]);
  });
});

describe("names (SPEC E3, E4)", () => {
  it("the SQL objects are the table name and the suffixes of sql-names.ts, and the description carries them", async () => {
    const e = await entityOf({ properties: { id: { type: "string", format: "uuid" } }, xSync: { table: "items" } });
    expect(describeEntity(e).sql).toEqual({
      view: "items",
      synced: "items_synced",
      local: "items_local",
      rebuild: "items_rebuild",
      onInsert: "items_ins",
      onUpdate: "items_upd",
      onDelete: "items_del",
      feed: "items_feed",
      ack: "items_ack",
      keyType: "uuid",
    });
    const names = entityObjectNames("t");
    for (const [object, suffix] of Object.entries(ENTITY_OBJECT_SUFFIXES)) expect(names[object as keyof typeof names]).toBe(`t${suffix}`);
    expect(names.view).toBe("t");
  });

  it("every bookkeeping name is reserved: no entity's table can take it", () => {
    for (const name of [...Object.values(BOOKKEEPING), ...Object.values(CHANNELS)]) expect(tableNameProblem(name), name).toBeDefined();
  });

  it("E3: the runtime names no bookkeeping object that is missing from the one list (sql-names.ts)", () => {
    const known = new Set<string>([...Object.values(BOOKKEEPING), ...Object.values(CHANNELS), SYNC_STATUS_COLUMN]);
    const runtime = path.join(REPO, "templates/runtime");
    for (const file of fs.readdirSync(runtime).filter((f) => f.endsWith(".ts"))) {
      const text = fs.readFileSync(path.join(runtime, file), "utf8");
      const named = [...text.matchAll(/["'](_(?:sync|changes)[a-z_]*)["']/g)].map((m) => m[1]!);
      for (const name of named) expect(known.has(name), `${file}: ${name}`).toBe(true);
    }
  });

  it("E6: hostile table and column names stay data: the printed description evaluates to the same names", async () => {
    const hostile = ['we"ird', "it's", "*/ end", "${x}", "a`b", "line\nbreak", "\u2028sep", "order"];
    const properties: Record<string, Json> = { id: { type: "string", format: "uuid" } };
    for (const name of hostile) properties[name] = { type: "string" };
    const e = await entityOf({ properties, xSync: { table: 'my "table"' } });
    const d = describeEntity(e);
    expect(d.table).toBe('my "table"');
    expect(d.sql.synced).toBe('my "table"_synced');
    expect(d.columns.map((c) => c.name)).toEqual(["id", ...hostile]);
    const printed = printEntity(e);
    // The literal sync/entities.ts is made of: it must mean exactly the description (no comment or template literal broken open).
    expect(new Function(`return (${printed.descriptionLiteral});`)()).toEqual(d);
    expect(printed.descriptionLiteral).toBe(tsLiteral(d));
    // The SQL text of the same names is printed once too, quoted.
    expect(printed.sql.synced).toBe('"my ""table""_synced"');
    expect(printed.fields.find((f) => f.name === "it's")?.literal).toBe("'it''s'");
  });
});

describe("keys (SPEC E5)", () => {
  const cases: [string, { key: Json; xSync?: Json; want: { keySource: string; newKey: string; tempKind?: string } }][] = [
    ["a client uuid key is made as a uuid", { key: { type: "string", format: "uuid" }, want: { keySource: "client", newKey: "uuid" } }],
    ["a client text key is required", { key: { type: "string" }, xSync: { local_first: true, key_source: "client" }, want: { keySource: "client", newKey: "required" } }],
    ["a server integer key is a negative temporary key", { key: { type: "integer", readOnly: true }, want: { keySource: "server", newKey: "negative", tempKind: "negative" } }],
    ["a server text key is a prefixed temporary key", { key: { type: "string", readOnly: true }, xSync: { local_first: true, key_source: "server" }, want: { keySource: "server", newKey: "prefixed", tempKind: "prefixed" } }],
    ["a server uuid key is a uuid temporary key", { key: { type: "string", format: "uuid" }, xSync: { local_first: true, key_source: "server" }, want: { keySource: "server", newKey: "uuid", tempKind: "uuid" } }],
  ];
  it.each(cases)("%s", async (_name, { key, xSync, want }) => {
    const e = await entityOf({ properties: { id: key, name: { type: "string" } }, ...(xSync ? { xSync } : {}) });
    const d = describeEntity(e);
    expect({ keySource: d.keySource, newKey: d.newKey, ...(e.tempKey ? { tempKind: e.tempKey.kind } : {}) }).toEqual(want);
  });
});

describe("endpoints (SPEC E7)", () => {
  it("carry the method, the path and its parameters; write endpoints bind each parameter to a field", async () => {
    const e = await entityOf({ properties: { id: { type: "string", format: "uuid" } } });
    const d = describeEntity(e);
    expect(d.list).toEqual({ method: "GET", path: "/things", params: [] });
    expect(d.get).toEqual({ method: "GET", path: "/things/{id}", params: ["id"] });
    expect(d.create).toEqual({ method: "POST", path: "/things", parts: ["/things"] });
    expect(d.update).toEqual({ method: "PATCH", path: "/things/{id}", parts: ["/things/", { param: "id", field: "id" }] });
    expect(d.remove).toEqual({ method: "DELETE", path: "/things/{id}", parts: ["/things/", { param: "id", field: "id" }] });
    expect({ mode: d.mode, localFirst: d.localFirst, references: d.references }).toEqual({ mode: "local-first", localFirst: true, references: [] });
  });

  it("carries the scope and the write id", async () => {
    const e = await entityOf({
      properties: { id: { type: "string", format: "uuid" }, household_id: { type: "string", format: "uuid" }, write_id: { type: "string" } },
      xSync: { local_first: true, scope: "household_id", write_id: "write_id" },
    });
    const d = describeEntity(e);
    expect({ scope: d.scope, writeId: d.writeId }).toEqual({ scope: "household_id", writeId: "write_id" });
  });
});

describe("the runtime takes the description (SPEC E2)", () => {
  const runtime = path.join(REPO, "templates/runtime");
  const files = fs.readdirSync(runtime).filter((f) => f.endsWith(".ts"));
  it("E2: never compares Postgres type text, and never finds an entity by table name in a list", () => {
    for (const file of files) {
      const text = fs.readFileSync(path.join(runtime, file), "utf8");
      // (`_sync_schema.columns` keeps its stored JSON field `pgType`; nothing reads it.)
      expect(text, file).not.toMatch(/\.pgType\b/);
      expect(text, file).not.toMatch(/(sqlType|keyType)\s*[!=]==|[!=]==[^;\n]*\.(sqlType|keyType)\b/);
      expect(text, file).not.toMatch(/\.find\(\(\w+\) => \w+\.table ===/);
    }
  });
});
