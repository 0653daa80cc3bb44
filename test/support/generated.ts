/**
 * Generates a client from a spec into a folder inside the repository (so the generated code
 * resolves @electric-sql/pglite and friends from this repository's node_modules) and imports it.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { generate } from "../../src/generate.js";
import { REPO } from "./project.js";

const made: string[] = [];
afterAll(() => {
  if (!process.env.KEEP_TMP) for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

let counter = 0;

/** Generates `spec` (YAML/JSON text) and returns the output folder. */
export async function generateClient(name: string, spec: string, extraConfig = ""): Promise<string> {
  const root = path.join(REPO, ".cache/generated", `${name}-${process.pid}-${counter++}`);
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  made.push(root);
  fs.writeFileSync(path.join(root, "openapi.yaml"), spec);
  const config = parseConfig(`spec: openapi.yaml\noutput: out\n${extraConfig}`, root, "sync-patterns.config.yaml");
  if (!config.ok) throw new Error(JSON.stringify(config.diagnostics));
  const result = await generate(config.value, "write", root);
  if (!result.ok) throw new Error(result.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return path.join(root, "out");
}

export const EXAMPLE_SPEC_TEXT = fs.readFileSync(path.join(REPO, "examples/finance-tracker/openapi.yaml"), "utf8");

/** A small spec with one synced entity, for focused tests. `fields` are extra property YAML lines. */
export function entitySpec(opts: { path?: string; table?: string; localFirst?: boolean; fields?: string; required?: string[]; writeId?: boolean } = {}): string {
  const p = opts.path ?? "/things";
  const xsync = [`local_first: ${opts.localFirst ?? true}`, opts.table ? `table: ${JSON.stringify(opts.table)}` : "", opts.writeId ? "write_id: write_id" : ""].filter(Boolean).join(", ");
  return `openapi: 3.1.0
info: { title: Test, version: "1" }
paths:
  ${p}:
    x-sync: { ${xsync} }
    get:
      operationId: listThings
      responses:
        "200": { description: ok, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/Thing" } } } } }
    post:
      operationId: createThing
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Thing" } } } }
      responses: { "201": { description: ok } }
  ${p}/{id}:
    parameters: [{ name: id, in: path, required: true, schema: { type: string, format: uuid } }]
    patch:
      operationId: updateThing
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Thing" } } } }
      responses: { "200": { description: ok } }
    delete:
      operationId: deleteThing
      responses: { "204": { description: ok } }
components:
  schemas:
    Thing:
      type: object
      required: [${["id", ...(opts.required ?? [])].join(", ")}]
      properties:
        id: { type: string, format: uuid }
${opts.fields ?? `        name: { type: string }
        qty: { type: integer }
        note: { type: [string, "null"] }
        private_note: { type: string, x-sync-exclude: true }`}
${opts.writeId ? "        write_id: { type: [string, \"null\"], format: uuid, readOnly: true }" : ""}
`;
}
