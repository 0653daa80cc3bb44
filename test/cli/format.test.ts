/**
 * `format: prettier` runs the project's own prettier on the output before the write plan is
 * made: the project's prettier config applies, `--check` stays clean, and a missing formatter is
 * a clear error that leaves the output untouched.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cli, EXAMPLE_SPEC, REPO, snapshotTree, tempProject } from "../support/project.js";

const spec = fs.readFileSync(EXAMPLE_SPEC, "utf8");

describe("format: prettier", () => {
  it("formats the output with the project's prettier and config, and --check stays clean", async () => {
    const dir = tempProject({ "openapi.yaml": spec, ".prettierrc": '{ "semi": false, "printWidth": 100 }\n' });
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
    expect((await cli(dir, "init", "--yes")).exitCode).toBe(0);
    fs.appendFileSync(path.join(dir, "sync-patterns.config.yaml"), "format: prettier\n");
    const r = await cli(dir, "generate");
    expect(r.exitCode, r.stderr).toBe(0);
    const defaults = fs.readFileSync(path.join(dir, "src/generated/api/defaults.ts"), "utf8");
    expect(defaults).toMatch(/^export const DEFAULT_BASE_URL = "http:\/\/localhost:3000"$/m);
    expect((await cli(dir, "generate", "--check")).exitCode).toBe(0);
  }, 120_000);

  it("a formatter that is not installed is a clear error and nothing is written", async () => {
    const dir = tempProject({ "openapi.yaml": spec });
    expect((await cli(dir, "init", "--yes")).exitCode).toBe(0);
    const before = snapshotTree(path.join(dir, "src/generated"));
    fs.appendFileSync(path.join(dir, "sync-patterns.config.yaml"), "format: biome\n");
    const r = await cli(dir, "generate");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/\[format\/(not-installed|failed)\]/);
    expect(snapshotTree(path.join(dir, "src/generated"))).toEqual(before);
  }, 60_000);
});
