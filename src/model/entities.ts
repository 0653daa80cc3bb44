/**
 * Resources and entities. A resource is a collection path (`/api/contacts`) with an item
 * schema; an entity is a resource in the local-first stack, because the spec marks it with
 * `x-sync` or the config adds it (`sync-patterns add`). Reads the extensions
 * `x-sync`, `x-rbac`, `x-sync-exclude` and `x-owner-only`.
 */
import { error, pointerJoin, warning, type Diagnostic, type SourceLocation } from "../diagnostics/diagnostic.js";
import { closest } from "../diagnostics/suggest.js";
import { docText, entityNames, NameRegistry, singularOf, snakeCase } from "./naming.js";
import { codecOf, pgType } from "./pg-type.js";
import { columnNameProblem, entityObjectNames, entityRelations, MAX_IDENTIFIER_BYTES, tableNameProblem } from "./sql-names.js";
import { componentName, deref, flattenProperties, isNullable, isObj, type SchemaObject } from "./schema-walk.js";
import { admitsString, tsType, type TsTypeContext } from "./ts-type.js";
import { rawOperations, type RawOperation } from "./operations.js";
import { readRbac, resolveRoleSources, type RoleSourceCandidate } from "./rbac.js";
import { decideKeySource, newKeyOf, readKeySource, tempKeyOf, resolveReferences, type ReferenceCandidate } from "./keys.js";
import type { Json } from "../spec/parse.js";
import type { EndpointRef, Entity, EntityField, KeySource, Operation, PathPart, Resource, SyncMode, WriteEndpointRef } from "./types.js";

/** Postgres truncates identifiers at 63 bytes; `_rebuild` is the longest suffix we add. */
const MAX_TABLE_BYTES = MAX_IDENTIFIER_BYTES - "_rebuild".length;
const X_SYNC_KEYS = ["local_first", "name", "table", "key", "key_source", "write_id", "params", "scope"];

export interface ResourceCandidate extends Resource {
  pointer: string;
  itemSchema?: Json;
  itemSchemaPointer?: string;
  ops: { list?: RawOperation; create?: RawOperation; get?: RawOperation; update?: RawOperation; delete?: RawOperation };
  rbacRaw?: Json;
}

/**
 * Finds CRUD resources: a path without a trailing parameter that lists or creates items. A
 * trailing slash is part of the path (Django REST framework: `/sites/` and `/sites/{id}/`
 * are a collection and its item path) and is kept in every URL called.
 */
