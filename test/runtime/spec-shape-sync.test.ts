/**
 * templates/runtime/SPEC.md against the tests: every shape-sync invariant (section S) is cited
 * by a test of test/runtime, every id a test cites exists, and the file stays documentation
 * (the generator neither copies nor lists it as a template).
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { listBuiltinTemplates } from "../../src/render/templates.js";
import { REPO } from "../support/project.js";

const SPEC = fs.readFileSync(path.join(REPO, "templates/runtime/SPEC.md"), "utf8");
const section = (letter: string): string => {
  const start = SPEC.indexOf(`\n## ${letter} `);
  const end = SPEC.indexOf("\n## ", start + 1);
  return start < 0 ? "" : SPEC.slice(start, end < 0 ? undefined : end);
};
/** Test names in test/runtime (the first argument of `it(`). */
const testNames = fs
  .readdirSync(path.join(REPO, "test/runtime"))
  .filter((f) => f.endsWith(".test.ts"))
  .flatMap((f) => [...fs.readFileSync(path.join(REPO, "test/runtime", f), "utf8").matchAll(/\bit\(\s*"([^"]+)"/g)].map((m) => m[1]!));

describe("SPEC.md section S (shape sync)", () => {
  const defined = [...section("S").matchAll(/^\*\*(S\d+) – /gm)].map((m) => m[1]!);

  it("numbers its invariants S1, S2, … without gaps", () => {
    expect(defined.length).toBeGreaterThan(0);
    expect(defined).toEqual(defined.map((_, i) => `S${i + 1}`));
  });

  it("every invariant is cited by a test of test/runtime, and every S id a test cites exists", () => {
    const cited = new Set(testNames.flatMap((n) => [...n.matchAll(/\bS(\d+)\b/g)].map((m) => `S${m[1]}`)));
    expect(defined.filter((id) => !cited.has(id))).toEqual([]);
    expect([...cited].filter((id) => !defined.includes(id))).toEqual([]);
  });

  it("every invariant has a row in the enforcement table", () => {
    const rows = [...section("S").matchAll(/^\| (S\d+) \|/gm)].map((m) => m[1]!);
    expect(rows).toEqual(defined);
  });
});

describe("SPEC.md is documentation, not a template", () => {
  it("is not listed among the built-in templates (eject, templates check)", () => {
    const builtins = listBuiltinTemplates();
    expect(builtins).toContain("runtime/shape-sync-state.ts");
    expect(builtins.filter((t) => t.endsWith(".md"))).toEqual([]);
  });
});
