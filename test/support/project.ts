/**
 * Test support: temporary projects, running the real CLI (bin/sync-patterns.js, the compiled
 * build when present) and type-checking generated code with the project's own tsc.
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
export const TSC = path.join(REPO, "node_modules/typescript/bin/tsc");

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
 * turn on), resolving packages from this repository's node_modules.
 */
export async function typecheck(generatedDir: string): Promise<{ ok: boolean; output: string }> {
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
  const r = await execa("node", ["--max-old-space-size=4096", TSC, "-p", root], { reject: false });
  return { ok: r.exitCode === 0, output: (r.stdout + r.stderr).slice(0, 8000) };
}
