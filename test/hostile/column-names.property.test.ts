/**
 * Any property name works as a column of the local database, or is refused before any code is
 * written with a located error (issue 12, item 7). A property test over PL/pgSQL keywords, the
 * variables and special variables of the generated functions (`k`, `cid`, `changed`, `new`,
 * `found`, `tg_op`, ...), system columns (`xmin`, `ctid`, ...), the local database's own names,
 * quotes, long and empty names, in upper and lower case. Each generated entity (with such names
 * as key, data field, device-only field and write-id echo) gets its tables in a real in-memory
 * PGlite through the generated migration code; then a row is inserted, updated and deleted
 * locally and the server's rows are applied through the shape sync's own code, and the change
 * log must end up synced.
 */
import { PGlite } from "@electric-sql/pglite";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pointerJoin, type Diagnostic } from "../../src/diagnostics/diagnostic.js";
import { buildModel } from "../../src/model/build.js";
import { columnNameProblem } from "../../src/model/sql-names.js";
import type { Entity, SpecModel } from "../../src/model/types.js";
import { printEntity, templateBase } from "../../src/plan/print/index.js";
import { LayeredEta } from "../../src/render/templates.js";
import { BUILTIN_TEMPLATES } from "../../src/render/templates.js";
import type { Json } from "../../src/spec/parse.js";
import { entitySpec, generateClient } from "../support/generated.js";

/** Names of the generated PL/pgSQL (variables before issue 12, special variables, aliases) and the change log's columns. */
const PLPGSQL_NAMES = [
  "k", "cid", "changed", "val", "new", "old", "found", "tg_op", "device_changed", "tg_name", "tg_when", "tg_level",
  "tg_relid", "tg_relname", "tg_table_name", "tg_table_schema", "tg_nargs", "tg_argv", "sqlstate", "sqlerrm",
  "ch", "r", "v", "open_changes", "has_failed", "n", "o", "s", "l", "c", "u", "e", "snap", "ent", "txids",
  "change_ids", "missing", "cols", "local_table", "hit", "excluded", "new_rows", "old_rows", "value", "status",
  "entity", "row_key", "op", "seq", "change_id", "txid", "changed_columns", "attempts", "last_error",
  "_sp_v_cid", "_sp_v_key", "_sp_v_r",
];
/** SQL and PL/pgSQL keywords. */
const KEYWORDS = [
  "select", "from", "where", "order", "user", "table", "end", "begin", "declare", "if", "then", "else", "elsif",
  "loop", "for", "return", "perform", "raise", "exception", "record", "null", "true", "false", "array", "case",
  "when", "all", "any", "exists", "strict", "into", "using", "execute", "constant", "alias", "diagnostics", "get",
  "notice", "rowtype", "type", "default", "check", "primary", "references", "unique", "column", "offset", "limit",
];
/** Postgres system columns and names that look like them, the local database's own names, and awkward strings. */
const SYSTEM_LIKE = ["xmin", "xmax", "cmin", "cmax", "ctid", "tableoid", "oid", "xmin_", "_xmin", "ctid2"];
const OWN_NAMES = ["_sync_status", "_sp_changed", "_sp_status", "_sp_x", "$sp$", "a$sp$b", "_changes", "_sync_seen_txids"];
const AWKWARD = ["", "x".repeat(63), "x".repeat(64), "é".repeat(32), 'quo"te', "it's", "semi;colon", "-- c", "/*", "line\nbreak", "nul\u0000", "$1", "%I", "k::text", "a b"];

const variants = (n: string): string[] => [...new Set([n, n.toUpperCase(), n.charAt(0).toUpperCase() + n.slice(1)])];
const hostileName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...PLPGSQL_NAMES, ...KEYWORDS, ...SYSTEM_LIKE).chain((n) => fc.constantFrom(...variants(n))) },
  { weight: 2, arbitrary: fc.constantFrom(...OWN_NAMES, ...AWKWARD) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);

const FILE = "openapi.json";
const SCHEMA_POINTER = "/components/schemas/Thing";

interface Case {
  key: string;
  data: string;
  device: string;
  writeId: string | undefined;
}

