/**
 * bench/typecheck: one tsc spawn of each kind the test suite runs, with TypeScript 5.9 (`typescript`)
 * and TypeScript 7 (`typescript-7`, an npm alias of typescript@7), interleaved in the same run.
 *
 *  - finance: the finance-tracker client with test/support/project.ts's typecheck() options
 *  - oas-examples: the 60 @readme/oas-examples clients in one project, same options
 *  - project: this repository's own `npm run typecheck` (src, plopfile.ts and test, tsconfig.json)
 *  - build: `npm run build`'s emit of dist/ (tsconfig.build.json), into a temporary folder
 *
 * Run: npx tsx bench/typecheck/run.mts [--runs 3]
 * Prints every run, the medians and the 5.9 / 7 ratio, and one JSON line at the end.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { parseConfig } from "../../src/config/config.ts";
import { CHECK_COMPILER_OPTIONS } from "../../src/eject/check.ts";
import { generate } from "../../src/generate.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
const RUNS = Number(values.runs);
const REPO = path.resolve(import.meta.dirname, "../..");
const COMPILERS = { "5.9": path.join(REPO, "node_modules/typescript/bin/tsc"), "7": path.join(REPO, "node_modules/typescript-7/bin/tsc") };
const OAS = path.join(REPO, "node_modules/@readme/oas-examples");
const made: string[] = [];
const temp = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-bench-tsc-"));
  made.push(dir);
  return dir;
};

async function generateInto(root: string, name: string, spec: string): Promise<void> {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const config = parseConfig(`spec: ${JSON.stringify(spec)}\noutput: out\n`, dir, "sync-patterns.config.yaml");
  if (!config.ok) throw new Error(JSON.stringify(config.diagnostics));
  const generated = await generate(config.value, "write", dir);
  if (!generated.ok) throw new Error(`${name}: ${JSON.stringify(generated.diagnostics)}`);
}

/** A project as typecheck() in test/support/project.ts writes it. */
function asTypecheck(root: string): string {
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(root, "node_modules"));
  const compilerOptions = { ...CHECK_COMPILER_OPTIONS, noUnusedLocals: true, noUnusedParameters: true };
  fs.writeFileSync(path.join(root, "tsconfig.json"), JSON.stringify({ compilerOptions, include: ["**/*.ts"], exclude: ["node_modules"] }));
  return root;
}

const finance = temp();
await generateInto(finance, "finance", path.join(REPO, "examples/finance-tracker/openapi.yaml"));
const oas = temp();
for (const v of ["2.0", "3.0", "3.1"]) {
  for (const f of fs.readdirSync(path.join(OAS, v, "json")).filter((f) => f.endsWith(".json"))) await generateInto(oas, `${v}_${f}`.replace(/\W/g, "_"), path.join(OAS, v, "json", f));
}
const out = temp();
const cases: Record<string, string[]> = {
  finance: ["-p", asTypecheck(finance)],
  "oas-examples": ["-p", asTypecheck(oas)],
  project: ["-p", path.join(REPO, "tsconfig.json"), "--noEmit"],
  build: ["-p", path.join(REPO, "tsconfig.build.json"), "--outDir", out],
};

const times: Record<string, Record<string, number[]>> = {};
for (let i = 0; i < RUNS; i++) {
  for (const [name, args] of Object.entries(cases)) {
    for (const [version, tsc] of Object.entries(COMPILERS)) {
      const start = performance.now();
      const r = await execa("node", ["--max-old-space-size=4096", tsc, ...args], { reject: false });
      const ms = performance.now() - start;
      if (r.exitCode !== 0) throw new Error(`${name} with TypeScript ${version} failed:\n${(r.stdout + r.stderr).slice(0, 4000)}`);
      ((times[name] ??= {})[version] ??= []).push(ms);
    }
  }
}
for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const summary: Record<string, { runs: Record<string, number[]>; median: Record<string, number>; ratio: number }> = {};
for (const [name, byVersion] of Object.entries(times)) {
  const m = Object.fromEntries(Object.entries(byVersion).map(([v, xs]) => [v, Math.round(median(xs))]));
  summary[name] = { runs: byVersion, median: m, ratio: Number((m["5.9"]! / m["7"]!).toFixed(1)) };
  const runs = Object.entries(byVersion).map(([v, xs]) => `${v}: ${xs.map((x) => x.toFixed(0)).join(" ")}`).join(" | ");
  console.log(`${name.padEnd(13)} median 5.9 ${String(m["5.9"]).padStart(6)} ms, 7 ${String(m["7"]).padStart(5)} ms, ${summary[name].ratio}×   (${runs})`);
}
console.log(JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, load: os.loadavg(), summary }));
