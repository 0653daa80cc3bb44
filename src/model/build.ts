/**
 * Stage 2: normalize. LoadedSpec + entity settings → SpecModel. Pure: no I/O.
 */
import { error, fail, hasErrors, ok, pointerJoin, type Diagnostic, type Result, type SourceLocation } from "../diagnostics/diagnostic.js";
import { closest } from "../diagnostics/suggest.js";
import { buildEntities, findResources, type EntityRequest, type ResourceCandidate } from "./entities.js";
import { buildOperations, SCHEMA_NAMESPACE } from "./operations.js";
import { schemaCycles } from "./schema-cycles.js";
import { buildNamedSchema, componentSchemas, nameSchemas } from "./schemas.js";
import { isObj } from "./schema-walk.js";
import { entityNames, singularOf, snakeCase } from "./naming.js";
import type { TsTypeContext } from "./ts-type.js";
import type { Json } from "../spec/parse.js";
import { MODEL_VERSION, type KeySource, type NamedSchema, type Resource, type SpecModel, type SyncMode } from "./types.js";

export interface ModelInput {
  document: Record<string, Json>;
  locate: (pointer: string) => SourceLocation;
  /** Entities added by the config (name → settings), on top of what the spec marks with x-sync. */
  entities?: Record<string, { mode?: SyncMode; table?: string; path?: string; params?: Record<string, string>; keySource?: KeySource }>;
  /** Where the config's entities are declared, for diagnostics. */
  configFile?: string;
}

export function buildModel(input: ModelInput): Result<SpecModel> {
  const { document: doc, locate } = input;
  const diagnostics: Diagnostic[] = [];
  const naming = nameSchemas(doc, locate, diagnostics);
  diagnostics.push(...schemaCycles(doc, locate));
  const unsupported = new Set<string>();
  const ctx: TsTypeContext = { doc, names: naming, onUnsupported: (p, what) => unsupported.add(`${p}\u0000${what}`) };
  const schemas: NamedSchema[] = Object.entries(componentSchemas(doc))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, schema]) => buildNamedSchema(name, schema, naming, ctx, `/components/schemas/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`));

  const { operations, groups } = buildOperations(doc, { ...ctx, namespace: SCHEMA_NAMESPACE }, locate, diagnostics, naming.registry);
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

/**
 * Which resources become entities: x-sync in the spec, plus the config's `entities`. A config
 * entry names its resource (by name, schema name or path), or pins it with `path:` and then
 * gives the entity its own name (the entry's key): two resources with one name can both be synced.
 */
function entityRequests(candidates: ResourceCandidate[], input: ModelInput, diagnostics: Diagnostic[]): EntityRequest[] {
  const requests: (EntityRequest & { order: number })[] = [];
  const configured = input.entities ?? {};
  const configFile = input.configFile ?? "sync-patterns.config.yaml";
  const claimed = new Map<ResourceCandidate, string>();
  const specParamsAt = (r: ResourceCandidate) => (param: string) => input.locate(pointerJoin(`${r.pointer}/x-sync/params`, param));
  for (const [name, settings] of Object.entries(configured)) {
    const at = { file: configFile, pointer: pointerJoin("/entities", name) };
    let matches: ResourceCandidate[];
    if (settings.path !== undefined) {
      matches = candidates.filter((c) => c.path === settings.path);
      if (!matches.length) {
        const near = closest(settings.path, candidates.map((c) => c.path));
        diagnostics.push(error("model/unknown-entity", `The config's entity "${name}" has \`path: ${settings.path}\`, but the spec has no resource at that path.`, { ...at, pointer: `${at.pointer}/path` }, `${near ? `Did you mean "${near}"? ` : ""}Resources are listed by \`sync-patterns list\`.`));
        continue;
      }
    } else {
      matches = candidates.filter((c) => matchesResource(c, name));
      if (!matches.length) {
        const known = candidates.map((c) => c.names.snake);
        const near = closest(name, known);
        diagnostics.push(error("model/unknown-entity", `The config adds entity "${name}", but the spec has no such resource.`, at, `${near ? `Did you mean "${near}"? ` : ""}Resources in the spec: ${known.join(", ") || "(none)"}.`));
        continue;
      }
      if (matches.length > 1) {
        diagnostics.push(
          error(
            "model/ambiguous-entity",
            `The config's entity "${name}" names ${matches.length} resources: ${matches.map((m) => m.path).join(", ")}.`,
            at,
            `Pick one by its path and give it a name of its own: \`sync-patterns add ${matches[matches.length - 1]!.path} --as <name>\`, or add \`path: <one of them>\` to entities.${name}.`,
          ),
        );
        continue;
      }
    }
    const r = matches[0]!;
    const other = claimed.get(r);
    if (other !== undefined) {
      diagnostics.push(error("model/duplicate-entity", `The config's entities "${other}" and "${name}" both add ${r.path}.`, at, `Keep one of them.`));
      continue;
    }
    claimed.set(r, name);
    const params = { ...r.specSync?.params, ...settings.params };
    const table = settings.table ?? r.specSync?.table;
    requests.push({
      order: candidates.indexOf(r),
      // Pinned by path, the entry's key names the entity.
      resource: settings.path !== undefined ? { ...r, names: entityNames(snakeCase(singularOf(name))) } : r,
      mode: settings.mode ?? r.specSync?.mode ?? "confirmed",
      ...(table !== undefined ? { table } : {}),
      ...(Object.keys(params).length ? { params } : {}),
      ...(settings.keySource !== undefined ? { keySource: settings.keySource, keySourceAt: { file: configFile, pointer: pointerJoin(at.pointer, "key_source") } } : {}),
      origin: at,
      paramsAt: (param) => (settings.params?.[param] !== undefined ? { file: configFile, pointer: pointerJoin(at.pointer, "params", param) } : specParamsAt(r)(param)),
    });
  }
  for (const r of candidates) {
    if (!r.specSync || claimed.has(r)) continue;
    requests.push({
      order: candidates.indexOf(r),
      resource: r,
      mode: r.specSync.mode,
      ...(r.specSync.table !== undefined ? { table: r.specSync.table } : {}),
      ...(r.specSync.params ? { params: r.specSync.params } : {}),
      origin: input.locate(`${r.pointer}/x-sync`),
      paramsAt: specParamsAt(r),
    });
  }
  // In the spec's path order, whoever asked for them.
  return requests.sort((a, b) => a.order - b.order).map(({ order: _, ...request }) => request);
}

/** Does `query` name this resource? By singular or plural name (any case), path, or schema name. */
export function matchesResource(r: Resource, query: string): boolean {
  const q = query.trim();
  const norm = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, "");
  const nq = norm(q);
  return (
    nq !== "" &&
    (nq === norm(r.names.original) || nq === norm(r.names.snakePlural) || q === r.path || (q.startsWith("/") && q.replace(/\/$/, "") === r.path.replace(/\/$/, "")) || (r.schemaName !== undefined && nq === norm(r.schemaName)))
  );
}
