/**
 * As a new user would: pack the package, install the tarball into a fresh project, and run
 * the commands through npx. Proves the published package carries its compiled CLI and
 * templates and runs without tsx or the repository around it.
 */
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { EXAMPLE_SPEC, REPO, tempProject } from "../support/project.js";

describe("the npm package", () => {
  it("installs from its tarball and runs init, add, list, eject and generate --check", async () => {
    const packDir = tempProject();
    const { stdout } = await execa("npm", ["pack", "--silent", "--pack-destination", packDir], { cwd: REPO });
    const tarball = path.join(packDir, stdout.trim().split("\n").pop()!);
    const project = tempProject({ "openapi.yaml": fs.readFileSync(EXAMPLE_SPEC, "utf8"), "package.json": '{ "name": "fresh-app", "private": true, "type": "module" }\n' });
    await execa("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", tarball], { cwd: project });
    expect(fs.existsSync(path.join(project, "node_modules/sync-patterns/dist/src/cli/bin.js"))).toBe(true);
    expect(fs.existsSync(path.join(project, "node_modules/sync-patterns/templates/api/group.ts.eta"))).toBe(true);
    expect(fs.existsSync(path.join(project, "node_modules/sync-patterns/src"))).toBe(false);
    // Every file the manifest points at (bin, main, types, exports) is in the tarball.
    const installed = path.join(project, "node_modules/sync-patterns");
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
    const targets = (v: unknown): string[] => (typeof v === "string" ? [v] : v && typeof v === "object" ? Object.values(v).flatMap(targets) : []);
    const named = [...targets(manifest.bin), ...targets(manifest.main), ...targets(manifest.types), ...targets(manifest.exports)];
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((file) => !fs.existsSync(path.join(installed, file)))).toEqual([]);

    const npx = (...args: string[]) => execa("npx", ["--no-install", "sync-patterns", ...args], { cwd: project, reject: false });
    const version = await npx("--version");
    expect(version.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")).version);
    const init = await npx("init", "--yes");
    expect(init.exitCode, init.stderr).toBe(0);
    expect(fs.existsSync(path.join(project, "src/generated/index.ts"))).toBe(true);
    const add = await npx("add", "category", "--local-first");
    expect(add.exitCode, add.stderr).toBe(0);
    const list = await npx("list");
    expect(list.stdout).toMatch(/category +local-first/);
    const eject = await npx("eject", "templates", "api");
    expect(eject.exitCode, eject.stderr).toBe(0);
    expect(fs.existsSync(path.join(project, "sync-patterns/templates/api/group.ts.eta"))).toBe(true);
    const check = await npx("generate", "--check");
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    // The backend helper is a subpath export of the same package, without a framework.
    const server = await execa("node", ["--input-type=module", "-e", "const m = await import('sync-patterns/server'); console.log(typeof m.createShapeProxy, typeof m.shapesFromSpec, typeof m.toNodeHandler)"], { cwd: project });
    expect(server.stdout.trim()).toBe("function function function");
    expect(JSON.parse(fs.readFileSync(path.join(project, "src/generated/server/shapes.json"), "utf8")).shapes).toHaveProperty("contacts");
  }, 300_000);
});
