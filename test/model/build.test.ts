import path from "node:path";
import { printTsType } from "../../src/plan/print/typescript.js";
import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";
import { buildModel, type ModelInput } from "../../src/model/build.js";
import type { Entity, SpecModel } from "../../src/model/types.js";
import { loadSpec } from "../../src/spec/load.js";
import type { EntitySql } from "../../src/plan/context.js";
import { printEntity } from "../../src/plan/print/index.js";

const REPO = path.resolve(import.meta.dirname, "../..");
const EXAMPLE = "examples/finance-tracker/openapi.yaml";
const FIXTURES = "test/fixtures/specs";
const CONFIG_FILE = "sync-patterns.config.yaml";

/** Loads a spec (path relative to the repository) and builds its model. */
async function build(spec: string, entities?: ModelInput["entities"]) {
  const loaded = await loadSpec(spec, REPO);
  if (!loaded.ok) throw new Error(`${spec} does not load: ${loaded.diagnostics.map((d) => d.code).join(", ")}`);
  return buildModel({ document: loaded.value.document, locate: loaded.value.locate, configFile: CONFIG_FILE, ...(entities ? { entities } : {}) });
}

async function buildOk(spec: string, entities?: ModelInput["entities"]): Promise<{ model: SpecModel; diagnostics: Diagnostic[] }> {
  const r = await build(spec, entities);
  if (!r.ok) throw new Error(`${spec} does not build: ${r.diagnostics.map((d) => `${d.code} ${d.location?.pointer}`).join(", ")}`);
  return { model: r.value, diagnostics: r.diagnostics };
}

function entity(model: SpecModel, name: string): Entity {
  const e = model.entities.find((x) => x.names.original === name);
  if (!e) throw new Error(`no entity ${name}; entities: ${model.entities.map((x) => x.names.original).join(", ")}`);
  return e;
}

const codes = (diagnostics: Diagnostic[]): string[] => diagnostics.map((d) => d.code);