export function findResources(doc: Json, locate: (p: string) => SourceLocation, diagnostics: Diagnostic[]): ResourceCandidate[] {
  const raws = rawOperations(doc);
  const byPath = new Map<string, RawOperation[]>();
  for (const r of raws) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r]);
  const out: ResourceCandidate[] = [];
  const paths = isObj(doc) && isObj(doc.paths) ? doc.paths : {};
  // `/api/contacts/{id}` is the item path of `/api/contacts`, `/sites/{id}/` the one of `/sites/`
  // (first one in spec order wins; one with the collection's trailing-slash style before one without).
  const itemPaths = new Map<string, string>();
  const otherStyleItemPaths = new Map<string, string>();
  for (const p of Object.keys(paths)) {
    const m = /^(.*)\/\{[^}/]+\}(\/?)$/.exec(p);
    if (!m) continue;
    const [same, other] = m[2] ? [`${m[1]!}/`, m[1]!] : [m[1]!, `${m[1]!}/`];
    if (!itemPaths.has(same)) itemPaths.set(same, p);
    if (!otherStyleItemPaths.has(other)) otherStyleItemPaths.set(other, p);
  }
  for (const path of Object.keys(paths).sort()) {
    const segments = path.split("/").filter(Boolean);
    const last = segments[segments.length - 1];
    if (!last || /^\{.*\}$/.test(last)) continue;
    const ops = byPath.get(path) ?? [];
    const list = ops.find((o) => o.method === "get");
    const create = ops.find((o) => o.method === "post");
    const pathItem = deref(doc, paths[path]);
    const pointer = pointerJoin("", "paths", path);
    const xSync = pathItem?.["x-sync"];
    const listItem = list ? listItemSchema(doc, list) : undefined;
    const createBody = create ? requestSchema(doc, create) : undefined;
    const itemPath = itemPaths.get(path) ?? otherStyleItemPaths.get(path);
    // A resource lists or creates items and addresses each one at `<path>/{key}`; x-sync makes any path a candidate.
    if (xSync === undefined && (!itemPath || (!listItem && !createBody))) continue;
    const itemOps = itemPath ? byPath.get(itemPath) ?? [] : [];
    const itemSchema = listItem?.schema ?? createBody?.schema;
    const schemaRef = isObj(itemSchema) && typeof itemSchema.$ref === "string" ? componentName(itemSchema.$ref) : undefined;
    const specSync = xSync === undefined || xSync === false ? undefined : readXSync(xSync, `${pointer}/x-sync`, locate, diagnostics);
    const name = snakeCase(singularOf(specSync?.name ?? last));
    out.push({
      names: entityNames(name),
      path,
      ...(itemPath ? { itemPath } : {}),
      ...(schemaRef ? { schemaName: schemaRef } : {}),
      ...(specSync ? { specSync } : {}),
      pointer,
      ...(itemSchema !== undefined ? { itemSchema, itemSchemaPointer: listItem?.pointer ?? createBody?.pointer } : {}),
      ops: {
        ...(list ? { list } : {}),
        ...(create ? { create } : {}),
        ...(pick(itemOps, "get") ? { get: pick(itemOps, "get")! } : {}),
        ...(pick(itemOps, "patch") ?? pick(itemOps, "put") ? { update: (pick(itemOps, "patch") ?? pick(itemOps, "put"))! } : {}),
        ...(pick(itemOps, "delete") ? { delete: pick(itemOps, "delete")! } : {}),
      },
      ...(pathItem?.["x-rbac"] !== undefined ? { rbacRaw: pathItem["x-rbac"] } : {}),
    });
  }
  return out;
}

function pick(ops: RawOperation[], method: string): RawOperation | undefined {
  return ops.find((o) => o.method === method);
}

function readXSync(value: Json, pointer: string, locate: (p: string) => SourceLocation, diagnostics: Diagnostic[]): Resource["specSync"] {
  if (value === true) return { mode: "confirmed" };
  if (!isObj(value)) {
    diagnostics.push(error("model/invalid-x-sync", `x-sync must be true or an object, got ${JSON.stringify(value)}.`, locate(pointer), "Use `x-sync: true` or `x-sync: { local_first: true, table: contacts }`."));
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!X_SYNC_KEYS.includes(key)) {
      const near = closest(key, X_SYNC_KEYS);
      diagnostics.push(error("model/invalid-x-sync", `Unknown x-sync setting \`${key}\`.`, locate(`${pointer}/${key}`), near ? `Did you mean \`${near}\`?` : `Known settings: ${X_SYNC_KEYS.join(", ")}.`));
    }
  }
  if (value.local_first !== undefined && typeof value.local_first !== "boolean") {
    diagnostics.push(error("model/invalid-x-sync", "x-sync.local_first must be true or false.", locate(`${pointer}/local_first`)));
  }
  for (const key of ["name", "table", "key", "write_id", "scope"] as const) {
    if (value[key] !== undefined && (typeof value[key] !== "string" || value[key] === "")) {
      diagnostics.push(error("model/invalid-x-sync", `x-sync.${key} must be a non-empty string.`, locate(`${pointer}/${key}`)));
    }
  }
  if (typeof value.name === "string" && value.name !== "" && snakeCase(value.name) === "") {
    diagnostics.push(error("model/invalid-x-sync", `x-sync.name ${JSON.stringify(value.name)} has no letters or digits to name the entity by.`, locate(`${pointer}/name`), "Use a name such as `repo_hook`."));
  }
  const keySource = readKeySource(value.key_source, locate(`${pointer}/key_source`), diagnostics);
  const params = value.params !== undefined ? readParams(value.params, `${pointer}/params`, "x-sync.params", locate, diagnostics) : undefined;
  return {
    mode: value.local_first === true ? "local-first" : "confirmed",
    ...(typeof value.name === "string" && snakeCase(value.name) !== "" ? { name: value.name } : {}),
    ...(params ? { params } : {}),
    ...(typeof value.table === "string" && value.table !== "" ? { table: value.table } : {}),
    ...(typeof value.key === "string" && value.key !== "" ? { key: value.key } : {}),
    ...(typeof value.write_id === "string" && value.write_id !== "" ? { writeId: value.write_id } : {}),
    ...(typeof value.scope === "string" && value.scope !== "" ? { scope: value.scope } : {}),
    ...(keySource ? { keySource } : {}),
  };
}

