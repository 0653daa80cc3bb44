/**
 * `<templates>/context.d.ts` (written by eject) must describe exactly what templates get: every
 * type exported by src/model/types.ts and the TemplateData of src/plan/artifacts.ts, member for
 * member. tsc proves it with an identity check per type (under TypeScript 5.9 and 7, since template
 * authors have either), and the check is shown to fail on drift.
 */
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { cli, COMPILERS, REPO, TSC, tempProject } from "../support/project.js";

const MODEL = path.join(REPO, "src/model/types.ts");
const ARTIFACTS = path.join(REPO, "src/plan/artifacts.ts");
const modelTypes = [...fs.readFileSync(MODEL, "utf8").matchAll(/^export (?:interface|type) (\w+)/gm)].map((m) => m[1]!);

/** A TypeScript file that fails to compile unless context.d.ts and the sources declare identical types. */
function identityChecks(contextFile: string): string {
  const names = [...modelTypes.map((n) => [n, "Model"] as const), ["TemplateData", "Plan"] as const, ["PlanSettings", "Plan"] as const];
  return [
    `import type * as Ctx from ${JSON.stringify(contextFile.replace(/\.d\.ts$/, ".js"))};`,
    `import type * as Model from ${JSON.stringify(MODEL.replace(/\.ts$/, ".js"))};`,
    `import type * as Plan from ${JSON.stringify(ARTIFACTS.replace(/\.ts$/, ".js"))};`,
    "type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;",
    ...names.map(([n, from]) => `export const same${n}: Same<Ctx.${n}, ${from}.${n}> = true;`),
    "export const sameModelVersion: Same<typeof Ctx.MODEL_VERSION, typeof Model.MODEL_VERSION> = true;",
    "",
  ].join("\n");
}

async function tsc(dir: string, file: string, compiler = TSC): Promise<{ ok: boolean; output: string }> {
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: "ES2022", module: "ESNext", moduleResolution: "Bundler", skipLibCheck: false, types: [] }, files: [file] }));
  const r = await execa("node", [compiler, "-p", dir], { reject: false });
  return { ok: r.exitCode === 0, output: r.stdout + r.stderr };
}

describe("context.d.ts", () => {
  it.each(COMPILERS)("is written on eject and declares exactly the types of src/model/types.ts and TemplateData (TypeScript %s)", async (_version, compiler) => {
    expect(modelTypes).toEqual(expect.arrayContaining(["SpecModel", "Entity", "EntityField", "Operation", "OperationGroup", "Names"]));
    const dir = tempProject();
    const r = await cli(dir, "eject", "templates", "index.ts.eta");
    expect(r.exitCode, r.stderr).toBe(0);
    const context = path.join(dir, "sync-patterns/templates/context.d.ts");
    expect(fs.readFileSync(context, "utf8")).toMatch(/^\/\/ The template context of sync-patterns [\d.]+ \(model version \d+\)/);
    fs.writeFileSync(path.join(dir, "check.ts"), identityChecks(context));
    const result = await tsc(dir, "check.ts", compiler);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  });

  it("the identity check fails when the context drifts from the sources", async () => {
    const dir = tempProject();
    await cli(dir, "eject", "templates", "index.ts.eta");
    const context = path.join(dir, "sync-patterns/templates/context.d.ts");
    const drifted = path.join(dir, "drifted.d.ts");
    const text = fs.readFileSync(context, "utf8");
    expect(text).toContain("electricUrl?: string;");
    fs.writeFileSync(drifted, text.replace("electricUrl?: string;", "electricUrl?: string | null;"));
    const checks = identityChecks(drifted);
    fs.writeFileSync(path.join(dir, "check.ts"), checks);
    const result = await tsc(dir, "check.ts");
    expect(result.ok).toBe(false);
    // Exactly the two types that contain the drifted member fail: PlanSettings and TemplateData (through `settings`).
    const lineOf = (name: string): number => checks.split("\n").findIndex((l) => l.includes(`const same${name}:`)) + 1;
    const failing = [...result.output.matchAll(/check\.ts\((\d+),\d+\): error TS2322/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
    expect(failing).toEqual([lineOf("TemplateData"), lineOf("PlanSettings")].sort((a, b) => a - b));
  });
});
