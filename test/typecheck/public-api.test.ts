/**
 * The declarations the package ships (dist/src/**\/*.d.ts, emitted by `npm run build` with
 * TypeScript 7) type-check, library checks on, under both TypeScripts users run: a declaration
 * the build's compiler writes must mean the same to a project on TypeScript 5.9.
 */
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { COMPILERS, REPO, TSC, tempProject } from "../support/project.js";

/** A copy of dist/'s declarations in a fresh folder that resolves packages from this repository. */
function declarations(): string {
  const dist = path.join(REPO, "dist/src");
  if (!fs.existsSync(path.join(dist, "cli/bin.d.ts"))) throw new Error("dist/ is missing: run `npm run build` first");
  const root = tempProject();
  fs.cpSync(dist, path.join(root, "src"), { recursive: true, filter: (from) => fs.statSync(from).isDirectory() || from.endsWith(".d.ts") });
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(root, "node_modules"));
  // A project consuming them as Node ESM, with every declaration file checked (skipLibCheck off).
  const compilerOptions = { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2023"], types: ["node"], strict: true, noEmit: true, skipLibCheck: false };
  fs.writeFileSync(path.join(root, "tsconfig.json"), JSON.stringify({ compilerOptions, include: ["src/**/*.d.ts"] }));
  return root;
}

async function tsc(root: string, compiler: string): Promise<{ ok: boolean; output: string }> {
  const r = await execa("node", [compiler, "-p", root], { reject: false });
  return { ok: r.exitCode === 0, output: (r.stdout + r.stderr).slice(0, 8000) };
}

describe("the published declarations", () => {
  it.each(COMPILERS)("type-check under TypeScript %s", async (_version, compiler) => {
    const root = declarations();
    expect(fs.readdirSync(path.join(root, "src"), { recursive: true }).filter((f) => String(f).endsWith(".d.ts")).length).toBeGreaterThan(50);
    const result = await tsc(root, compiler);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  });

  it("an error in a declaration is caught (the check can fail)", async () => {
    const root = declarations();
    fs.appendFileSync(path.join(root, "src/generate.d.ts"), "export declare const broken: NoSuchType;\n");
    const result = await tsc(root, TSC);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/src\/generate\.d\.ts.*TS2304: Cannot find name 'NoSuchType'/);
  });
});