/**
 * A path parameter → row property mapping (`x-sync.params`; src/config reads the config's
 * `entities.<name>.params`): an object of non-empty strings.
 */
function readParams(value: unknown, pointer: string, what: string, locate: (p: string) => SourceLocation, diagnostics: Diagnostic[]): Record<string, string> | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    diagnostics.push(error("model/invalid-x-sync", `${what} must map path parameters to row properties, got ${JSON.stringify(value)}.`, locate(pointer), `For example \`${what.split(".").at(-1)}: { file_key: fileKey }\`.`));
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [param, field] of Object.entries(value)) {
    if (typeof field !== "string" || field === "") {
      diagnostics.push(error("model/invalid-x-sync", `${what}.${param} must name a property of the row, got ${JSON.stringify(field)}.`, locate(pointerJoin(pointer, param)), `For example \`${param}: ${param}\`.`));
    } else out[param] = field;
  }
  return out;
}

/** The item schema of a list response: an array's items, or the single array property of an envelope. */
function listItemSchema(doc: Json, op: RawOperation): { schema: Json; pointer: string } | undefined {
  const responses = isObj(op.op.responses) ? op.op.responses : {};
  const code = ["200", "2XX", "206"].find((c) => responses[c] !== undefined);
  if (!code) return undefined;
  const res = deref(doc, responses[code]);
  const content = res && isObj(res.content) ? res.content : {};
  const mt = Object.keys(content).find((m) => m === "application/json" || m.endsWith("+json"));
  if (!mt) return undefined;
  const media = content[mt];
  const raw = isObj(media) ? media.schema : undefined;
  const schema = deref(doc, raw);
  const pointer = pointerJoin(op.pointer, "responses", code, "content", mt, "schema");
  if (!schema) return undefined;
  if (schema.type === "array" || schema.items !== undefined) return schema.items !== undefined ? { schema: schema.items, pointer: `${pointer}/items` } : undefined;
  if (isObj(schema.properties)) {
    const arrays = Object.entries(schema.properties).filter(([, p]) => {
      const d = deref(doc, p);
      return d !== undefined && (d.type === "array" || (Array.isArray(d.type) && d.type.includes("array")));
    });
    if (arrays.length === 1) {
      const arr = deref(doc, arrays[0]![1])!;
      if (arr.items !== undefined) return { schema: arr.items, pointer: `${pointer}/properties/${arrays[0]![0]}/items` };
    }
  }
  return undefined;
}

function requestSchema(doc: Json, op: RawOperation): { schema: Json; pointer: string } | undefined {
  const rb = deref(doc, op.op.requestBody);
  const content = rb && isObj(rb.content) ? rb.content : {};
  const mt = Object.keys(content).find((m) => m === "application/json" || m.endsWith("+json"));
  if (!mt) return undefined;
  const media = content[mt];
  return isObj(media) && media.schema !== undefined ? { schema: media.schema, pointer: pointerJoin(op.pointer, "requestBody", "content", mt, "schema") } : undefined;
}

export interface EntityRequest {
  resource: ResourceCandidate;
  mode: SyncMode;
  table?: string;
  /** Path parameter → row property (x-sync.params, or the config's `params`, which wins). */
  params?: Record<string, string>;
  /** `key_source` of the config entry (wins over x-sync.key_source), and where it is written. */
  keySource?: KeySource;
  keySourceAt?: SourceLocation;
  /** Where the request came from, for diagnostics. */
  origin: SourceLocation;
  /** Where the mapping of one parameter is written (x-sync.params or the config entry). */
  paramsAt: (param: string) => SourceLocation;
}

