/**
 * Test support: temporary projects, running the real CLI (bin/sync-patterns.js, the compiled
 * build when present) and type-checking generated code with the project's own TypeScripts.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll } from "vitest";
import { CHECK_COMPILER_OPTIONS } from "../../src/eject/check.js";

export const REPO = path.resolve(import.meta.dirname, "../..");
export const BIN = path.join(REPO, "bin/sync-patterns.js");
export const EXAMPLE_SPEC = path.join(REPO, "examples/finance-tracker/openapi.yaml");
/** TypeScript 5.9 (the `typescript` devDependency). */
export const TSC_5 = path.join(REPO, "node_modules/typescript/bin/tsc");
/** TypeScript 7's native compiler (the `typescript-7` devDependency, an npm alias of `typescript@7`). */
export const TSC_7 = path.join(REPO, "node_modules/typescript-7/bin/tsc");
/**
 * The compiler of the suite's own checks: TypeScript 7, 4–5× faster here per spawn
 * (docs/performance.md). Users have either version, so the public API and the templates are
 * also checked with TypeScript 5.9 (`COMPILERS`).
 */
export const TSC = TSC_7;
/** Both TypeScripts users run, for the checks that must pass under each: `it.each(COMPILERS)`. */
export const COMPILERS: [version: string, tsc: string][] = [
  ["5.9", TSC_5],
  ["7", TSC_7],
];

const made: string[] = [];
afterAll(() => {
  if (process.env.KEEP_TMP) return;
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder with the given files (path → content). */
export function tempProject(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-test-"));
  made.push(dir);
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function cli(cwd: string, ...args: string[]): Promise<CliResult> {
  const r = await execa("node", [BIN, ...args], { cwd, reject: false, env: { NO_COLOR: "1" }, stdin: "ignore" });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Every file under `dir` (relative path → content), for byte-for-byte comparisons. */
export function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const abs = path.join(d, e.name);
      if (e.isDirectory()) walk(abs);
      else out[path.relative(dir, abs)] = fs.readFileSync(abs, "utf8");
    }
  };
  walk(dir);
  return out;
}

/**
 * Type-checks a generated folder in strict mode (plus the strictest optional flags users
 * turn on), resolving packages from this repository's node_modules; with `TSC` (TypeScript 7)
 * unless another compiler is given.
 */
export async function typecheck(generatedDir: string, tsc: string = TSC): Promise<{ ok: boolean; output: string }> {
  // tsconfig and node_modules next to the code: module resolution walks up from each file.
  const root = generatedDir;
  if (!fs.existsSync(path.join(root, "node_modules"))) fs.symlinkSync(path.join(REPO, "node_modules"), path.join(root, "node_modules"));
  fs.writeFileSync(
    path.join(root, "tsconfig.json"),
    JSON.stringify({
      // The options of `templates check`, plus the unused-code checks strict projects add.
      compilerOptions: { ...CHECK_COMPILER_OPTIONS, noUnusedLocals: true, noUnusedParameters: true },
      include: ["**/*.ts"],
      exclude: ["node_modules"],
    }),
  );
  // The heap limit is for TypeScript 5.9's JavaScript compiler; TypeScript 7's launcher passes the check to a native binary.
  const r = await execa("node", ["--max-old-space-size=4096", tsc, "-p", root], { reject: false });
  return { ok: r.exitCode === 0, output: (r.stdout + r.stderr).slice(0, 8000) };
}
