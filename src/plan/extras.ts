/**
 * Extra artifacts: templates of the project declared in the config (`artifacts:`), rendered from
 * the same model into the same output folder and manifest as the built-in ones. Pure.
 */
import type { ArtifactConfig } from "../config/config.js";
import { error, fail, ok, type Diagnostic, type Result } from "../diagnostics/diagnostic.js";
import type { SpecModel } from "../model/types.js";
import { templateBase } from "./print/index.js";
import { entityOverride, type Artifact, type PlanSettings, type TemplateData } from "./artifacts.js";

/**
 * The artifacts of `extras`, one per entity / group / once. An output that another artifact
 * (built-in or extra) already writes is an error at the config entry.
 */
export function planExtraArtifacts(model: SpecModel, settings: PlanSettings, extras: readonly ArtifactConfig[], builtins: readonly Artifact[]): Result<Artifact[]> {
  const base: TemplateData = templateBase(model, settings);
  const taken = new Map<string, string>(builtins.map((a) => [a.output, `the built-in template ${a.template}`]));
  const out: Artifact[] = [];
  const diagnostics: Diagnostic[] = [];
  extras.forEach((extra, i) => {
    const add = (output: string, data: TemplateData, override?: string): void => {
      const owner = taken.get(output);
      if (owner) {
        diagnostics.push(error("plan/output-conflict", `Extra artifact ${extra.template} would write ${output}, which ${owner} already writes.`, extra.location, "Choose another `output` for it."));
        return;
      }
      taken.set(output, `artifacts[${i}] (${extra.template})`);
      out.push({ template: extra.template, output, kind: "eta", data, origin: extra.location, ...(override && override !== extra.template ? { override } : {}) });
    };
    if (extra.each === "entity") {
      for (const entity of base.model.entities) add(extra.output.replaceAll("{entity}", entity.names.kebab), { ...base, entity }, entityOverride(extra.template, entity.names.kebab));
    } else if (extra.each === "group") {
      for (const group of base.model.groups) add(extra.output.replaceAll("{group}", group.file), { ...base, group });
    } else {
      add(extra.output, base);
    }
  });
  return diagnostics.length ? fail(diagnostics) : ok(out);
}