export function buildEntities(
  doc: Json,
  requests: EntityRequest[],
  ctx: TsTypeContext,
  operations: Operation[],
  typeNames: { rowOf: (resource: ResourceCandidate) => { row: string; write: string } | undefined; claim: (name: string, owner: string) => string },
  locate: (p: string) => SourceLocation,
  diagnostics: Diagnostic[],
): Entity[] {
  const entities: Entity[] = [];
  const referenceCandidates: ReferenceCandidate[] = [];
  const roleCandidates: RoleSourceCandidate[] = [];
  // Entities with no write endpoint at all, and their partial-CRUD warning: dropped below for a
  // membership entity named by x-rbac.roles (read-only by design: the server grants roles).
  const readOnly: { entity: Entity; warning: Diagnostic }[] = [];
  const tables = new NameRegistry(true);
  const fnByRaw = (raw: RawOperation | undefined): EndpointRef | undefined => {
    if (!raw) return undefined;
    const op = operations.find((o) => o.method === raw.method && o.path === raw.path);
    return op ? { method: op.method, path: op.path, operationId: op.id, fnName: op.fnName } : undefined;
  };
  for (const req of requests) {
    const r = req.resource;
    const where = locate(r.pointer);
    const item = deref(doc, r.itemSchema);
    if (!item) {
      diagnostics.push(error("model/entity-without-schema", `Cannot find the item schema of ${r.path}: neither its GET list response nor its POST body is a JSON object schema.`, where, "Make the list response an array of the item schema (`items: { $ref: '#/components/schemas/Contact' }`) or give POST a JSON request body."));
      continue;
    }
    const table = req.table ?? r.specSync?.table ?? r.names.snakePlural;
    if (Buffer.byteLength(table) > MAX_TABLE_BYTES) {
      diagnostics.push(error("model/table-name-too-long", `Table name "${table}" is longer than ${MAX_TABLE_BYTES} bytes; Postgres would truncate "${table}_synced".`, req.origin, "Set a shorter `table` in x-sync or in the config's entities section."));
      continue;
    }
    const tableProblem = tableNameProblem(table);
    if (tableProblem !== undefined) {
      diagnostics.push(error("model/reserved-table", `Table name "${table}" of ${r.path} ${tableProblem}.`, req.origin, "Set another `table` in x-sync (or in the config's entities section)."));
      continue;
    }
    // The view `t`, `t_synced` and `t_local` share one namespace: `a_local` next to `a` collides too.
    const collision = entityRelations(table).map((rel) => ({ rel, taken: tables.claim(rel, r.path) })).find((c) => c.taken.collidedWith !== undefined);
    if (collision) {
      diagnostics.push(
        error(
          "model/duplicate-table",
          `Entities ${collision.taken.collidedWith} and ${r.path} both need the local table "${collision.rel}" (entity tables are the view "t", "t_synced" and "t_local").`,
          req.origin,
          `Give one of them its own name: \`sync-patterns add ${r.path} --as <name>\` (for example \`--as ${suggestName(r.path, r.names.snake)}\`), or set \`name:\` (or \`table:\`) in its x-sync or in its entry under \`entities:\` in the config.`,
        ),
      );
      continue;
    }
    const raws = flattenProperties(doc, r.itemSchema!, r.itemSchemaPointer ?? r.pointer);
    const keyName = r.specSync?.key ?? "id";
    if (!raws.some((p) => p.name === keyName)) {
      diagnostics.push(error("model/entity-without-key", `Entity ${r.names.original} (${r.path}) has no key property "${keyName}".`, r.itemSchemaPointer ? locate(r.itemSchemaPointer) : where, `Add an \`${keyName}\` property to the item schema, or name the key with \`x-sync: { key: <property> }\`.`));
      continue;
    }
    const badColumns = raws.flatMap((p) => {
      const problem = columnNameProblem(p.name);
      return problem ? [{ p, problem }] : [];
    });
    for (const { p, problem } of badColumns) {
      diagnostics.push(error(problem.code, `Property ${JSON.stringify(p.name)} of entity ${r.names.original} (${r.path}) cannot be a column of the local database: ${problem.reason}.`, locate(p.pointer), problem.hint));
    }
    if (badColumns.length) continue;
    const fields = raws.map((p): EntityField => {
      const s: SchemaObject = deref(doc, p.schema) ?? {};
      const own: SchemaObject = isObj(p.schema) ? p.schema : {};
      const flag = (name: string): boolean => own[name] === true || s[name] === true;
      const ts = tsType(p.schema, ctx, "read", r.itemSchemaPointer ?? r.pointer);
      const pg = pgType(p.schema, doc);
      return {
        name: p.name,
        type: ts,
        pgType: pg,
        codec: codecOf(pg),
        numericString: (pg === "numeric" || pg === "bigint") && admitsString(ts),
        nullable: isNullable(own) || isNullable(s),
        required: p.required,
        readOnly: flag("readOnly"),
        writeOnly: flag("writeOnly"),
        isKey: p.name === keyName,
        ...(s.default !== undefined ? { default: s.default } : {}),
        ...(Array.isArray(s.enum) ? { enum: s.enum.filter((v): v is string | number | boolean | null => typeof v !== "object" || v === null) } : {}),
        doc: docText(s.description),
        syncExclude: flag("x-sync-exclude"),
        ownerOnly: flag("x-owner-only"),
      };
    });
    const keyField = fields.find((f) => f.isKey)!;
    const writeIdField = r.specSync?.writeId !== undefined ? fields.find((f) => f.name === r.specSync!.writeId) : undefined;
    if (r.specSync?.writeId !== undefined && (!writeIdField || writeIdField.syncExclude || writeIdField.isKey)) {
      diagnostics.push(error("model/invalid-x-sync", `x-sync.write_id names "${r.specSync.writeId}", which is not a synced, non-key property of ${r.names.original}.`, locate(`${r.pointer}/x-sync/write_id`), "Name the property in which the server stores the client's change id (the Idempotency-Key it received), e.g. `write_id`."));
      continue;
    }
    const scopeField = r.specSync?.scope !== undefined ? readScope(r, r.specSync.scope, fields, locate, diagnostics) : undefined;
    if (scopeField === null) continue;
    if (keyField.syncExclude) {
      diagnostics.push(error("model/key-excluded", `The key "${keyName}" of ${r.names.original} is marked x-sync-exclude.`, where, "The key must be synced; remove x-sync-exclude from it."));
      continue;
    }
    const keys = decideKeySource(
      {
        doc,
        entityName: r.names.original,
        path: r.path,
        keyField,
        keyPointer: raws.find((p) => p.name === keyName)!.pointer,
        ...(req.keySource ?? r.specSync?.keySource ? { explicit: (req.keySource ?? r.specSync?.keySource)! } : {}),
        explicitAt: req.keySource !== undefined && req.keySourceAt ? req.keySourceAt : locate(`${r.pointer}/x-sync/key_source`),
        ...(r.ops.create ? { create: r.ops.create } : {}),
      },
      locate,
      diagnostics,
    );
    if (!keys) continue;
    const bound = bindWriteEndpoints(r, req, fields, keyField, fnByRaw, locate, diagnostics);
    if (!bound) continue;
    const rbacRead = r.rbacRaw !== undefined ? readRbac(r.rbacRaw, new Set(fields.map((f) => f.name)), `${r.pointer}/x-rbac`, locate, diagnostics) : undefined;
    const rbac = rbacRead?.rbac;
    const rowNames = typeNames.rowOf(r);
    if (!rowNames) continue;
    const mode = req.mode;
    entities.push({
      names: r.names,
      table,
      objects: entityObjectNames(table),
      key: keyName,
      keyField,
      keySource: keys.keySource,
      ...(keys.createKeyPath ? { createKeyPath: keys.createKeyPath } : {}),
      references: [],
      newKey: newKeyOf(keys.keySource, keyField),
      ...(keys.keySource === "server" ? { tempKey: tempKeyOf(keyField) } : {}),
      mode,
      localFirst: mode === "local-first",
      path: r.path,
      ...(r.itemPath ? { itemPath: r.itemPath } : {}),
      types: {
        row: rowNames.row,
        write: rowNames.write,
        create: typeNames.claim(`${r.names.pascal}Create`, r.path),
        update: typeNames.claim(`${r.names.pascal}Update`, r.path),
        local: typeNames.claim(`${r.names.pascal}Row`, r.path),
      },
      hooks: entityHooks(r.names, operations, locate(r.pointer), diagnostics),
      fields,
      syncedFields: fields.filter((f) => !f.syncExclude),
      dataFields: fields.filter((f) => !f.syncExclude && !f.isKey),
      deviceFields: fields.filter((f) => f.syncExclude),
      writableFields: fields.filter((f) => !f.syncExclude && !f.isKey && !f.readOnly),
      ...(writeIdField ? { writeIdField } : {}),
      ...(scopeField ? { scopeField } : {}),
      pathFields: bound.pathFields,
      endpoints: {
        ...(fnByRaw(r.ops.list) ? { list: fnByRaw(r.ops.list)! } : {}),
        ...(fnByRaw(r.ops.get) ? { get: fnByRaw(r.ops.get)! } : {}),
        ...bound.endpoints,
      },
      ...(rbac ? { rbac } : {}),
      doc: docText(item.description),
    });
    const entity = entities[entities.length - 1]!;
    if (rbacRead?.roles) roleCandidates.push({ entity, ...rbacRead.roles });
    for (const f of entity.syncedFields.filter((f) => !f.isKey)) {
      const raw = raws.find((p) => p.name === f.name)!;
      const own = isObj(raw.schema) ? raw.schema : {};
      const refs = own["x-sync-references"] ?? deref(doc, raw.schema)?.["x-sync-references"];
      referenceCandidates.push({ entity, field: f, pointer: raw.pointer, ...(refs !== undefined ? { explicit: String(refs) } : {}) });
    }
    if (!r.ops.create || !r.ops.update || !r.ops.delete) {
      const missing = (["create", "update", "delete"] as const).filter((k) => !r.ops[k]);
      const partial = warning("model/entity-partial-crud", `Entity ${r.names.original} has no ${missing.join("/")} endpoint; local ${missing.join("/")} writes cannot be sent to the server.`, where, `Add ${missing.map((m) => (m === "create" ? `POST ${r.path}` : `${m === "update" ? "PATCH" : "DELETE"} ${r.itemPath ?? itemPathOf(r.path, keyName)}`)).join(", ")} to the spec.`);
      diagnostics.push(partial);
      if (missing.length === 3) readOnly.push({ entity, warning: partial });
    }
  }
  const roleSources = new Set(roleCandidates.map((c) => c.entityName));
  for (const { entity, warning: partial } of readOnly) {
    const n = entity.names;
    if ([entity.table, n.original, n.snake, n.snakePlural, n.camel, n.camelPlural].some((name) => roleSources.has(name))) diagnostics.splice(diagnostics.indexOf(partial), 1);
  }
  resolveReferences(referenceCandidates, entities, locate, diagnostics);
  resolveRoleSources(roleCandidates, entities, locate, diagnostics);
  return entities;
}

