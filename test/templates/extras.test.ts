/** Planning the config's extra artifacts: one per entity / group / once, with clashing outputs refused. */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { loadModel } from "../../src/generate.js";
import { planArtifacts } from "../../src/plan/artifacts.js";
import { planExtraArtifacts } from "../../src/plan/extras.js";
import { templateBase } from "../../src/plan/print/index.js";
import { EXAMPLE_SPEC, REPO } from "../support/project.js";

async function plan(artifacts: string) {
  const config = parseConfig(`spec: ${JSON.stringify(EXAMPLE_SPEC)}\nartifacts:\n${artifacts}\n`, REPO, "sync-patterns.config.yaml");
  if (!config.ok) throw new Error(JSON.stringify(config.diagnostics));
  const loaded = await loadModel(config.value, REPO);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  const settings = { apiUrl: "" };
  const builtins = planArtifacts(loaded.value.model, settings);
  return { model: loaded.value.model, result: planExtraArtifacts(loaded.value.model, settings, config.value.artifacts, builtins) };
}

describe("planExtraArtifacts", () => {
  it("renders per entity, per group and once, with the data each template gets", async () => {
    const { model, result } = await plan(
      [
        '  - { template: forms/entity.tsx.eta, output: "forms/{entity}.tsx", each: entity }',
        '  - { template: api/extra.ts.eta, output: "api/{group}.extra.ts", each: group }',
        "  - { template: routes.ts.eta, output: routes.ts }",
      ].join("\n"),
    );
    if (!result.ok) return expect.fail(JSON.stringify(result.diagnostics));
    const outputs = result.value.map((a) => a.output);
    expect(outputs).toEqual([...model.entities.map((e) => `forms/${e.names.kebab}.tsx`), ...model.groups.map((g) => `api/${g.file}.extra.ts`), "routes.ts"]);
    const contact = result.value.find((a) => a.output === "forms/contact.tsx")!;
    expect(contact).toMatchObject({ template: "forms/entity.tsx.eta", override: "forms/contact.tsx.eta", kind: "eta", origin: { pointer: "/artifacts/0", line: 3 } });
    expect(contact.data.entity?.names.kebab).toBe("contact");
    // The same template context as the built-ins get: the model with its printed text (src/plan/print).
    expect(result.value.find((a) => a.output === "routes.ts")!.data).toEqual(templateBase(model, { apiUrl: "" }));
  });

  it("refuses an output another extra artifact already writes, naming it", async () => {
    const { result } = await plan(['  - { template: a.ts.eta, output: "x/{group}.ts", each: group }', '  - { template: b.ts.eta, output: "x/contacts.ts" }'].join("\n"));
    expect(result.ok).toBe(false);
    expect(result.diagnostics).toEqual([expect.objectContaining({ code: "plan/output-conflict", message: "Extra artifact b.ts.eta would write x/contacts.ts, which artifacts[0] (a.ts.eta) already writes.", location: expect.objectContaining({ pointer: "/artifacts/1" }) })]);
  });
});
