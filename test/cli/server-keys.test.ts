/**
 * Server-assigned keys as a user of the CLI meets them (docs/extensions.md, "Keys: who makes
 * them"): `add` of a resource with a serial id picks server keys and `list` says so; a spec whose
 * create does not return the key is refused before anything is written, at the create's
 * responses, with both fixes; `key_source: client` in the config entry accepts it.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cli, tempProject } from "../support/project.js";

const spec = (created: string) => `openapi: 3.0.3
info: { title: NetBox, version: "1" }
paths:
  /dcim/sites/:
    get:
      responses:
        "200": { description: ok, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/Site" } } } } }
    post:
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/Site" } } } }
      responses:
        "201": ${created}
  /dcim/sites/{id}/:
    parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
    patch:
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/Site" } } } }
      responses: { "200": { description: ok } }
    delete:
      responses: { "204": { description: ok } }
components:
  schemas:
    Site:
      type: object
      required: [id, name]
      properties:
        id: { type: integer, readOnly: true }
        name: { type: string }
`;
const RETURNS_ROW = `{ description: created, content: { application/json: { schema: { $ref: "#/components/schemas/Site" } } } }`;
const CONFIG = "spec: openapi.yaml\noutput: src/generated\n";

describe("server-assigned keys in the CLI", () => {
  it("add picks server keys for a read-only integer id, and list says so", async () => {
    const dir = tempProject({ "openapi.yaml": spec(RETURNS_ROW), "sync-patterns.config.yaml": CONFIG });
    const added = await cli(dir, "add", "sites");
    expect(added.exitCode, added.stderr).toBe(0);
    const listed = await cli(dir, "list");
    expect(listed.stdout).toContain("key id (server-assigned)  /dcim/sites/");
    const types = fs.readFileSync(path.join(dir, "src/generated/types/site.ts"), "utf8");
    expect(types).toContain("the server assigns its key");
  }, 60_000);

  it("a create that does not return the key is refused before anything is written, located, naming both fixes", async () => {
    const dir = tempProject({ "openapi.yaml": spec("{ description: created }"), "sync-patterns.config.yaml": CONFIG });
    const added = await cli(dir, "add", "sites");
    expect(added.exitCode).not.toBe(0);
    expect(added.stderr).toMatch(/openapi\.yaml:\d+:\d+ +\/paths\/~1dcim~1sites~1\/post\/responses .*no 2xx JSON response of POST \/dcim\/sites\/ documents a "id".*\[model\/server-key-not-returned\]/);
    expect(added.stderr).toContain("key_source: client");
    expect(fs.existsSync(path.join(dir, "src/generated"))).toBe(false);
    // The server keeps the client's key after all: said in the config entry, it generates.
    fs.writeFileSync(path.join(dir, "sync-patterns.config.yaml"), `${CONFIG}entities:\n  site: { mode: confirmed, key_source: client }\n`);
    const generated = await cli(dir, "generate");
    expect(generated.exitCode, generated.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, "src/generated/types/site.ts"), "utf8")).toContain("the key is required: the client chooses it");
  }, 60_000);
});
