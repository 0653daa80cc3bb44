/**
 * Nested resources and real-world paths in the model: every path parameter of a synced
 * resource's write endpoints is bound to a row field (by name, the item parameter to the key,
 * or by `params` in x-sync / the config) or refused with a located error; Django-style paths
 * with a trailing slash are resources; two resources with one name can both be synced under
 * names of their own.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";
import { buildModel, type ModelInput } from "../../src/model/build.js";
import type { Entity, SpecModel } from "../../src/model/types.js";
import { loadSpec } from "../../src/spec/load.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-nested-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function build(spec: string, entities?: ModelInput["entities"]) {
  const file = path.join(dir, `spec-${n++}.yaml`);
  fs.writeFileSync(file, spec);
  const loaded = await loadSpec(file, dir);
  if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return buildModel({ document: loaded.value.document, locate: loaded.value.locate, configFile: "sync-patterns.config.yaml", ...(entities ? { entities } : {}) });
}

async function buildOk(spec: string, entities?: ModelInput["entities"]): Promise<{ model: SpecModel; diagnostics: Diagnostic[] }> {
  const r = await build(spec, entities);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return { model: r.value, diagnostics: r.diagnostics };
}

async function errors(spec: string, entities?: ModelInput["entities"]): Promise<Diagnostic[]> {
  const r = await build(spec, entities);
  expect(r.ok).toBe(false);
  return r.diagnostics.filter((d) => d.severity === "error");
}

const entity = (model: SpecModel, name: string): Entity => model.entities.find((e) => e.names.original === name)!;

/** A collection and its item path; `xSync` is the collection's x-sync YAML (omit for none). */
function resource(collection: string, item: string, schema: string, xSync?: string): string {
  const params = (p: string) => [...p.matchAll(/\{([^}]+)\}/g)].map((m) => `{ name: ${m[1]}, in: path, required: true, schema: { type: string } }`);
  const list = (p: string) => (params(p).length ? `\n    parameters: [${params(p).join(", ")}]` : "");
  return `  ${collection}:${xSync !== undefined ? `\n    x-sync: ${xSync}` : ""}${list(collection)}
    get:
      responses:
        "200": { description: ok, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/${schema}" } } } } }
    post:
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/${schema}" } } } }
      responses: { "201": { description: ok, content: { application/json: { schema: { $ref: "#/components/schemas/${schema}" } } } } }
  ${item}:${list(item)}
    patch:
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/${schema}" } } } }
      responses: { "200": { description: ok } }
    delete:
      responses: { "204": { description: ok } }
`;
}

function spec(paths: string, schemas = HOOK): string {
  return `openapi: 3.1.0
info: { title: T, version: "1" }
paths:
${paths}components:
  schemas:
${schemas}`;
}

const HOOK = `    Hook:
      type: object
      required: [id]
      properties:
        id: { type: integer }
        owner: { type: string }
        repo_name: { type: string }
        url: { type: string }
        cache: { type: string, x-sync-exclude: true }
`;
const COMMENTS = resource("/v1/files/{file_key}/comments", "/v1/files/{file_key}/comments/{comment_id}", "Comment", "true");
const COMMENT = `    Comment:
      type: object
      required: [id]
      properties:
        id: { type: string }
        file_key: { type: string }
        fileId: { type: string }
        message: { type: string }
`;

