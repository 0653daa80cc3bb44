/**
 * The workspace packages (packages/*) and their one import direction: tests may import examples and
 * packages; examples and benches import packages; packages import neither tests nor examples.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const REPO = path.resolve(import.meta.dirname, "../..");
const CODE = /\.(ts|mts|mjs|js|tsx)$/;

function codeFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (["node_modules", "dist", "generated", ".vite"].includes(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...codeFiles(full));
    else if (CODE.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

/** Where a file's imports lead, as repository-relative paths (relative specifiers and `path.join(repo, "…")` strings). */
function importTargets(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const targets: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g)) {
    targets.push(path.relative(REPO, path.resolve(path.dirname(file), m[1] as string)));
  }
  for (const m of text.matchAll(/path\.(?:join|resolve)\(\s*repo\s*,\s*["']([^"']+)["']/g)) targets.push(m[1] as string);
  return targets;
}

const under = (target: string, folder: string) => target === folder || target.startsWith(`${folder}/`);

describe("workspace packages", () => {
  it("the root package.json lists packages/* as workspaces, and every package is private", () => {
    const root = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")) as { workspaces?: string[] };
    expect(root.workspaces).toContain("packages/*");
    const names = fs.readdirSync(path.join(REPO, "packages"));
    expect(names).toEqual(expect.arrayContaining(["shape-server", "dev-postgres"]));
    for (const name of names) {
      const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "packages", name, "package.json"), "utf8")) as { name: string; private?: boolean };
      expect(pkg, name).toMatchObject({ name: `@sync-patterns/${name}`, private: true });
    }
  });

  it("examples import nothing from test/, packages nothing from test/ or examples/", () => {
    const wrong: string[] = [];
    for (const file of codeFiles(path.join(REPO, "examples"))) {
      for (const t of importTargets(file)) if (under(t, "test")) wrong.push(`${path.relative(REPO, file)} → ${t}`);
    }
    for (const file of codeFiles(path.join(REPO, "packages"))) {
      for (const t of importTargets(file)) if (under(t, "test") || under(t, "examples")) wrong.push(`${path.relative(REPO, file)} → ${t}`);
    }
    expect(wrong).toEqual([]);
  });

  it("the import scan sees the forms dev.mjs and the packages use (so the check above can fail)", () => {
    const probe = path.join(REPO, "examples", "finance-tracker", "dev.mjs");
    expect(importTargets(probe)).toContain("packages/shape-server/src/index.ts");
    const index = path.join(REPO, "packages", "shape-server", "src", "index.ts");
    expect(importTargets(index)).toContain("packages/shape-server/src/server.js");
  });
});