function specFor(c: Case, table: string): Record<string, Json> {
  const properties: Record<string, Json> = {
    [c.key]: { type: "string", format: "uuid" },
    [c.data]: { type: ["string", "null"] },
    [c.device]: { type: "string", "x-sync-exclude": true },
  };
  if (c.writeId !== undefined) properties[c.writeId] = { type: ["string", "null"], format: "uuid", readOnly: true };
  const ref = { $ref: "#/components/schemas/Thing" };
  const body = { required: true, content: { "application/json": { schema: ref } } };
  return {
    openapi: "3.1.0",
    info: { title: "Column names", version: "1" },
    paths: {
      "/things": {
        "x-sync": { local_first: true, table, key: c.key, ...(c.writeId !== undefined ? { write_id: c.writeId } : {}) },
        get: { operationId: "listThings", responses: { "200": { description: "ok", content: { "application/json": { schema: { type: "array", items: ref } } } } } },
        post: { operationId: "createThing", requestBody: body, responses: { "201": { description: "ok" } } },
      },
      "/things/{id}": {
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } }],
        patch: { operationId: "updateThing", requestBody: body, responses: { "200": { description: "ok" } } },
        delete: { operationId: "deleteThing", responses: { "204": { description: "ok" } } },
      },
    },
    components: { schemas: { Thing: { type: "object", required: [c.key], properties } } },
  };
}

type Pg = PGlite;
interface Runtime {
  migrate(pg: Pg, schema: { shared: string; entities: unknown[]; objectSuffixes: unknown }): Promise<unknown>;
  quoteIdent(name: string): string;
}
interface ShapeSyncModule {
  applyChanges(tx: unknown, synced: string, key: string, columns: string[], batch: { headers: { operation: string }; value: Record<string, unknown> }[]): Promise<void>;
}

let pg: Pg;
let runtime: Runtime;
let shapeSync: ShapeSyncModule;
const eta = new LayeredEta([BUILTIN_TEMPLATES]);
let tableCounter = 0;

beforeAll(async () => {
  // The runtime as a generated client ships it (db/local-db.ts, sync/shape-sync.ts).
  const out = await generateClient("column-names", entitySpec());
  runtime = (await import(`${out}/db/local-db.ts`)) as Runtime;
  shapeSync = (await import(`${out}/sync/shape-sync.ts`)) as ShapeSyncModule;
  pg = new PGlite();
}, 60_000);
afterAll(async () => pg?.close());

const q = (name: string): string => runtime.quoteIdent(name);

