/**
 * `x-sync.scope`: the column that scopes an entity's rows per tenant. Read by the model into
 * `entity.scopeField`; a wrong setting is refused with an error at `/paths/…/x-sync/scope`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildModel } from "../../src/model/build.js";
import { loadSpec } from "../../src/spec/load.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-scope-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

function spec(xSync: string): string {
  return `openapi: 3.1.0
info: { title: t, version: "1" }
paths:
  /api/contacts:
    x-sync: ${xSync}
    get:
      responses:
        "200": { description: ok, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/Contact" } } } } }
    post:
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/Contact" } } } }
      responses: { "201": { description: ok } }
  /api/contacts/{id}:
    parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
    patch:
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/Contact" } } } }
      responses: { "200": { description: ok } }
    delete:
      responses: { "204": { description: ok } }
components:
  schemas:
    Contact:
      type: object
      required: [id]
      properties:
        id: { type: string, format: uuid }
        household_id: { type: string, format: uuid }
        name: { type: string }
        tags: { type: array, items: { type: string } }
        note: { type: string, x-sync-exclude: true }
`;
}

async function build(xSync: string) {
  const file = path.join(dir, `spec-${n++}.yaml`);
  fs.writeFileSync(file, spec(xSync));
  const loaded = await loadSpec(file, dir);
  if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => d.message).join("\n"));
  return buildModel({ document: loaded.value.document, locate: loaded.value.locate, configFile: "sync-patterns.config.yaml" });
}

describe("x-sync.scope", () => {
  it("names the column the server scopes rows by", async () => {
    const r = await build("{ scope: household_id }");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.entities[0]!.scopeField?.name).toBe("household_id");
  });

  it("defaults to none", async () => {
    const r = await build("{ local_first: true }");
    expect(r.ok && r.value.entities[0]!.scopeField).toBeUndefined();
  });

  it.each([
    ["an unknown property, with a did-you-mean", "{ scope: houshold_id }", 'not a property of contact', 'Did you mean "household_id"?'],
    ["the key", "{ scope: id }", "the key of contact", "household_id"],
    ["an x-sync-exclude property", "{ scope: note }", "x-sync-exclude", "synced property"],
    ["an array property", "{ scope: tags }", "jsonb", "string, uuid or integer"],
    ["a value that is not a string", "{ scope: [household_id] }", "must be a non-empty string", undefined],
  ])("refuses %s with an error at x-sync/scope", async (_, xSync, message, hint) => {
    const r = await build(xSync);
    expect(r.ok).toBe(false);
    const d = r.diagnostics.find((x) => x.severity === "error")!;
    expect(d.code).toMatch(/^model\/invalid-(scope|x-sync)$/);
    expect(d.location?.pointer).toBe("/paths/~1api~1contacts/x-sync/scope");
    expect(d.location?.line).toBeGreaterThan(0);
    expect(d.message).toContain(message);
    if (hint) expect(d.hint).toContain(hint);
  });
});

describe("list", () => {
  it("shows an entity's scope", async () => {
    const { execa } = await import("execa");
    const file = path.join(dir, "list-spec.yaml");
    fs.writeFileSync(file, spec("{ scope: household_id }"));
    fs.writeFileSync(path.join(dir, "sync-patterns.config.yaml"), "spec: list-spec.yaml\noutput: out\n");
    const r = await execa("node", [path.join(import.meta.dirname, "../../bin/sync-patterns.js"), "list"], { cwd: dir, reject: false });
    expect(r.stdout).toMatch(/contact {2}confirmed {2}table contacts {2}key id {2}scope household_id {2}\/api\/contacts/);
  });
});
