/**
 * templates/runtime/SPEC.md stays true to the tests: sections W (change writer) and L (local
 * database) number their invariants without gaps, every invariant is cited by a test (`// SPEC W3`
 * or an id in a test's name), and every test file the table names exists. SPEC.md is documentation
 * of the templates, never a template: it is not rendered into a client, ejected or listed.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { listBuiltinTemplates } from "../../src/render/templates.js";

const REPO = path.resolve(import.meta.dirname, "../..");
const SPEC = fs.readFileSync(path.join(REPO, "templates/runtime/SPEC.md"), "utf8");

/** The table rows of a `## <letter> – …` section: id → the row's text. */
function section(letter: string): Map<string, string> {
  const start = SPEC.indexOf(`\n## ${letter} – `);
  if (start < 0) throw new Error(`SPEC.md has no section ${letter}`);
  const end = SPEC.indexOf("\n## ", start + 1);
  const rows = new Map<string, string>();
  for (const line of SPEC.slice(start, end < 0 ? undefined : end).split("\n")) {
    const m = /^\| ([A-Z]\d+) \|/.exec(line);
    if (m) {
      expect(rows.has(m[1]!), `${m[1]} is listed twice`).toBe(false);
      rows.set(m[1]!, line);
    }
  }
  return rows;
}

function testFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const abs = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "fixtures" ? [] : testFiles(abs);
    return /\.(ts|mts)$/.test(e.name) ? [abs] : [];
  });
}

/** Ids cited by tests: on a line saying SPEC, or in a describe/it title. */
const cited = new Set<string>();
for (const file of testFiles(path.join(REPO, "test"))) {
  if (file === import.meta.filename) continue;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!/SPEC|\b(describe|it)(\.each\([^)]*\))?\(/.test(line)) continue;
    for (const m of line.matchAll(/\b([WKL]\d+)\b/g)) cited.add(m[1]!);
  }
}

const sections = { W: section("W"), L: section("L") };

describe("SPEC.md, sections W and L", () => {
  it("numbers each letter's invariants 1…n without gaps", () => {
    const ids = [...sections.W.keys(), ...sections.L.keys()];
    for (const letter of ["W", "K", "L"]) {
      const numbers = ids.filter((id) => id.startsWith(letter)).map((id) => Number(id.slice(1))).sort((a, b) => a - b);
      expect(numbers.length).toBeGreaterThan(0);
      expect(numbers).toEqual(numbers.map((_, i) => i + 1));
    }
  });

  it("every invariant is cited by a test (its id in a test's name or a `// SPEC <id>` comment)", () => {
    const ids = [...sections.W.keys(), ...sections.L.keys()];
    expect(ids.filter((id) => !cited.has(id))).toEqual([]);
  });

  it("every test file the table names exists", () => {
    const named = [...sections.W.values(), ...sections.L.values()].flatMap((row) => [...row.matchAll(/\btest\/[\w/.-]+\.ts\b/g)].map((m) => m[0]));
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((f) => !fs.existsSync(path.join(REPO, f)))).toEqual([]);
  });

  it("is documentation, not a template: never listed, ejected or generated", () => {
    const builtins = listBuiltinTemplates();
    expect(builtins).toContain("runtime/change-writer.ts");
    expect(builtins.filter((t) => t.endsWith(".md"))).toEqual([]);
  });
});
