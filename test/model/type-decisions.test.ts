/**
 * Decisions that depend on a TypeScript type are made on the model's type data (`TsType`,
 * src/model/ts-type.ts), not on printed text (issue 14, item 2): whether an operation group
 * imports the schema types (`usesSchemaTypes`, `queriesUseSchemaTypes`) and whether a numeric
 * field travels as a JSON string (`numericString`). Text that merely looks like a type (a string
 * literal `"T.Contact"`, a property named `string`) does not change them.
 */
import { describe, expect, it } from "vitest";
import { buildModel } from "../../src/model/build.js";
import type { SpecModel } from "../../src/model/types.js";
import type { Json } from "../../src/spec/parse.js";
import { printTsType } from "../../src/plan/print/typescript.js";
import { printModel } from "../../src/plan/print/index.js";

const ok = (schema: Json) => ({ "200": { description: "ok", content: { "application/json": { schema } } } });

function build(doc: Json): SpecModel {
  const r = buildModel({ document: doc as Record<string, Json>, locate: (pointer) => ({ file: "spec.yaml", pointer }) });
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  return r.value;
}

const item = {
  type: "object",
  required: ["id", "price"],
  properties: {
    id: { type: "string", format: "uuid" },
    price: { type: "string", format: "decimal" },
    weight: { type: ["string", "null"], format: "decimal" },
    counter: { type: "string", format: "int64" },
    total: { type: "number", format: "decimal" },
    big: { type: "integer", format: "int64" },
    code: { type: "string", enum: ["1", "2"], format: "decimal" },
    tags: { type: "object", properties: { string: { type: "number", format: "decimal" } } },
  },
};

const doc: Json = {
  openapi: "3.1.0",
  info: { title: "t", version: "1" },
  paths: {
    "/items": {
      "x-sync": { local_first: true },
      get: { operationId: "listItems", tags: ["items"], responses: ok({ type: "array", items: { $ref: "#/components/schemas/Item" } }) },
      post: {
        operationId: "createItem",
        tags: ["items"],
        requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/Item" } } } },
        responses: ok({ $ref: "#/components/schemas/Item" }),
      },
    },
    "/items/{id}": {
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      get: { operationId: "getItem", tags: ["items"], responses: ok({ $ref: "#/components/schemas/Item" }) },
      patch: { operationId: "updateItem", tags: ["items"], requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/Item" } } } }, responses: ok({ $ref: "#/components/schemas/Item" }) },
      delete: { operationId: "deleteItem", tags: ["items"], responses: { "204": { description: "gone" } } },
    },
    // A literal that reads like a schema type, and a property named like one: no schema type is used.
    "/lookalike": {
      get: {
        operationId: "lookalike",
        tags: ["lookalike"],
        parameters: [{ name: "T.Item", in: "query", schema: { type: "string", enum: ["T.Item", "x T.Item"] } }],
        responses: ok({ type: "object", properties: { "T.Item": { const: "T.Item" } } }),
      },
    },
    // A schema type only in an error body: api/ imports it, queries/ does not.
    "/errors-only": {
      get: {
        operationId: "errorsOnly",
        tags: ["errorsOnly"],
        responses: { ...ok({ type: "string" }), "404": { description: "no", content: { "application/json": { schema: { $ref: "#/components/schemas/Item" } } } } },
      },
    },
    // Deep inside a union, an array and a record.
    "/deep": {
      get: {
        operationId: "deep",
        tags: ["deep"],
        responses: ok({ oneOf: [{ type: "string" }, { type: "object", additionalProperties: { type: "array", items: { $ref: "#/components/schemas/Item" } } }] }),
      },
    },
  },
  components: { schemas: { Item: item } },
};

describe("decisions on the model's type data", () => {
  const model = build(doc);
  const group = (name: string) => model.groups.find((g) => g.name === name)!;

  it("a string literal or a property named like a schema type does not import the schema types", () => {
    expect(printTsType(model.operations.find((o) => o.fnName === "lookalike")!.response)).toBe('{ "T.Item"?: "T.Item" }');
    expect(group("lookalike")).toMatchObject({ usesSchemaTypes: false, queriesUseSchemaTypes: false });
  });

  it("a schema type only in an error body is imported by api/, not by queries/", () => {
    expect(group("errorsOnly")).toMatchObject({ usesSchemaTypes: true, queriesUseSchemaTypes: false });
  });

  it("a schema type deep inside a union, a record and an array is found", () => {
    expect(printTsType(model.operations.find((o) => o.fnName === "deep")!.response)).toBe("string | Record<string, T.Item[]>");
    expect(group("deep")).toMatchObject({ usesSchemaTypes: true, queriesUseSchemaTypes: true });
    expect(group("items")).toMatchObject({ usesSchemaTypes: true, queriesUseSchemaTypes: true });
  });

  it("a numeric field travels as a string when its type admits a string, not when the text merely contains one", () => {
    const fields = Object.fromEntries(model.entities[0]!.fields.map((f) => [f.name, { pgType: f.pgType, numericString: f.numericString, tsType: printTsType(f.type) }]));
    expect(fields).toMatchObject({
      price: { pgType: "numeric", numericString: true, tsType: "string" },
      weight: { pgType: "numeric", numericString: true, tsType: "string | null" },
      counter: { pgType: "bigint", numericString: true, tsType: "string" },
      total: { pgType: "numeric", numericString: false, tsType: "number" },
      big: { pgType: "bigint", numericString: false, tsType: "number" },
    });
    // An enum of numeric strings is literals, not `string`; an object is never numeric.
    expect(fields.code!.numericString).toBe(false);
    expect(fields.tags!.numericString).toBe(false);
  });

  it("templates get the same printed strings as before (argsType, documented, bodyType)", () => {
    const ops = Object.fromEntries(printModel(model).operations.map((o) => [o.fnName, o]));
    expect(ops.updateItem!.argsType).toBe("{ path: { id: string }; body?: T.Item }");
    expect(ops.lookalike!.argsType).toBe('{ query?: { "T.Item"?: "T.Item" | "x T.Item" } }');
    expect(ops.listItems!.argsType).toBe("");
    expect(ops.errorsOnly!.errors).toMatchObject([{ responses: ["404"], documented: '"404"', bodyType: "T.Item" }]);
  });
});