/**
 * The column that scopes an entity's rows (`x-sync.scope`): a synced, scalar, non-key property.
 * The server decides its value per user (the shape proxy's `where`); the client never sends one.
 * Null (after reporting) when the setting is wrong.
 */
function readScope(r: ResourceCandidate, scope: string, fields: EntityField[], locate: (p: string) => SourceLocation, diagnostics: Diagnostic[]): EntityField | null {
  const at = locate(`${r.pointer}/x-sync/scope`);
  const field = fields.find((f) => f.name === scope);
  const entity = `${r.names.original} (${r.path})`;
  if (!field) {
    const near = closest(scope, fields.map((f) => f.name));
    diagnostics.push(error("model/invalid-scope", `x-sync.scope names "${scope}", which is not a property of ${entity}.`, at, near ? `Did you mean "${near}"?` : `Name the property that holds the tenant (e.g. household_id): one of ${fields.map((f) => f.name).join(", ")}.`));
    return null;
  }
  if (field.isKey) {
    diagnostics.push(error("model/invalid-scope", `x-sync.scope names "${scope}", the key of ${entity}: a scope is the column rows are shared by (a household, a team), not the row's own id.`, at, "Name the property that holds the tenant, e.g. `scope: household_id`."));
    return null;
  }
  if (field.syncExclude) {
    diagnostics.push(error("model/invalid-scope", `x-sync.scope names "${scope}", which is x-sync-exclude: the server never has it, so it cannot filter rows by it.`, at, "Scope by a synced property, or remove x-sync-exclude from it."));
    return null;
  }
  if (field.codec === "json") {
    diagnostics.push(error("model/invalid-scope", `x-sync.scope names "${scope}", whose type is ${field.pgType}: a scope must be a single value (an id, a string, a number) that the shape's \`where\` compares.`, at, "Scope by a string, uuid or integer property."));
    return null;
  }
  return field;
}

