/**
 * What `templates check` compiles with (src/eject/typescript.ts): the project's tsconfig for the
 * output folder, the flags added on top per TypeScript version, the compiler found through `bin`.
 * The CLI tests in test/cli/templates.test.ts run it with TypeScript 5.9 and 7.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkTsconfig, projectTsconfig, resolveCompiler, strictnessFlags } from "../../src/eject/typescript.js";
import { tempProject } from "../support/project.js";

describe("the check's compiler options", () => {
  it("add each strictness flag only from the TypeScript version that knows it", () => {
    expect(Object.keys(strictnessFlags("5.4.5"))).not.toContain("erasableSyntaxOnly");
    expect(Object.keys(strictnessFlags("5.4.5"))).not.toContain("noUncheckedSideEffectImports");
    expect(Object.keys(strictnessFlags("5.8.3"))).toContain("erasableSyntaxOnly");
    expect(Object.keys(strictnessFlags("5.10.0"))).toContain("erasableSyntaxOnly");
    expect(strictnessFlags("7.0.2")).toMatchObject({ strict: true, erasableSyntaxOnly: true, verbatimModuleSyntax: true, noUncheckedSideEffectImports: true, exactOptionalPropertyTypes: true });
  });

  it("start from the referenced config of a solution tsconfig that includes the output folder (JSON with comments)", () => {
    const dir = tempProject({
      "tsconfig.json": '{ "files": [], "references": [{ "path": "./tsconfig.app.json" }, { "path": "./tsconfig.node.json" }] }',
      "tsconfig.node.json": '{ "include": ["vite.config.ts"] }',
      "tsconfig.app.json": '/* app */ { "compilerOptions": { "module": "esnext", }, "include": ["src"] }',
    });
    expect(projectTsconfig(dir, path.join(dir, "src/generated"))).toBe(path.join(dir, "tsconfig.app.json"));
    // An output folder no referenced config includes: no base (the standalone options).
    expect(projectTsconfig(dir, path.join(dir, "generated"))).toBeUndefined();
  });

  it("use a plain tsconfig as it is, and none above the project", () => {
    const dir = tempProject({ "tsconfig.json": '{ "compilerOptions": { "strict": true } }' });
    expect(projectTsconfig(dir, path.join(dir, "src/generated"))).toBe(path.join(dir, "tsconfig.json"));
    const inner = path.join(dir, "packages/app");
    fs.mkdirSync(inner, { recursive: true });
    expect(projectTsconfig(inner, path.join(inner, "src/generated"))).toBeUndefined();
  });

  it("extend the base, emit nothing, and leave out verbatimModuleSyntax for a CommonJS project", () => {
    const compiler = resolveCompiler(tempProject())!;
    const esm = tempProject({ "tsconfig.json": '{ "compilerOptions": { "module": "esnext", "rootDir": "src" } }' });
    const cjs = tempProject({ "tsconfig.json": '{ "compilerOptions": { "module": "commonjs" } }' });
    const fromEsm = checkTsconfig(compiler, path.join(esm, "tsconfig.json"));
    expect(fromEsm).toMatchObject({ extends: path.join(esm, "tsconfig.json"), files: [], compilerOptions: { noEmit: true, rootDir: null, verbatimModuleSyntax: true, erasableSyntaxOnly: true } });
    expect(checkTsconfig(compiler, path.join(cjs, "tsconfig.json")).compilerOptions).not.toHaveProperty("verbatimModuleSyntax");
    expect(checkTsconfig(compiler, undefined)).not.toHaveProperty("extends");
  });
});
