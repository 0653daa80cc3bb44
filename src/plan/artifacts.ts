/**
 * Stage 3: plan. SpecModel + settings → the list of artifacts to render. Pure.
 * An artifact names a template (a logical name, resolved later through the ejected folder
 * first), the output path relative to the output folder, and the data the template gets.
 */
import type { SourceLocation } from "../diagnostics/diagnostic.js";
import type { SpecModel } from "../model/types.js";
import type { PlanSettings, TemplateData, TemplateEntity } from "./context.js";
import { templateBase } from "./print/index.js";

export type { PlanSettings, TemplateData } from "./context.js";

export interface Artifact {
  /** Logical template name, e.g. `api/group.ts.eta`, or a runtime file copied as is. */
  template: string;
  /** Output path relative to the output folder, with `/` separators. */
  output: string;
  /** `eta` renders the template; `copy` copies a plain TypeScript runtime file verbatim. */
  kind: "eta" | "copy";
  data: TemplateData;
  /**
   * A more specific template used instead of `template` when the project has it (never a built-in):
   * the per-entity override `collections/contact.ts.eta` of `collections/entity.ts.eta`.
   */
  override?: string;
  /** Where the artifact was declared, for errors about it: the config entry of an extra artifact. */
  origin?: SourceLocation;
}

/**
 * The per-entity override of a per-entity template: `<dir>/entity.<ext>` → `<dir>/<entity-kebab>.<ext>`.
 * Undefined for templates not named `entity.<ext>`.
 */
export function entityOverride(template: string, kebab: string): string | undefined {
  const m = /^(.*\/)?entity(\..+)$/.exec(template);
  return m ? `${m[1] ?? ""}${kebab}${m[2]}` : undefined;
}

function perEntity(template: string, output: string, base: TemplateData, entity: TemplateEntity): Artifact {
  const override = entityOverride(template, entity.names.kebab);
  return { template, output, kind: "eta", data: { ...base, entity }, ...(override && override !== template ? { override } : {}) };
}

export function planArtifacts(spec: SpecModel, settings: PlanSettings): Artifact[] {
  const base: TemplateData = templateBase(spec, settings);
  const model = base.model;
  const artifacts: Artifact[] = [
    { template: "types/schemas.ts.eta", output: "types/schemas.ts", kind: "eta", data: base },
    { template: "runtime/client.ts", output: "api/client.ts", kind: "copy", data: base },
    { template: "runtime/error-text.ts", output: "api/error-text.ts", kind: "copy", data: base },
    { template: "api/defaults.ts.eta", output: "api/defaults.ts", kind: "eta", data: base },
    { template: "core.ts.eta", output: "core.ts", kind: "eta", data: base },
    { template: "index.ts.eta", output: "index.ts", kind: "eta", data: base },
  ];
  for (const group of model.groups) {
    artifacts.push(
      { template: "api/group.ts.eta", output: `api/${group.file}.ts`, kind: "eta", data: { ...base, group } },
      { template: "queries/group.ts.eta", output: `queries/${group.file}.ts`, kind: "eta", data: { ...base, group } },
    );
  }
  for (const entity of model.entities) {
    artifacts.push(perEntity("types/entity.ts.eta", `types/${entity.names.kebab}.ts`, base, entity));
    artifacts.push(perEntity("schema/entity.sql.eta", `schema/${entity.names.kebab}.sql`, base, entity));
  }
  if (model.entities.length > 0) {
    artifacts.push(
      { template: "schema/shared.sql.eta", output: "schema/_shared.sql", kind: "eta", data: base },
      { template: "db/schema.ts.eta", output: "db/schema.ts", kind: "eta", data: base },
      { template: "db/init.ts.eta", output: "db/init.ts", kind: "eta", data: base },
      { template: "runtime/local-db.ts", output: "db/local-db.ts", kind: "copy", data: base },
      { template: "runtime/scheduler.ts", output: "db/scheduler.ts", kind: "copy", data: base },
      { template: "runtime/db-worker.ts", output: "db/worker.ts", kind: "copy", data: base },
      { template: "runtime/shape-sync.ts", output: "sync/shape-sync.ts", kind: "copy", data: base },
      { template: "runtime/shape-sync-state.ts", output: "sync/shape-sync-state.ts", kind: "copy", data: base },
      { template: "runtime/change-writer.ts", output: "sync/change-writer.ts", kind: "copy", data: base },
      { template: "runtime/writer-decisions.ts", output: "sync/writer-decisions.ts", kind: "copy", data: base },
      { template: "sync/entities.ts.eta", output: "sync/entities.ts", kind: "eta", data: base },
      { template: "sync/engine.ts.eta", output: "sync/engine.ts", kind: "eta", data: base },
      { template: "runtime/collection.ts", output: "collections/pglite-collection.ts", kind: "copy", data: base },
      { template: "runtime/subset-sql.ts", output: "collections/subset-sql.ts", kind: "copy", data: base },
      { template: "collections/all.ts.eta", output: "collections/_all.ts", kind: "eta", data: base },
      { template: "hooks/sync.ts.eta", output: "hooks/sync.ts", kind: "eta", data: base },
      { template: "permissions.ts.eta", output: "permissions.ts", kind: "eta", data: base },
      { template: "server/shapes.json.eta", output: "server/shapes.json", kind: "eta", data: base },
      { template: "server/permissions.json.eta", output: "server/permissions.json", kind: "eta", data: base },
      { template: "runtime/permission-rules.ts", output: "sync/permission-rules.ts", kind: "copy", data: base },
      { template: "hooks/permissions.ts.eta", output: "hooks/permissions.ts", kind: "eta", data: base },
    );
    for (const entity of model.entities) {
      artifacts.push(
        perEntity("collections/entity.ts.eta", `collections/${entity.names.kebab}.ts`, base, entity),
        perEntity("hooks/entity.ts.eta", `hooks/${entity.names.kebab}.ts`, base, entity),
      );
    }
  }
  return artifacts;
}