/** The item path a collection path would have: `/contacts` → `/contacts/{id}`, `/sites/` → `/sites/{id}/`. */
export function itemPathOf(collection: string, key = "id"): string {
  return collection.endsWith("/") ? `${collection}{${key}}/` : `${collection}/{${key}}`;
}

/** A distinct entity name for a nested resource: its parent segment and its own (`/repos/{owner}/{repo}/hooks` → `repo_hook`). */
export function suggestName(path: string, own: string): string {
  const literal = path.split("/").filter((s) => s !== "" && !/^\{.*\}$/.test(s));
  const parent = literal.length > 1 ? snakeCase(singularOf(literal[literal.length - 2]!)) : "";
  return parent && parent !== own ? `${parent}_${own}` : `my_${own}`;
}

/** Splits a path template into literal text and parameters: `/a/{b}/c` → `["/a/", "b", "/c"]` as parts. */
function splitPath(path: string): ({ text: string } | { param: string })[] {
  return path.split(/(\{[^}]*\})/).filter((p) => p !== "").map((p) => (/^\{.*\}$/.test(p) ? { param: p.slice(1, -1) } : { text: p }));
}

/**
 * Binds every path parameter of the entity's create, update and delete endpoints to a row
 * field: an explicit mapping (config `params`, x-sync.params) first, then the item path's own
 * parameter to the key, then a property of the same name. A parameter none of these fills
 * refuses the entity with a located error.
 */
