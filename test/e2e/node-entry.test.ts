/**
 * The framework-free entry (issue 12, item 9): a Node script imports the generated `core.ts` in a
 * folder whose node_modules has only what docs/node.md says to install (@electric-sql/pglite,
 * @electric-sql/client, @tanstack/db, uuid), so `react`, `@tanstack/react-query` and
 * `@tanstack/react-db` cannot be resolved. The script is docs/node.md's own example, type-checked
 * in strict mode and then run against a stub REST server on 127.0.0.1, which sees its create,
 * update and delete.
 */
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHECK_COMPILER_OPTIONS } from "../../src/eject/check.js";
import { EXAMPLE_SPEC_TEXT, generateClient } from "../support/generated.js";
import { REPO, TSC, tempProject } from "../support/project.js";

/** The packages docs/node.md lists, plus @types/node for the script's `process.env` (types only). */
const NODE_PACKAGES = ["@electric-sql/pglite", "@electric-sql/client", "@tanstack/db", "uuid", "@types/node"];
const TSX = path.join(REPO, "node_modules/tsx/dist/cli.mjs");

/** The first ```ts block of docs/node.md's "A script that writes through the local database". */
function docScript(): string {
  const doc = fs.readFileSync(path.join(REPO, "docs/node.md"), "utf8");
  const section = doc.slice(doc.indexOf("## A script that writes through the local database"));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error("docs/node.md has no ts example");
  return block[1]!;
}

interface Hit {
  method: string;
  url: string;
  body: unknown;
}

let dir: string;
let server: http.Server;
let apiUrl: string;
const hits: Hit[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString("utf8")));
    req.on("end", () => {
      const body: unknown = text ? JSON.parse(text) : undefined;
      hits.push({ method: req.method ?? "", url: req.url ?? "", body });
      res.writeHead(req.method === "DELETE" ? 204 : req.method === "POST" ? 201 : 200, { "content-type": "application/json" });
      res.end(req.method === "DELETE" ? undefined : req.method === "GET" ? "[]" : JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // A project outside the repository (nothing above it resolves react), with only the core packages.
  dir = tempProject();
  const out = await generateClient("node-entry", EXAMPLE_SPEC_TEXT);
  fs.cpSync(out, path.join(dir, "generated"), { recursive: true });
  for (const pkg of NODE_PACKAGES) {
    fs.mkdirSync(path.dirname(path.join(dir, "node_modules", pkg)), { recursive: true });
    fs.symlinkSync(path.join(REPO, "node_modules", pkg), path.join(dir, "node_modules", pkg));
  }
  fs.writeFileSync(path.join(dir, "package.json"), '{ "private": true, "type": "module" }\n');
  fs.writeFileSync(path.join(dir, "script.ts"), docScript());
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

describe("the generated core.ts in Node, without React", () => {
  it("react, @tanstack/react-query and @tanstack/react-db are not resolvable from the script's folder", () => {
    const require = createRequire(path.join(dir, "script.ts"));
    for (const pkg of ["react", "@tanstack/react-query", "@tanstack/react-db"]) expect(() => require.resolve(pkg)).toThrow(/Cannot find module/);
    expect(require.resolve("@tanstack/db")).toContain("@tanstack");
  });

  it("docs/node.md's script type-checks in strict mode against core.ts", async () => {
    fs.writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { ...CHECK_COMPILER_OPTIONS, types: ["node"], noUnusedLocals: true, noUnusedParameters: true }, files: ["script.ts"] }),
    );
    const r = await execa("node", [TSC, "-p", dir], { reject: false });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    // tsc followed core.ts's imports only: none of them is a React module.
    const listed = await execa("node", [TSC, "-p", dir, "--listFilesOnly"], { reject: false });
    expect(listed.stdout).toContain("generated/core.ts");
    expect(listed.stdout).not.toMatch(/generated\/(hooks|queries)\/|generated\/index\.ts|react-query|react-db/);
  }, 120_000);

  it("the script runs: create, update and delete reach the server, and it calls the API", async () => {
    const run = await execa("node", [TSX, "script.ts"], { cwd: dir, reject: false, env: { API_URL: apiUrl } });
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    expect(run.stdout.split("\n")).toEqual(["Analytical Engines pending", "on the server: 0"]);
    expect(hits.map((h) => h.method + " " + h.url.replace(/[0-9a-f-]{36}/, "<id>"))).toEqual([
      "POST /api/contacts",
      "PATCH /api/contacts/<id>",
      "DELETE /api/contacts/<id>",
      "GET /api/contacts",
    ]);
    expect(hits[0]!.body).toMatchObject({ first_name: "Ada", last_name: "Lovelace" });
    expect(hits[1]!.body).toEqual({ company: "Analytical Engines" });
  }, 120_000);
});
