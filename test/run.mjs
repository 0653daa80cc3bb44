#!/usr/bin/env node
// `npm test`: build, (in CI or with SLOW=1) install the real-world specs for the slow suite,
// run vitest, and end with a plain `N passed, N failed` line.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: repo, stdio: "inherit", ...opts }).status ?? 1;

if (run("npm", ["run", "--silent", "build"]) !== 0) {
  console.log("0 passed, 1 failed");
  process.exit(1);
}
if (process.env.CI || process.env.SLOW) {
  if (run("bash", ["test/slow/install-specs.sh"]) !== 0) console.error("could not install the real-world specs; the slow suite will fail");
}
// Without arguments, two phases: everything but the browser tests, then the browser tests alone, so
// their latency goals are measured on a machine not also running the Postgres and PGlite suites.
const args = process.argv.slice(2);
const phases = args.length ? [args] : [["--exclude", "test/browser/**"], ["test/browser"]];
let passed = 0;
let failed = 0;
let code = 0;
for (const [i, phase] of phases.entries()) {
  const results = path.join(repo, `.vitest-results${i ? `-${i}` : ""}.json`);
  fs.rmSync(results, { force: true });
  const status = run("npx", ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile=${results}`, ...phase]);
  code ||= status;
  try {
    const r = JSON.parse(fs.readFileSync(results, "utf8"));
    passed += r.numPassedTests;
    const f = r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
    failed += f || (status !== 0 ? 1 : 0);
  } catch {
    failed += 1;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(code);