describe("buildModel on the finance-tracker example", async () => {
  const { model, diagnostics } = await buildOk(EXAMPLE);

  it("builds without diagnostics (the read-only memberships x-rbac.roles names need no write endpoints)", () => {
    expect(diagnostics).toEqual([]);
  });

  it("makes entities of exactly the x-sync resources", () => {
    expect(model.entities.map((e) => e.names.original).sort()).toEqual(["account", "contact", "household_member", "transaction"]);
  });

  const entityCases: [string, { given: string; want: { mode: string; localFirst: boolean; table: string; sql: Pick<EntitySql, "table" | "synced" | "local" | "view">; key: string; row: string; write: string } }][] = [
    [
      "reads x-sync: true as a confirmed entity",
      { given: "account", want: { mode: "confirmed", localFirst: false, table: "accounts", sql: { table: '"accounts"', synced: '"accounts_synced"', local: '"accounts_local"', view: '"accounts"' }, key: "id", row: "Account", write: "AccountWrite" } },
    ],
    [
      "reads local_first and table of x-sync",
      { given: "contact", want: { mode: "local-first", localFirst: true, table: "contacts", sql: { table: '"contacts"', synced: '"contacts_synced"', local: '"contacts_local"', view: '"contacts"' }, key: "id", row: "Contact", write: "ContactWrite" } },
    ],
    [
      "derives the table from the plural name when x-sync has none",
      { given: "transaction", want: { mode: "local-first", localFirst: true, table: "transactions", sql: { table: '"transactions"', synced: '"transactions_synced"', local: '"transactions_local"', view: '"transactions"' }, key: "id", row: "Transaction", write: "TransactionWrite" } },
    ],
  ];
  it.each(entityCases)("%s", (_name, { given, want }) => {
    // The quoted names are printed once, into the template context (src/plan/print).
    const e = printEntity(entity(model, given));
    expect({ mode: e.mode, localFirst: e.localFirst, table: e.table, sql: { table: e.sql.table, synced: e.sql.synced, local: e.sql.local, view: e.sql.view }, key: e.key, row: e.types.row, write: e.types.write }).toEqual(want);
    expect(e.keyField.name).toBe("id");
    expect(e.keyField.isKey).toBe(true);
  });

  const endpointCases: [string, { given: string; want: Record<string, string> }][] = [
    ["links every CRUD endpoint of contacts", { given: "contact", want: { list: "listContacts", get: "getContact", create: "createContact", update: "updateContact", delete: "deleteContact" } }],
    ["links every CRUD endpoint of accounts", { given: "account", want: { list: "listAccounts", get: "getAccount", create: "createAccount", update: "updateAccount", delete: "deleteAccount" } }],
  ];
  it.each(endpointCases)("%s", (_name, { given, want }) => {
    const endpoints = entity(model, given).endpoints;
    expect(Object.fromEntries(Object.entries(endpoints).map(([k, v]) => [k, v.fnName]))).toEqual(want);
    expect(endpoints.update?.method).toBe("patch");
    expect(endpoints.delete?.path).toMatch(/\/\{id\}$/);
  });

  const fieldCases: [string, { given: string; want: { pgType: string; nullable: boolean; required: boolean; readOnly: boolean; syncExclude: boolean; ownerOnly: boolean } }][] = [
    ["maps the uuid key, read-only", { given: "id", want: { pgType: "uuid", nullable: false, required: true, readOnly: true, syncExclude: false, ownerOnly: false } }],
    ["maps a required string to text", { given: "first_name", want: { pgType: "text", nullable: false, required: true, readOnly: false, syncExclude: false, ownerOnly: false } }],
    ["maps a nullable email to nullable text", { given: "email", want: { pgType: "text", nullable: true, required: false, readOnly: false, syncExclude: false, ownerOnly: false } }],
    ["marks x-owner-only on a nullable decimal", { given: "credit_limit", want: { pgType: "numeric", nullable: true, required: false, readOnly: false, syncExclude: false, ownerOnly: true } }],
    ["marks x-sync-exclude", { given: "local_notes", want: { pgType: "text", nullable: false, required: false, readOnly: false, syncExclude: true, ownerOnly: false } }],
    ["maps a date-time to timestamptz", { given: "created_at", want: { pgType: "timestamptz", nullable: false, required: true, readOnly: true, syncExclude: false, ownerOnly: false } }],
  ];
  it.each(fieldCases)("contact field: %s", (_name, { given, want }) => {
    const f = entity(model, "contact").fields.find((x) => x.name === given);
    expect(f).toBeDefined();
    expect({ pgType: f!.pgType, nullable: f!.nullable, required: f!.required, readOnly: f!.readOnly, syncExclude: f!.syncExclude, ownerOnly: f!.ownerOnly }).toEqual(want);
  });

  it("lists the contact fields in spec order", () => {
    expect(entity(model, "contact").fields.map((f) => f.name)).toEqual(["id", "household_id", "first_name", "last_name", "email", "phone", "company", "credit_limit", "local_notes", "created_at", "updated_at"]);
  });

  it("quotes every column as an SQL identifier", () => {
    for (const e of model.entities.map(printEntity)) for (const f of e.fields) expect(f.column).toBe(`"${f.name}"`);
  });

  it("reads x-rbac field groups and role permissions", () => {
    expect(entity(model, "contact").rbac).toEqual({
      fieldGroups: [
        { name: "basic", fields: ["first_name", "last_name", "email", "phone"] },
        { name: "financial", fields: ["credit_limit"] },
      ],
      rolePermissions: [
        { role: "viewer", groups: [] },
        { role: "editor", groups: ["basic"] },
        { role: "owner", groups: ["basic", "financial"] },
      ],
      create: ["editor", "owner"],
      delete: ["owner"],
      ownerRole: "owner",
      roles: { collection: "householdMembers", entity: "household_member", match: "household_id", role: "role", scope: "household_id", table: "household_members" },
    });
  });

  it("keeps entities without x-rbac free of rbac", () => {
    expect(entity(model, "household_member").rbac).toBeUndefined();
  });

  it("keeps the non-synced categories a resource, not an entity", () => {
    expect(model.resources.map((r) => r.names.original)).toContain("category");
    expect(model.entities.map((e) => e.names.original)).not.toContain("category");
  });
});

