/**
 * The model holds facts, the printing module (src/plan/print) prints them (issue 14, item 2): a
 * model built from a spec with hostile names, documentation and defaults carries no printed text
 * (no property keys, no escaped comments, no JSON text), and the template context a template gets
 * has each of them printed, once, safely.
 */
import { describe, expect, it } from "vitest";
import { buildModel } from "../../src/model/build.js";
import type { Json } from "../../src/spec/parse.js";
import { printModel } from "../../src/plan/print/index.js";

const meta = { type: "object", default: { k: [1, "x"], "a b": null } };
const document = {
  openapi: "3.1.0",
  info: { title: "t", version: "1" },
  paths: {
    "/api/things": {
      "x-sync": { local_first: true },
      get: {
        operationId: "listThings",
        summary: "List */ things",
        description: "More\r\nlines \u2028 here",
        deprecated: true,
        parameters: [{ name: "page-size", in: "query", style: "deepObject", schema: { type: "integer" }, description: "size */ of a page" }],
        responses: { "200": { description: "ok", content: { "application/json": { schema: { type: "array", items: { $ref: "#/components/schemas/Thing" } } } } } },
      },
      post: {
        operationId: "createThing",
        requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/Thing" } } } },
        responses: { "201": { description: "ok", content: { "application/json": { schema: { $ref: "#/components/schemas/Thing" } } } } },
      },
    },
    "/api/things/{id}": {
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } }],
      get: { operationId: "getThing", responses: { "200": { description: "ok", content: { "application/json": { schema: { $ref: "#/components/schemas/Thing" } } } } } },
    },
  },
  components: {
    schemas: {
      Thing: {
        title: "A thing */ title",
        description: "Ends the comment */ here",
        deprecated: true,
        type: "object",
        required: ["id"],
        properties: {
          id: { type: "string", format: "uuid" },
          "first-name": { type: "string", description: "*/ alert(1) /*", default: "a */ b" },
          class: { type: "string", deprecated: true },
          'quote"d': { type: "integer", default: 3 },
          meta,
        },
      },
    },
  },
} as unknown as Record<string, Json>;

function build() {
  const r = buildModel({ document, locate: (pointer) => ({ file: "openapi.yaml", pointer }) });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.code).join(", "));
  return r.value;
}

describe("the model holds facts", () => {
  const model = build();
  const thing = model.schemas.find((s) => s.original === "Thing")!;
  const entity = model.entities[0]!;
  const list = model.operations.find((o) => o.id === "listThings")!;

  it("names without printed keys: no `key` on fields, parameters or schema properties", () => {
    for (const holder of [...thing.properties, ...entity.fields, ...list.queryParams]) expect(holder).not.toHaveProperty("key");
  });

  it("documentation as the spec wrote it (comment terminators and line breaks untouched), deprecation as a flag", () => {
    expect(thing.doc).toBe("A thing */ title\nEnds the comment */ here");
    expect(thing.deprecated).toBe(true);
    expect(thing.properties.find((p) => p.name === "class")!.deprecated).toBe(true);
    expect(entity.fields.find((f) => f.name === "first-name")!.doc).toBe("*/ alert(1) /*");
    expect(list.doc).toBe("List */ things\nMore\r\nlines \u2028 here");
    expect(list.queryParams[0]!.doc).toBe("size */ of a page");
  });

  it("defaults as JSON values, not JSON text", () => {
    const field = (name: string) => entity.fields.find((f) => f.name === name)!;
    expect(field("first-name").default).toBe("a */ b");
    expect(field('quote"d').default).toBe(3);
    expect(field("meta").default).toEqual(meta.default);
    expect(field("class")).not.toHaveProperty("default");
  });
});

describe("the printing module prints them for templates", () => {
  const printed = printModel(build());
  const thing = printed.schemas.find((s) => s.original === "Thing")!;
  const entity = printed.entities[0]!;
  const list = printed.operations.find((o) => o.id === "listThings")!;

  it("keys: bare for identifiers, JSON string literals otherwise", () => {
    expect(thing.properties.map((p) => p.key)).toEqual(["id", '"first-name"', "class", '"quote\\"d"', "meta"]);
    expect(entity.fields.map((f) => f.key)).toEqual(thing.properties.map((p) => p.key));
    expect(entity.keyField.key).toBe("id");
    expect(list.queryParams[0]!.key).toBe('"page-size"');
    expect(list.queryStyles).toBe('{ "page-size": { style: "deepObject", explode: false } }');
  });

  it("doc comments that cannot be closed from inside, with the tags the generator adds", () => {
    expect(thing.doc).toEqual(["A thing *\\/ title", "Ends the comment *\\/ here", "@deprecated"]);
    expect(thing.properties.find((p) => p.name === "class")!.doc).toEqual(["@deprecated"]);
    expect(thing.properties.find((p) => p.name === "first-name")!.doc).toEqual(["*\\/ alert(1) /*"]);
    expect(entity.fields.find((f) => f.name === "first-name")!.doc).toEqual(["*\\/ alert(1) /*"]);
    expect(list.doc).toEqual(["List *\\/ things", "More", "lines   here", "GET /api/things", "@deprecated", "@throws {ListThingsError} when the answer is not 2xx (narrow on `documented` to type `body`)"]);
    expect(list.queryParams[0]!.doc).toEqual(["size *\\/ of a page"]);
    const all = [thing, ...thing.properties, ...entity.fields, list, ...list.queryParams, entity].flatMap((x) => x.doc);
    for (const line of all) {
      expect(line).not.toContain("*/");
      expect(line).not.toMatch(/[\r\n\u2028\u2029]/);
    }
  });

  it("defaults stay values in the context (a template prints them with JSON.stringify)", () => {
    expect(entity.fields.find((f) => f.name === "meta")!.default).toEqual(meta.default);
  });
});
