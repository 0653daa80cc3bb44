/**
 * Stage 3: plan. SpecModel + settings → the list of artifacts to render. Pure.
 * An artifact names a template (a logical name, resolved later through the ejected folder
 * first), the output path relative to the output folder, and the data the template gets.
 */
import type { Entity, OperationGroup, SpecModel } from "../model/types.js";

export interface Artifact {
  /** Logical template name, e.g. `api/group.ts.eta`, or a runtime file copied as is. */
  template: string;
  /** Output path relative to the output folder, with `/` separators. */
  output: string;
  /** `eta` renders the template; `copy` copies a plain TypeScript runtime file verbatim. */
  kind: "eta" | "copy";
  data: TemplateData;
}

/** What every template receives as `it`. */
export interface TemplateData {
  model: SpecModel;
  settings: PlanSettings;
  /** Set for per-entity templates. */
  entity?: Entity;
  /** Set for per-group API templates. */
  group?: OperationGroup;
}

export interface PlanSettings {
  /** Base URL of the REST API the client calls by default. */
  apiUrl: string;
  /** Electric shape endpoint, when configured. */
  electricUrl?: string;
}

export function planArtifacts(model: SpecModel, settings: PlanSettings): Artifact[] {
  const base = { model, settings };
  const artifacts: Artifact[] = [
    { template: "types/schemas.ts.eta", output: "types/schemas.ts", kind: "eta", data: base },
    { template: "runtime/client.ts", output: "api/client.ts", kind: "copy", data: base },
    { template: "api/defaults.ts.eta", output: "api/defaults.ts", kind: "eta", data: base },
    { template: "index.ts.eta", output: "index.ts", kind: "eta", data: base },
  ];
  for (const group of model.groups) {
    artifacts.push({ template: "api/group.ts.eta", output: `api/${group.file}.ts`, kind: "eta", data: { ...base, group } });
  }
  for (const entity of model.entities) {
    artifacts.push({ template: "types/entity.ts.eta", output: `types/${entity.names.kebab}.ts`, kind: "eta", data: { ...base, entity } });
    artifacts.push({ template: "schema/entity.sql.eta", output: `schema/${entity.names.kebab}.sql`, kind: "eta", data: { ...base, entity } });
  }
  if (model.entities.length > 0) {
    artifacts.push(
      { template: "schema/shared.sql.eta", output: "schema/_shared.sql", kind: "eta", data: base },
      { template: "db/schema.ts.eta", output: "db/schema.ts", kind: "eta", data: base },
      { template: "db/init.ts.eta", output: "db/init.ts", kind: "eta", data: base },
      { template: "runtime/local-db.ts", output: "db/local-db.ts", kind: "copy", data: base },
      { template: "runtime/shape-sync.ts", output: "sync/shape-sync.ts", kind: "copy", data: base },
      { template: "runtime/change-writer.ts", output: "sync/change-writer.ts", kind: "copy", data: base },
      { template: "sync/entities.ts.eta", output: "sync/entities.ts", kind: "eta", data: base },
      { template: "sync/engine.ts.eta", output: "sync/engine.ts", kind: "eta", data: base },
      { template: "runtime/collection.ts", output: "collections/pglite-collection.ts", kind: "copy", data: base },
      { template: "hooks/sync.ts.eta", output: "hooks/sync.ts", kind: "eta", data: base },
      { template: "permissions.ts.eta", output: "permissions.ts", kind: "eta", data: base },
    );
    for (const entity of model.entities) {
      artifacts.push(
        { template: "collections/entity.ts.eta", output: `collections/${entity.names.kebab}.ts`, kind: "eta", data: { ...base, entity } },
        { template: "hooks/entity.ts.eta", output: `hooks/${entity.names.kebab}.ts`, kind: "eta", data: { ...base, entity } },
      );
    }
  }
  return artifacts;
}