describe("buildModel with entities from the config", () => {
  it("makes a resource without x-sync an entity in the configured mode", async () => {
    const { model, diagnostics } = await buildOk(EXAMPLE, { category: { mode: "local-first" } });
    const category = entity(model, "category");
    expect({ mode: category.mode, table: category.table }).toEqual({ mode: "local-first", table: "categories" });
    // Categories have no update or delete endpoint.
    expect(codes(diagnostics)).toEqual(["model/entity-partial-crud"]);
  });

  it("overrides the mode and table that x-sync sets", async () => {
    const { model } = await buildOk(EXAMPLE, { contacts: { mode: "confirmed", table: "people" } });
    const contact = printEntity(entity(model, "contact"));
    expect({ mode: contact.mode, table: contact.table, sql: contact.sql.table }).toEqual({ mode: "confirmed", table: "people", sql: '"people"' });
  });

  it("reports an unknown configured entity at its config entry, suggesting the closest resource", async () => {
    const r = await build(EXAMPLE, { categroy: { mode: "local-first" } });
    expect(r.ok).toBe(false);
    const d = r.diagnostics.find((x) => x.code === "model/unknown-entity");
    expect(d?.severity).toBe("error");
    expect(d?.location).toMatchObject({ file: CONFIG_FILE, pointer: "/entities/categroy" });
    expect(d?.hint).toContain('"category"');
  });
});

describe("buildModel errors", () => {
  const cases: [string, { given: string; want: { code: string; pointer: string; line: number; hint?: string } }][] = [
    ["rejects x-sync that is neither true nor an object", { given: "broken/x-sync-not-object.yaml", want: { code: "model/invalid-x-sync", pointer: "/paths/~1api~1notes/x-sync", line: 8 } }],
    ["rejects an unknown x-sync key, suggesting the known one", { given: "broken/x-sync-unknown-key.yaml", want: { code: "model/invalid-x-sync", pointer: "/paths/~1api~1notes/x-sync/local_frist", line: 9, hint: "local_first" } }],
    [
      "rejects an entity whose item schema has no key property",
      { given: "broken/entity-without-key.yaml", want: { code: "model/entity-without-key", pointer: "/paths/~1api~1notes/get/responses/200/content/application~1json/schema/items", line: 18 } },
    ],
    ["rejects an x-rbac group naming an unknown field, suggesting the close one", { given: "broken/rbac-unknown-field.yaml", want: { code: "model/rbac-unknown-field", pointer: "/paths/~1api~1people/x-rbac/field_groups/basic/1", line: 11, hint: "email" } }],
    ["rejects two entities with the same table, at the second one", { given: "broken/duplicate-table.yaml", want: { code: "model/duplicate-table", pointer: "/paths/~1api~1tasks/x-sync", line: 33 } }],
    ["rejects a table the other entity's tables overlap (items next to items_local)", { given: "broken/overlapping-tables.yaml", want: { code: "model/duplicate-table", pointer: "/paths/~1api~1tasks/x-sync", line: 33, hint: "its own name" } }],
    ["rejects a table named like the local database's own (_sync_seen_txids)", { given: "broken/reserved-table.yaml", want: { code: "model/reserved-table", pointer: "/paths/~1api~1notes/x-sync", line: 8, hint: "Set another `table`" } }],
    ["rejects a property named like a Postgres system column, at the property inside the allOf member", { given: "broken/system-column.yaml", want: { code: "model/reserved-column", pointer: "/components/schemas/Versioned/properties/xmin", line: 37, hint: "xmin_value" } }],
  ];
  it.each(cases)("%s", async (_name, { given, want }) => {
    const file = `${FIXTURES}/${given}`;
    const r = await build(file);
    expect(r.ok).toBe(false);
    const errors = r.diagnostics.filter((d) => d.severity === "error");
    expect(errors.map((d) => d.code)).toEqual([want.code]);
    expect(errors[0]!.location).toMatchObject({ file, pointer: want.pointer, line: want.line });
    if (want.hint) expect(errors[0]!.hint).toContain(want.hint);
  });
});