describe("path parameters of write endpoints", () => {
  it("binds each parameter to a row field: by name, and the item parameter to the key", async () => {
    const { model } = await buildOk(spec(COMMENTS, COMMENT));
    const e = entity(model, "comment");
    expect(e.endpoints.create?.parts).toEqual(["/v1/files/", { param: "file_key", field: "file_key" }, "/comments"]);
    expect(e.endpoints.update?.parts).toEqual(["/v1/files/", { param: "file_key", field: "file_key" }, "/comments/", { param: "comment_id", field: "id" }]);
    expect(e.endpoints.delete?.parts).toEqual(e.endpoints.update?.parts);
    expect(e.pathFields.map((f) => f.name)).toEqual(["file_key"]);
  });

  it("refuses a parameter no field fills, naming the parameter, the path and the fix, at the operation", async () => {
    const ds = await errors(spec(resource("/repos/{owner}/{repo}/hooks", "/repos/{owner}/{repo}/hooks/{id}", "Hook", "true")));
    expect(ds).toHaveLength(1); // {owner} is a property of Hook; {repo} is not
    const d = ds[0];
    expect(d!.code).toBe("model/unbound-path-param");
    expect(d!.message).toBe(
      "POST /repos/{owner}/{repo}/hooks (create), PATCH /repos/{owner}/{repo}/hooks/{id} (update), DELETE /repos/{owner}/{repo}/hooks/{id} (delete) of hook need the path parameter {repo}, but hook rows have no property \"repo\": the change writer cannot build the URL.",
    );
    expect(d!.location).toMatchObject({ pointer: "/paths/~1repos~1{owner}~1{repo}~1hooks/post", line: expect.any(Number) });
    expect(d!.hint).toContain("x-sync: { params: { repo: <property> } }");
    expect(d!.hint).toContain("params: { repo: <property> }");
  });

  it("refuses a parameter named like an x-sync-exclude field (its value never reaches the change)", async () => {
    const [d] = await errors(spec(resource("/caches/{cache}/hooks", "/caches/{cache}/hooks/{id}", "Hook", "true")));
    expect(d!.code).toBe("model/unbound-path-param");
    expect(d!.message).toContain("x-sync-exclude");
  });

  it("binds a parameter through x-sync.params", async () => {
    const { model } = await buildOk(spec(resource("/repos/{owner}/{repo}/hooks", "/repos/{owner}/{repo}/hooks/{id}", "Hook", "{ params: { repo: repo_name } }")));
    expect(entity(model, "hook").endpoints.create?.parts).toEqual(["/repos/", { param: "owner", field: "owner" }, "/", { param: "repo", field: "repo_name" }, "/hooks"]);
    expect(entity(model, "hook").pathFields.map((f) => f.name)).toEqual(["owner", "repo_name"]);
  });

  it("binds a parameter through the config's params, which win over x-sync", async () => {
    const { model } = await buildOk(spec(COMMENTS, COMMENT), { comment: { params: { file_key: "fileId" } } });
    expect(entity(model, "comment").endpoints.create?.parts).toEqual(["/v1/files/", { param: "file_key", field: "fileId" }, "/comments"]);
  });

  const bad: [string, string, ModelInput["entities"] | undefined, { code: string; pointer: string; hint?: string; file?: string }][] = [
    ["x-sync.params naming an unknown property, suggesting the close one", "{ params: { file_key: file_ky } }", undefined, { code: "model/invalid-path-param", pointer: "/paths/~1v1~1files~1{file_key}~1comments/x-sync/params/file_key", hint: '"file_key"' }],
    ["x-sync.params naming a parameter no write path has", "{ params: { file: file_key } }", undefined, { code: "model/invalid-path-param", pointer: "/paths/~1v1~1files~1{file_key}~1comments/x-sync/params/file", hint: "{file_key}" }],
    ["x-sync.params that is not a mapping", "{ params: [file_key] }", undefined, { code: "model/invalid-x-sync", pointer: "/paths/~1v1~1files~1{file_key}~1comments/x-sync/params" }],
    ["x-sync.params with a non-string property", "{ params: { file_key: 3 } }", undefined, { code: "model/invalid-x-sync", pointer: "/paths/~1v1~1files~1{file_key}~1comments/x-sync/params/file_key" }],
    ["config params naming an unknown property", "true", { comment: { params: { file_key: "nope" } } }, { code: "model/invalid-path-param", pointer: "/entities/comment/params/file_key", file: "sync-patterns.config.yaml" }],
  ];
  it.each(bad)("refuses %s, located", async (_name, xSync, entities, want) => {
    const ds = await errors(spec(resource("/v1/files/{file_key}/comments", "/v1/files/{file_key}/comments/{comment_id}", "Comment", xSync), COMMENT), entities);
    expect(ds[0]).toMatchObject({ code: want.code, location: { pointer: want.pointer, ...(want.file ? { file: want.file } : {}) } });
    if (!want.file) expect(ds[0]!.location?.line).toEqual(expect.any(Number));
    if (want.hint) expect(ds[0]!.hint).toContain(want.hint);
  });
});