async function exerciseEntity(facts: Entity, c: Case): Promise<void> {
  // The template context of the entity, as the generator renders it (src/plan/print).
  const { sql, objectSuffixes } = templateBase({ schemas: [], entities: [], operations: [], groups: [] } as unknown as SpecModel, { apiUrl: "" });
  const e = printEntity(facts);
  await runtime.migrate(pg, {
    shared: eta.render("partials/sql/shared.eta", { sql }),
    entities: [
      {
        entity: e.description,
        tables: eta.render("partials/sql/tables.eta", { entity: e, sql }),
        objects: eta.render("partials/sql/objects.eta", { entity: e, sql }),
      },
    ],
    objectSuffixes,
  });
  const view = q(e.table);
  const [key, data, device] = [q(c.key), q(c.data), q(c.device)];
  const row = async (id: string) => (await pg.query<Record<string, unknown>>(`SELECT * FROM ${view} WHERE ${key} = $1`, [id])).rows[0];
  const log = async (id: string) => (await pg.query<{ op: string; value: Record<string, unknown>; status: string; change_id: string }>(`SELECT "op", "value", "status", "change_id" FROM "_changes" WHERE "entity" = $1 AND "row_key" = $2 ORDER BY "seq"`, [e.table, id])).rows;
  const synced = q(`${e.table}_synced`);
  const columns = e.syncedFields.map((f) => f.name);
  /** The server's row arriving on the shape stream; the write id echoes the last change, or the writer acknowledges by change id. */
  const serverSends = async (operation: string, id: string, value: Record<string, unknown>, changeIds: string[]) => {
    await pg.transaction(async (tx) => {
      const echo = c.writeId !== undefined && operation !== "delete" ? { [c.writeId]: changeIds[changeIds.length - 1] } : {};
      await shapeSync.applyChanges(tx, synced, c.key, columns, [{ headers: { operation }, value: { [c.key]: id, ...value, ...echo } }]);
      if (c.writeId === undefined || operation === "delete") await tx.query(`SELECT "_sync_acknowledge"($1, NULL, $2::text[])`, [e.table, changeIds]);
    });
  };

  // Insert through the view: the key is generated, the row shows as pending, the change logs the data but not the device field.
  const inserted = await pg.query<Record<string, unknown>>(`INSERT INTO ${view} (${data}, ${device}) VALUES ('one', 'mine') RETURNING ${key}`);
  const id = inserted.rows[0]![c.key] as string;
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  expect(await row(id)).toMatchObject({ [c.data]: "one", [c.device]: "mine", _sync_status: "pending" });
  let changes = await log(id);
  expect(changes.map((ch) => ch.op)).toEqual(["insert"]);
  expect(changes[0]!.value).toMatchObject({ [c.key]: id, [c.data]: "one" });
  expect(changes[0]!.value).not.toHaveProperty([c.device]);

  // Update: only the changed column is logged.
  await pg.query(`UPDATE ${view} SET ${data} = 'two' WHERE ${key} = $1`, [id]);
  expect(await row(id)).toMatchObject({ [c.data]: "two", _sync_status: "pending" });
  changes = await log(id);
  expect(changes.map((ch) => ch.op)).toEqual(["insert", "update"]);
  expect(changes[1]!.value).toEqual({ [c.key]: id, [c.data]: "two" });

  // The server's row arrives and acknowledges both changes: the overlay folds away, the device field stays.
  await serverSends("insert", id, { [c.data]: "two" }, changes.map((ch) => ch.change_id));
  expect((await log(id)).map((ch) => ch.status)).toEqual(["synced", "synced"]);
  expect(await row(id)).toMatchObject({ [c.data]: "two", [c.device]: "mine", _sync_status: "synced" });

  // An update from the server shows through.
  await pg.transaction((tx) => shapeSync.applyChanges(tx, synced, c.key, columns, [{ headers: { operation: "update" }, value: { [c.key]: id, [c.data]: "three" } }]));
  expect(await row(id)).toMatchObject({ [c.data]: "three", _sync_status: "synced" });

  // Delete through the view: hidden at once, logged, and gone for good when the server's delete arrives.
  await pg.query(`DELETE FROM ${view} WHERE ${key} = $1`, [id]);
  expect(await row(id)).toBeUndefined();
  changes = await log(id);
  expect(changes.map((ch) => [ch.op, ch.status])).toEqual([["insert", "synced"], ["update", "synced"], ["delete", "pending"]]);
  await serverSends("delete", id, {}, [changes[2]!.change_id]);
  expect((await log(id)).map((ch) => ch.status)).toEqual(["synced", "synced", "synced"]);
  expect(await row(id)).toBeUndefined();
}

function expectRefused(diagnostics: Diagnostic[], c: Case): void {
  const names = [c.key, c.data, c.device, ...(c.writeId !== undefined ? [c.writeId] : [])];
  for (const name of names.filter((n) => columnNameProblem(n) !== undefined)) {
    const d = diagnostics.find((x) => x.location?.pointer === pointerJoin(SCHEMA_POINTER, "properties", name));
    expect(d, `a located error for ${JSON.stringify(name)} in ${JSON.stringify(diagnostics)}`).toBeDefined();
    expect(d!.severity).toBe("error");
    expect(d!.code).toMatch(/^model\/(reserved-column|invalid-column|column-name-too-long)$/);
    expect(d!.location!.file).toBe(FILE);
    expect(d!.message).toContain(JSON.stringify(name));
    expect(d!.hint).toMatch(/Rename/);
  }
}