describe("buildModel naming", () => {
  it("names two schemas that differ only in case distinctly, with a warning at the later one", async () => {
    const file = `${FIXTURES}/schema-case-collision.yaml`;
    const { model, diagnostics } = await buildOk(file);
    expect(model.schemas.map((s) => [s.original, s.name])).toEqual([
      ["User", "User"],
      ["user", "User2"],
    ]);
    expect(codes(diagnostics)).toEqual(["model/name-collision"]);
    expect(diagnostics[0]!.severity).toBe("warning");
    expect(diagnostics[0]!.location).toMatchObject({ file, pointer: "/components/schemas/user", line: 14 });
  });

  it("gives operations with the same operationId distinct function names, with a warning", async () => {
    const file = `${FIXTURES}/duplicate-operation-id.yaml`;
    const { model, diagnostics } = await buildOk(file);
    expect(model.operations.map((o) => [o.path, o.fnName])).toEqual([
      ["/api/a", "listThings"],
      ["/api/b", "listThings2"],
    ]);
    expect(codes(diagnostics)).toEqual(["model/duplicate-operation-id"]);
    expect(diagnostics[0]!.location).toMatchObject({ file, pointer: "/paths/~1api~1b/get/operationId", line: 15 });
  });

  const schemaNames: [string, { given: string; want: string }][] = [
    ["capitalises a schema named after a keyword", { given: "delete", want: "Delete" }],
    ["renames a schema that shadows a global type", { given: "Record", want: "RecordSchema" }],
  ];
  it.each(schemaNames)("%s", async (_name, { given, want }) => {
    const { model, diagnostics } = await buildOk(`${FIXTURES}/reserved-schema-names.yaml`);
    expect(model.schemas.find((s) => s.original === given)?.name).toBe(want);
    expect(diagnostics).toEqual([]);
  });

  const operationNames: [string, { given: { method: string; path: string }; want: { id: string; fnName: string } }][] = [
    ["suffixes an operationId that is a keyword", { given: { method: "delete", path: "/api/things/{id}" }, want: { id: "delete", fnName: "delete_" } }],
    ["derives a name from method and path without an operationId", { given: { method: "get", path: "/api/things/{id}" }, want: { id: "get /api/things/{id}", fnName: "getApiThingsId" } }],
  ];
  it.each(operationNames)("%s", async (_name, { given, want }) => {
    const { model } = await buildOk(`${FIXTURES}/operation-names.yaml`);
    const op = model.operations.find((o) => o.method === given.method && o.path === given.path);
    expect({ id: op?.id, fnName: op?.fnName }).toEqual(want);
  });

  const hostile: [string, { given: string; want: { original: string; table: string; sql: Pick<EntitySql, "table" | "synced" | "local" | "view"> } }][] = [
    [
      "strips quotes of a path segment from the entity name and table",
      { given: '/api/"weird"', want: { original: "weird", table: "weirds", sql: { table: '"weirds"', synced: '"weirds_synced"', local: '"weirds_local"', view: '"weirds"' } } },
    ],
    [
      "quotes a table derived from a reserved SQL word",
      { given: "/api/order", want: { original: "order", table: "orders", sql: { table: '"orders"', synced: '"orders_synced"', local: '"orders_local"', view: '"orders"' } } },
    ],
  ];
  it.each(hostile)("%s", async (_name, { given, want }) => {
    const { model } = await buildOk(`${FIXTURES}/hostile-paths.yaml`);
    const found = model.entities.find((x) => x.path === given);
    const e = found && printEntity(found);
    expect(e && { original: e.names.original, table: e.table, sql: { table: e.sql.table, synced: e.sql.synced, local: e.sql.local, view: e.sql.view } }).toEqual(want);
    expect(e!.fields.find((f) => f.name === "order")?.column).toBe('"order"');
  });

  // pointerSegments percent-decodes plain JSON pointers, so locating `/paths/~1api~1stock%` throws URIError.
  it("builds a spec with a percent sign in a path, returning its warning instead of throwing", async () => {
    const file = `${FIXTURES}/percent-in-path.yaml`;
    const { model, diagnostics } = await buildOk(file);
    expect(model.entities.map((e) => [e.path, e.table])).toEqual([["/api/stock%", "stocks"]]);
    expect(codes(diagnostics)).toEqual(["model/entity-partial-crud"]);
    expect(diagnostics[0]!.location).toMatchObject({ file, pointer: "/paths/~1api~1stock%", line: 19 });
  });

  it("builds a self-referencing component schema as a reference to itself", async () => {
    const { model } = await buildOk(`${FIXTURES}/cyclic-schema.yaml`);
    const tree = model.schemas.find((s) => s.original === "TreeNode");
    expect(tree?.properties.map((p) => [p.name, printTsType(p.type)])).toEqual([
      ["id", "string"],
      ["children", "TreeNode[]"],
    ]);
  });
});
