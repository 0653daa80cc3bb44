/**
 * Schemas defined through themselves (issue 12, item 8): `A: { allOf: [{ $ref: A }] }` or A ↔ B
 * through allOf / oneOf / anyOf / a bare $ref. In a synced entity this overflowed the stack
 * (reported as cli/action-failed, no location); outside an entity it emitted `export type A = A;`.
 * Now: a located model/schema-cycle error at the $ref closing the cycle, in and out of entities.
 * Recursion through properties and array items (trees, linked lists) stays valid and compiles.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";
import { buildModel } from "../../src/model/build.js";
import type { Json } from "../../src/spec/parse.js";
import { generateClient } from "../support/generated.js";
import { typecheck } from "../support/project.js";

const FILE = "openapi.json";
const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

/** A spec with one synced entity `/things` (item schema Thing) plus `schemas`. */
function spec(schemas: Record<string, Json>, synced = true): Record<string, Json> {
  return {
    openapi: "3.1.0",
    info: { title: "Cycles", version: "1" },
    paths: {
      "/things": {
        ...(synced ? { "x-sync": { local_first: true } } : {}),
        get: { operationId: "listThings", responses: { "200": { description: "ok", content: { "application/json": { schema: { type: "array", items: ref("Thing") } } } } } },
        post: { operationId: "createThing", requestBody: { required: true, content: { "application/json": { schema: ref("Thing") } } }, responses: { "201": { description: "ok" } } },
      },
      "/things/{id}": {
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } }],
        patch: { operationId: "updateThing", requestBody: { required: true, content: { "application/json": { schema: ref("Thing") } } }, responses: { "200": { description: "ok" } } },
        delete: { operationId: "deleteThing", responses: { "204": { description: "ok" } } },
      },
    },
    components: { schemas: { Thing: { type: "object", required: ["id"], properties: { id: { type: "string", format: "uuid" }, name: { type: "string" } } }, ...schemas } },
  };
}

function build(doc: Record<string, Json>) {
  return buildModel({ document: doc, locate: (pointer) => ({ file: FILE, pointer }) });
}

const cycleErrors = (diagnostics: Diagnostic[]) => diagnostics.filter((d) => d.code === "model/schema-cycle");

describe("schemas defined through themselves", () => {
  const thingWith = (prop: Json): Json => ({ type: "object", required: ["id"], properties: { id: { type: "string", format: "uuid" }, part: prop } });
  const cases: [string, Record<string, Json>, { pointer: string; path: string }][] = [
    ["a property of a synced entity refers to A: { allOf: [A] }", { Thing: thingWith(ref("A")), A: { allOf: [ref("A")] } }, { pointer: "/components/schemas/A/allOf/0/$ref", path: "A → A" }],
    ["a synced entity's item schema is its own allOf member", { Thing: { allOf: [ref("Thing")], type: "object", required: ["id"], properties: { id: { type: "string", format: "uuid" } } } }, { pointer: "/components/schemas/Thing/allOf/0/$ref", path: "Thing → Thing" }],
    ["A ↔ B through allOf, used by a synced entity", { Thing: thingWith(ref("B")), A: { allOf: [ref("B")] }, B: { allOf: [ref("A"), { type: "object", properties: { x: { type: "string" } } }] } }, { pointer: "/components/schemas/B/allOf/0/$ref", path: "A → B → A" }],
    ["A: { allOf: [A] } used by nothing", { A: { allOf: [ref("A")] } }, { pointer: "/components/schemas/A/allOf/0/$ref", path: "A → A" }],
    ["A is its own oneOf member", { A: { oneOf: [ref("A"), { type: "string" }] } }, { pointer: "/components/schemas/A/oneOf/0/$ref", path: "A → A" }],
    ["A → B → C → A through anyOf, allOf and a bare $ref", { A: { anyOf: [ref("B"), { type: "null" }] }, B: { allOf: [ref("C")] }, C: ref("A") }, { pointer: "/components/schemas/C/$ref", path: "A → B → C → A" }],
    ["a cycle through a ref into another schema's allOf member", { A: { allOf: [{ $ref: "#/components/schemas/B/allOf/0" }] }, B: { allOf: [ref("A")] } }, { pointer: "/components/schemas/B/allOf/0/$ref", path: "A → A" }],
  ];
  it.each(cases)("%s: one located model/schema-cycle error, no exception", (_name, schemas, want) => {
    const r = build(spec(schemas));
    expect(r.ok).toBe(false);
    const errors = cycleErrors(r.diagnostics);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.severity).toBe("error");
    expect(errors[0]!.location).toEqual({ file: FILE, pointer: want.pointer });
    expect(errors[0]!.message).toContain(want.path);
    expect(errors[0]!.hint).toMatch(/property or array items/);
  });

  it("reports each cycle once and every separate cycle", () => {
    const r = build(spec({ A: { allOf: [ref("B")] }, B: { allOf: [ref("A")] }, C: { allOf: [ref("C")] }, D: { allOf: [ref("A")] } }, false));
    expect(cycleErrors(r.diagnostics).map((d) => d.location?.pointer)).toEqual(["/components/schemas/B/allOf/0/$ref", "/components/schemas/C/allOf/0/$ref"]);
  });

  it("a long chain of thousands of allOf schemas ending in a cycle is reported without a stack overflow", () => {
    const schemas: Record<string, Json> = {};
    for (let i = 0; i < 5000; i++) schemas[`S${String(i).padStart(4, "0")}`] = { allOf: [ref(`S${String(i + 1).padStart(4, "0")}`)] };
    schemas.S5000 = { allOf: [ref("S4990")] };
    const errors = cycleErrors(build(spec(schemas, false)).diagnostics);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toContain("S4990 → S4991");
  });

  it("recursion through properties and array items is no cycle, and the generated client compiles", async () => {
    const schemas: Record<string, Json> = {
      Thing: { type: "object", required: ["id"], properties: { id: { type: "string", format: "uuid" }, tree: ref("Node"), next: ref("Link") } },
      Node: { type: "object", properties: { label: { type: "string" }, children: { type: "array", items: ref("Node") }, parent: { oneOf: [ref("Node"), { type: "null" }] } } },
      Link: { allOf: [{ type: "object", properties: { value: { type: "integer" }, next: ref("Link") } }] },
    };
    const r = build(spec(schemas));
    if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
    expect(cycleErrors(r.diagnostics)).toEqual([]);
    expect(r.value.entities[0]!.fields.find((f) => f.name === "tree")!.pgType).toBe("jsonb");
    const out = await generateClient("schema-cycles", JSON.stringify(spec(schemas)));
    const result = await typecheck(path.dirname(out));
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  }, 120_000);

  it("generate reports the cycle as a model error instead of failing", async () => {
    await expect(generateClient("schema-cycles-bad", JSON.stringify(spec({ Thing: { allOf: [ref("Thing")], type: "object", properties: { id: { type: "string" } } } })))).rejects.toThrow(/^model\/schema-cycle /m);
  });
});
