/**
 * `add` with two resources of one name (Gitea: `/admin/hooks`, `/repos/{owner}/{repo}/hooks`)
 * and with nested paths: pick one by path, name it with `--as`, and see every refusal name
 * what to do. The real bin in temporary projects.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { cli, tempProject } from "../support/project.js";

function resource(collection: string, item: string): string {
  const params = (p: string) => [...p.matchAll(/\{([^}]+)\}/g)].map((m) => `{ name: ${m[1]}, in: path, required: true, schema: { type: string } }`);
  const list = (p: string) => (params(p).length ? `\n    parameters: [${params(p).join(", ")}]` : "");
  return `  ${collection}:${list(collection)}
    get:
      responses:
        "200": { description: ok, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/Hook" } } } } }
    post:
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/Hook" } } } }
      responses: { "201": { description: ok } }
  ${item}:${list(item)}
    patch:
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/Hook" } } } }
      responses: { "200": { description: ok } }
    delete:
      responses: { "204": { description: ok } }
`;
}

const SPEC = `openapi: 3.1.0
info: { title: Gitea, version: "1" }
paths:
${resource("/admin/hooks", "/admin/hooks/{id}")}${resource("/repos/{owner}/{repo}/hooks", "/repos/{owner}/{repo}/hooks/{id}")}components:
  schemas:
    Hook:
      type: object
      required: [id]
      properties:
        id: { type: string }
        owner: { type: string }
        repo_name: { type: string }
        url: { type: string }
`;

async function project(config = ""): Promise<string> {
  return tempProject({ "openapi.yaml": SPEC, "sync-patterns.config.yaml": `spec: openapi.yaml\noutput: src/generated\n${config}` });
}
const configOf = (dir: string): string => fs.readFileSync(path.join(dir, "sync-patterns.config.yaml"), "utf8");
const entitiesOf = (dir: string): unknown => (parse(configOf(dir)) as { entities?: unknown }).entities;

describe("add with two resources of one name", () => {
  it("a shared name is refused, listing both paths and how to pick one", async () => {
    const dir = await project();
    const r = await cli(dir, "add", "hooks");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("add/ambiguous-entity");
    expect(r.stderr).toContain("/admin/hooks, /repos/{owner}/{repo}/hooks");
    expect(r.stderr).toContain("sync-patterns add /repos/{owner}/{repo}/hooks --as repo_hook");
  });

  it("by path and --as, both are synced under names of their own, with every path parameter filled", async () => {
    const dir = await project();
    const admin = await cli(dir, "add", "/admin/hooks");
    expect(admin.exitCode, admin.stderr).toBe(0);
    expect(entitiesOf(dir)).toEqual({ hook: { mode: "confirmed", path: "/admin/hooks" } });

    // Same name again: refused, and the error says how to rename it. The config stays as it was.
    const before = configOf(dir);
    const clash = await cli(dir, "add", "/repos/{owner}/{repo}/hooks");
    expect(clash.exitCode).toBe(1);
    expect(clash.stderr).toContain("add/name-taken");
    expect(clash.stderr).toContain("sync-patterns add /repos/{owner}/{repo}/hooks --as repo_hook");
    expect(configOf(dir)).toBe(before);

    // {repo} is no property of Hook: refused, naming the parameter, the path and the fix.
    const unbound = await cli(dir, "add", "/repos/{owner}/{repo}/hooks", "--as", "repo_hook");
    expect(unbound.exitCode).toBe(1);
    expect(unbound.stderr).toContain("model/unbound-path-param");
    expect(unbound.stderr).toContain("POST /repos/{owner}/{repo}/hooks");
    expect(unbound.stderr).toContain("{repo}");
    expect(unbound.stderr).toContain("params: { repo: <property> }");
    expect(configOf(dir)).toBe(before);

    fs.writeFileSync(path.join(dir, "sync-patterns.config.yaml"), `${before}  repo_hook:\n    path: /repos/{owner}/{repo}/hooks\n    params: { repo: repo_name }\n`);
    const list = await cli(dir, "list");
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/hook +confirmed +table hooks .*\/admin\/hooks/);
    expect(list.stdout).toMatch(/repo_hook +confirmed +table repo_hooks .*\/repos\/\{owner\}\/\{repo\}\/hooks/);
    const local = await cli(dir, "add", "repo_hook", "--local-first");
    expect(local.exitCode, local.stderr).toBe(0);
    expect(entitiesOf(dir)).toEqual({
      hook: { mode: "confirmed", path: "/admin/hooks" },
      repo_hook: { mode: "local-first", path: "/repos/{owner}/{repo}/hooks", params: { repo: "repo_name" } },
    });
    const entities = fs.readFileSync(path.join(dir, "src/generated/sync/entities.ts"), "utf8");
    expect(entities).toContain(`{"param":"repo","field":"repo_name"}`);
    expect(fs.existsSync(path.join(dir, "src/generated/hooks/repo-hook.ts"))).toBe(true);
  });

  it("an old entry naming both resources is fixed by adding one of them by path with --as", async () => {
    const dir = await project("entities:\n  hooks: { mode: local-first }\n");
    const broken = await cli(dir, "generate");
    expect(broken.exitCode).toBe(1);
    expect(broken.stderr).toContain("model/ambiguous-entity");
    const r = await cli(dir, "add", "/admin/hooks", "--as", "admin_hook");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(entitiesOf(dir)).toEqual({ admin_hook: { mode: "local-first", path: "/admin/hooks" } });
    expect(r.stdout).toContain("Added admin_hook (/admin/hooks, local-first)");
  });
});

describe("add with Django REST framework paths", () => {
  const DRF = `openapi: 3.0.3
info: { title: NetBox, version: "1" }
paths:
  /dcim/sites/:
    get:
      responses:
        "200":
          description: ok
          content: { application/json: { schema: { type: object, properties: { count: { type: integer }, results: { type: array, items: { $ref: "#/components/schemas/Site" } } } } } }
    post:
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/Site" } } } }
      responses: { "201": { description: ok, content: { application/json: { schema: { $ref: "#/components/schemas/Site" } } } } }
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
      required: [id]
      properties:
        id: { type: integer }
        name: { type: string }
`;
  it.each([["sites"], ["/dcim/sites/"], ["/dcim/sites"]])("add %s finds /dcim/sites/ and writes to its URLs with the slash", async (name) => {
    const dir = tempProject({ "openapi.yaml": DRF, "sync-patterns.config.yaml": "spec: openapi.yaml\noutput: src/generated\n" });
    const r = await cli(dir, "add", name);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("model/entity-partial-crud");
    expect(r.stdout).toContain("Added site (/dcim/sites/, confirmed)");
    const entities = fs.readFileSync(path.join(dir, "src/generated/sync/entities.ts"), "utf8");
    expect(entities).toContain(`update: { method: "PATCH", path: "/dcim/sites/{id}/", parts: ["/dcim/sites/",{"param":"id","field":"id"},"/"] }`);
  });
});