describe("paths with a trailing slash (Django REST framework)", () => {
  const SITE = `    Site:
      type: object
      required: [id]
      properties:
        id: { type: integer }
        name: { type: string }
`;
  it("pairs /x/ and /x/{id}/ as a collection and its item, keeping the slash", async () => {
    const { model } = await buildOk(spec(resource("/dcim/sites/", "/dcim/sites/{id}/", "Site"), SITE), { sites: {} });
    expect(model.resources.map((r) => [r.names.original, r.path, r.itemPath])).toEqual([["site", "/dcim/sites/", "/dcim/sites/{id}/"]]);
    expect(entity(model, "site").endpoints.update?.parts).toEqual(["/dcim/sites/", { param: "id", field: "id" }, "/"]);
  });

  it("the missing-endpoint hint names the item path with its slash", async () => {
    const only = `  /dcim/sites/:
    x-sync: true
    get:
      responses:
        "200": { description: ok, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/Site" } } } } }
`;
    const { diagnostics } = await buildOk(spec(only, SITE));
    const d = diagnostics.find((x) => x.code === "model/entity-partial-crud");
    expect(d?.hint).toBe("Add POST /dcim/sites/, PATCH /dcim/sites/{id}/, DELETE /dcim/sites/{id}/ to the spec.");
  });
});

describe("two resources with one name", () => {
  const TWO = spec(resource("/admin/hooks", "/admin/hooks/{id}", "Hook") + resource("/repos/{owner}/{repo}/hooks", "/repos/{owner}/{repo}/hooks/{id}", "Hook", "{ params: { repo: repo_name } }"));

  it("a config entry naming both is refused at the entry, with the way to pick one", async () => {
    const ds = await errors(TWO.replace("x-sync: { params: { repo: repo_name } }", "x-sync: false"), { hooks: {} });
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ code: "model/ambiguous-entity", location: { file: "sync-patterns.config.yaml", pointer: "/entities/hooks" } });
    expect(ds[0]!.message).toContain("/admin/hooks, /repos/{owner}/{repo}/hooks");
    expect(ds[0]!.hint).toContain("--as <name>");
    expect(ds[0]!.hint).toContain("path:");
  });

  it("the duplicate-table error says how to rename one", async () => {
    const ds = await errors(TWO, { admin_hooks: { path: "/admin/hooks", table: "hooks" } });
    expect(ds[0]!.code).toBe("model/duplicate-table");
    expect(ds[0]!.hint).toContain("sync-patterns add /repos/{owner}/{repo}/hooks --as <name>");
    expect(ds[0]!.hint).toContain("--as repo_hook");
    expect(ds[0]!.hint).toContain("x-sync");
  });

  it("a config entry pinned by path names the entity by its key; x-sync.name names the other", async () => {
    const { model } = await buildOk(TWO.replace("x-sync: { params: { repo: repo_name } }", "x-sync: { name: repo_hook, params: { repo: repo_name } }"), { admin_hook: { path: "/admin/hooks" } });
    expect(model.entities.map((e) => [e.names.original, e.table, e.path, e.hooks.list, e.types.create])).toEqual([
      ["admin_hook", "admin_hooks", "/admin/hooks", "useAdminHooks", "AdminHookCreate"],
      ["repo_hook", "repo_hooks", "/repos/{owner}/{repo}/hooks", "useRepoHooks", "RepoHookCreate"],
    ]);
  });

  it("a config path that is no resource is refused at the entry, suggesting the close one", async () => {
    const ds = await errors(TWO, { admin_hook: { path: "/admin/hook" } });
    expect(ds[0]).toMatchObject({ code: "model/unknown-entity", location: { pointer: "/entities/admin_hook/path" } });
    expect(ds[0]!.hint).toContain('"/admin/hooks"');
  });
});