function bindWriteEndpoints(
  r: ResourceCandidate,
  req: EntityRequest,
  fields: EntityField[],
  keyField: EntityField,
  fnByRaw: (raw: RawOperation | undefined) => EndpointRef | undefined,
  locate: (p: string) => SourceLocation,
  diagnostics: Diagnostic[],
): { endpoints: { create?: WriteEndpointRef; update?: WriteEndpointRef; delete?: WriteEndpointRef }; pathFields: EntityField[] } | undefined {
  const before = diagnostics.length;
  const byName = new Map(fields.map((f) => [f.name, f]));
  const mapping = req.params ?? {};
  const itemParam = r.itemPath ? /\{([^}/]+)\}\/?$/.exec(r.itemPath)?.[1] : undefined;
  const used = new Set<string>();
  const pathFields = new Map<string, EntityField>();
  const entityName = r.names.original;
  for (const [param, field] of Object.entries(mapping)) {
    const f = byName.get(field);
    if (!f) {
      const near = closest(field, [...byName.keys()]);
      diagnostics.push(error("model/invalid-path-param", `The path parameter {${param}} of ${entityName} is mapped to "${field}", which is not a property of its item schema.`, req.paramsAt(param), near ? `Did you mean "${near}"?` : `Name one of its properties: ${[...byName.keys()].join(", ")}.`));
    } else if (f.syncExclude) {
      diagnostics.push(error("model/invalid-path-param", `The path parameter {${param}} of ${entityName} is mapped to "${field}", which is x-sync-exclude: it never leaves this device, so the server cannot be addressed by it.`, req.paramsAt(param), "Map it to a synced property."));
    }
  }
  const endpoints: { create?: WriteEndpointRef; update?: WriteEndpointRef; delete?: WriteEndpointRef } = {};
  const unbound = new Map<string, { raw: RawOperation; kind: string; excluded: boolean }[]>();
  for (const kind of ["create", "update", "delete"] as const) {
    const raw = r.ops[kind];
    const ref = fnByRaw(raw);
    if (!raw || !ref) continue;
    const parts: PathPart[] = [];
    for (const piece of splitPath(raw.path)) {
      if ("text" in piece) {
        parts.push(piece.text);
        continue;
      }
      const { param } = piece;
      used.add(param);
      const field =
        mapping[param] !== undefined ? byName.get(mapping[param]!) : raw.path === r.itemPath && param === itemParam ? keyField : byName.get(param);
      if (!field || field.syncExclude) {
        // Reported once per parameter, after every endpoint was seen (a mapping's own error was reported above).
        if (mapping[param] === undefined) unbound.set(param, [...(unbound.get(param) ?? []), { raw, kind, excluded: field !== undefined }]);
        continue;
      }
      if (!field.isKey) pathFields.set(field.name, field);
      parts.push({ param, field: field.name });
    }
    endpoints[kind] = { ...ref, parts };
  }
  for (const [param, uses] of unbound) {
    const why = uses[0]!.excluded ? `its property "${param}" is x-sync-exclude (never sent)` : `${entityName} rows have no property "${param}"`;
    const where = uses.map((u) => `${u.raw.method.toUpperCase()} ${u.raw.path} (${u.kind})`).join(", ");
    diagnostics.push(
      error(
        "model/unbound-path-param",
        `${where} of ${entityName} ${uses.length > 1 ? "need" : "needs"} the path parameter {${param}}, but ${why}: the change writer cannot build the URL.`,
        locate(uses[0]!.raw.pointer),
        `Map the parameter to the property of the row that holds its value: \`x-sync: { params: { ${param}: <property> } }\` on ${r.path}, or \`params: { ${param}: <property> }\` in its entry under \`entities:\` in the config; or add a property "${param}" to the item schema.`,
      ),
    );
  }
  for (const param of Object.keys(mapping)) {
    if (!used.has(param)) {
      const all = [...new Set([r.ops.create, r.ops.update, r.ops.delete].flatMap((o) => (o ? splitPath(o.path).flatMap((p) => ("param" in p ? [p.param] : [])) : [])))];
      const near = closest(param, all);
      diagnostics.push(error("model/invalid-path-param", `${entityName} maps the path parameter {${param}}, but none of its create, update and delete paths has it.`, req.paramsAt(param), near ? `Did you mean "${near}"?` : `Its paths have ${all.length ? all.map((p) => `{${p}}`).join(", ") : "no parameters"}.`));
    }
  }
  if (diagnostics.length > before) return undefined;
  return { endpoints, pathFields: fields.filter((f) => pathFields.has(f.name)) };
}

/** Hook names of an entity; `Local` is appended when an API operation's hook already has the name. */
function entityHooks(names: ResourceCandidate["names"], operations: Operation[], where: SourceLocation, diagnostics: Diagnostic[]): Entity["hooks"] {
  const taken = new Set(operations.flatMap((o) => [o.fnName, o.names.hook, o.names.queryKey, o.names.options].filter((n) => n !== "")));
  const pick = (name: string): string => {
    if (!taken.has(name)) return name;
    diagnostics.push(warning("model/name-collision", `The hook ${name} of entity ${names.original} collides with an API operation; it is named ${name}Local.`, where, "Rename the operation (operationId) to keep the plain name."));
    return `${name}Local`;
  };
  return {
    list: pick(`use${names.pascalPlural}`),
    get: pick(`use${names.pascal}`),
    create: pick(`useCreate${names.pascal}`),
    update: pick(`useUpdate${names.pascal}`),
    remove: pick(`useDelete${names.pascal}`),
    collection: `${names.camelPlural}Collection`,
  };
}
