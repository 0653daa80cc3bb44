/**
 * Stage 2: normalize. LoadedSpec + entity settings → SpecModel. Pure: no I/O.
 */
import { error, fail, hasErrors, ok, type Diagnostic, type Result, type SourceLocation } from "../diagnostics/diagnostic.js";
import { closest } from "../diagnostics/suggest.js";
import { buildEntities, findResources, type EntityRequest, type ResourceCandidate } from "./entities.js";
import { buildOperations } from "./operations.js";
import { schemaCycles } from "./schema-cycles.js";
import { buildNamedSchema, componentSchemas, nameSchemas } from "./schemas.js";
import { isObj } from "./schema-walk.js";
import type { TsTypeContext } from "./ts-type.js";
import type { Json } from "../spec/parse.js";
import { MODEL_VERSION, type NamedSchema, type Resource, type SpecModel, type SyncMode } from "./types.js";

export interface ModelInput {
  document: Record<string, Json>;
  locate: (pointer: string) => SourceLocation;
  /** Entities added by the config (name → settings), on top of what the spec marks with x-sync. */
  entities?: Record<string, { mode?: SyncMode; table?: string }>;
  /** Where the config's entities are declared, for diagnostics. */
  configFile?: string;
}

export function buildModel(input: ModelInput): Result<SpecModel> {
  const { document: doc, locate } = input;
  const diagnostics: Diagnostic[] = [];
  const naming = nameSchemas(doc, locate, diagnostics);
  diagnostics.push(...schemaCycles(doc, locate));
  const unsupported = new Set<string>();
  const ctx: TsTypeContext = { doc, names: naming, prefix: "", onUnsupported: (p, what) => unsupported.add(`${p}\u0000${what}`) };
  const schemas: NamedSchema[] = Object.entries(componentSchemas(doc))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, schema]) => buildNamedSchema(name, schema, naming, ctx, `/components/schemas/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`));

  const { operations, groups } = buildOperations(doc, { ...ctx, prefix: "T." }, locate, diagnostics);
  const candidates = findResources(doc, locate, diagnostics);
  const requests = entityRequests(candidates, input, diagnostics);

  const entities = buildEntities(
    doc,
    requests,
    ctx,
    operations,
    {
      rowOf: (r: ResourceCandidate) => {
        if (r.schemaName !== undefined) {
          const n = naming.get(r.schemaName);
          return n ? { row: n.name, write: n.writeName ?? n.name } : undefined;
        }
        // An inline item schema becomes a named schema of its own.
        const name = naming.registry.claim(r.names.pascal, r.path).name;
        const named = buildNamedSchema(name, r.itemSchema!, { get: () => ({ name }) }, ctx, r.itemSchemaPointer ?? r.pointer);
        schemas.push(named);
        return { row: name, write: name };
      },
      claim: (name, owner) => naming.registry.claim(name, owner).name,
    },
    locate,
    diagnostics,
  );

  for (const key of [...unsupported].sort()) {
    const [pointer, what] = key.split("\u0000") as [string, string];
    diagnostics.push({ code: "model/unsupported-construct", severity: "warning", message: `Typed as unknown: ${what}.`, location: locate(pointer), hint: "Move the schema to components/schemas so it can be named." });
  }
  if (hasErrors(diagnostics)) return fail(diagnostics);
  const info = isObj(doc.info) ? doc.info : {};
  const servers = Array.isArray(doc.servers) ? doc.servers : [];
  const firstServer = servers.find((s) => isObj(s) && typeof s.url === "string") as { url: string } | undefined;
  const resources: Resource[] = candidates.map(({ names, path, itemPath, schemaName, specSync }) => ({ names, path, ...(itemPath ? { itemPath } : {}), ...(schemaName ? { schemaName } : {}), ...(specSync ? { specSync } : {}) }));
  return ok(
    {
      modelVersion: MODEL_VERSION,
      title: typeof info.title === "string" ? info.title : "API",
      version: typeof info.version === "string" ? info.version : "",
      ...(firstServer ? { serverUrl: firstServer.url } : {}),
      schemas,
      operations,
      groups,
      resources,
      entities,
    },
    diagnostics,
  );
}

/** Which resources become entities: x-sync in the spec, plus the config's `entities`. */
function entityRequests(candidates: ResourceCandidate[], input: ModelInput, diagnostics: Diagnostic[]): EntityRequest[] {
  const requests: EntityRequest[] = [];
  const configured = input.entities ?? {};
  const matched = new Set<string>();
  for (const r of candidates) {
    const configName = Object.keys(configured).find((n) => matchesResource(r, n));
    if (configName !== undefined) matched.add(configName);
    if (!r.specSync && configName === undefined) continue;
    const override = configName !== undefined ? configured[configName]! : {};
    requests.push({
      resource: r,
      mode: override.mode ?? r.specSync?.mode ?? "confirmed",
      ...(override.table ?? r.specSync?.table ? { table: (override.table ?? r.specSync?.table)! } : {}),
      origin: configName !== undefined ? { file: input.configFile ?? "sync-patterns.config.yaml", pointer: `/entities/${configName}` } : input.locate(`${r.pointer}/x-sync`),
    });
  }
  for (const name of Object.keys(configured)) {
    if (matched.has(name)) continue;
    const known = candidates.map((c) => c.names.snake);
    const near = closest(name, known);
    diagnostics.push(error("model/unknown-entity", `The config adds entity "${name}", but the spec has no such resource.`, { file: input.configFile ?? "sync-patterns.config.yaml", pointer: `/entities/${name}` }, `${near ? `Did you mean "${near}"? ` : ""}Resources in the spec: ${known.join(", ") || "(none)"}.`));
  }
  return requests;
}

/** Does `query` name this resource? By singular or plural name (any case), path, or schema name. */
export function matchesResource(r: Resource, query: string): boolean {
  const q = query.trim();
  const norm = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, "");
  const nq = norm(q);
  return (
    nq !== "" &&
    (nq === norm(r.names.original) || nq === norm(r.names.snakePlural) || q === r.path || q.replace(/\/$/, "") === r.path || (r.schemaName !== undefined && nq === norm(r.schemaName)))
  );
}