async function check(c: Case): Promise<void> {
  const table = `t${tableCounter++}`;
  const model = buildModel({ document: specFor(c, table), locate: (pointer) => ({ file: FILE, pointer }) });
  const refused = [c.key, c.data, c.device, ...(c.writeId !== undefined ? [c.writeId] : [])].some((n) => columnNameProblem(n) !== undefined);
  if (refused) {
    expect(model.ok).toBe(false);
    expectRefused(model.diagnostics, c);
    return;
  }
  if (!model.ok) throw new Error(`${JSON.stringify(c)} does not build: ${model.diagnostics.map((d) => `${d.code} ${d.message}`).join("; ")}`);
  const e = model.value.entities[0]!;
  try {
    await exerciseEntity(e, c);
  } catch (error) {
    throw new Error(`${JSON.stringify(c)}: ${(error as Error).message}`, { cause: error });
  }
}

const caseArb = fc
  // An empty x-sync.key is an x-sync error of its own (model/invalid-x-sync), not a column name.
  .tuple(fc.uniqueArray(hostileName, { minLength: 4, maxLength: 4 }).filter(([key]) => key !== ""), fc.boolean())
  .map(([[key, data, device, writeId], withWriteId]): Case => ({ key: key!, data: data!, device: device!, writeId: withWriteId ? writeId : undefined }));

describe("any property name is a working column or a located error", () => {
  it("the names of issue 12 work as key, data, device-only and write-id columns", async () => {
    const issueNames = ["k", "cid", "changed", "val", "new", "old", "found", "tg_op", "device_changed"];
    for (const [i, name] of issueNames.entries()) {
      const other = issueNames[(i + 1) % issueNames.length]!;
      await check({ key: "id", data: name, device: other, writeId: undefined });
      await check({ key: name, data: other, device: "note", writeId: issueNames[(i + 2) % issueNames.length] });
    }
  }, 120_000);

  it("system columns and the local database's own names are refused at the property, with a hint", async () => {
    for (const name of ["xmin", "ctid", "tableoid", "cmin", "cmax", "xmax", "_sync_status", "_sp_changed", "a$sp$b", "", "x".repeat(64)]) {
      await check({ key: "id", data: name, device: "note", writeId: undefined });
    }
  });

  it("generate refuses a system column with the model error (the pipeline writes nothing on an error)", async () => {
    const spec = entitySpec({ fields: "        name: { type: string }\n        ctid: { type: string }" });
    await expect(generateClient("column-names-ctid", spec)).rejects.toThrow(/^model\/reserved-column Property "ctid" of entity thing \(\/things\) cannot be a column/m);
  });

  it("oid is an ordinary column (Postgres 12 dropped WITH OIDS)", async () => {
    await check({ key: "id", data: "oid", device: "note", writeId: undefined });
  });

  it("property: generated entities with hostile names write, update, delete and sync a row", async () => {
    await fc.assert(fc.asyncProperty(caseArb, check), { numRuns: Number(process.env.FC_RUNS ?? 150), seed: Number(process.env.FC_SEED ?? 20261128) });
  }, 600_000);
});

describe("upgrading a database made before issue 12", () => {
  it("replaces the rebuild function whose parameter was named k", async () => {
    const c: Case = { key: "id", data: "k", device: "note", writeId: undefined };
    const table = `t${tableCounter++}`;
    const model = buildModel({ document: specFor(c, table), locate: (pointer) => ({ file: FILE, pointer }) });
    if (!model.ok) throw new Error("does not build");
    await exerciseEntity(model.value.entities[0]!, c);
    // What an earlier generation left behind: the parameter named `k`, and another objects version.
    await pg.exec(`DROP FUNCTION "${table}_rebuild"(text); CREATE FUNCTION "${table}_rebuild"(k text) RETURNS void LANGUAGE sql AS 'SELECT NULL';
      UPDATE "_sync_schema" SET "objects_version" = 'before' WHERE "entity" = '${table}';`);
    await exerciseEntity(model.value.entities[0]!, c);
    const params = await pg.query<{ args: string }>(`SELECT pg_get_function_arguments('"${table}_rebuild"(text)'::regprocedure) AS args`);
    expect(params.rows[0]!.args).toBe("_sp_v_key text");
  });
});
