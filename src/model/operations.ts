/**
 * Operations: every `paths.*.<method>` → Operation, with a unique function name, its group
 * (first tag), parameters, request body and success response typed.
 */
import { pointerJoin, warning, type Diagnostic, type SourceLocation } from "../diagnostics/diagnostic.js";
import { camelCase, docText, kebabCase, NameRegistry, pascalCase, safeIdentifier } from "./naming.js";
import { deref, isObj, type SchemaObject } from "./schema-walk.js";
import { refersToNamespace, STRING, tsType, UNKNOWN, type TsTypeContext } from "./ts-type.js";

/** The namespace the generated api/ and queries/ modules import the schema types as (`import type * as T`). */
export const SCHEMA_NAMESPACE = "T";
const BLOB: TsType = { kind: "global", name: "Blob" };
import type { Json } from "../spec/parse.js";
import type { BodyEncoding, HttpMethod, Operation, OperationError, OperationGroup, OperationNames, Parameter, RequestBody, ResponseEncoding, TsMember, TsType } from "./types.js";

export const HTTP_METHODS: readonly HttpMethod[] = ["get", "put", "post", "patch", "delete", "head", "options", "trace"];

/** Names the generated runtime and module scope already use; operations never take them. */
const RESERVED_VALUE_NAMES = ["request", "configureClient", "ApiError", "useQuery", "useMutation", "queryOptions", "mutationOptions", "T", "client", "RequestOptions", "QueryKey"];

/** Type names the generated API modules and index.ts already export or import; error types never take them. */
const RESERVED_TYPE_NAMES = ["ApiError", "ClientConfig", "RequestOptions", "UseQueryOptions", "UseMutationOptions"];

export interface RawOperation {
  path: string;
  method: HttpMethod;
  pointer: string;
  op: SchemaObject;
  pathItem: SchemaObject;
}

export function rawOperations(doc: Json): RawOperation[] {
  const paths = isObj(doc) && isObj(doc.paths) ? doc.paths : {};
  const out: RawOperation[] = [];
  for (const [path, rawItem] of Object.entries(paths)) {
    const pathItem = deref(doc, rawItem);
    if (!pathItem) continue;
    for (const method of HTTP_METHODS) {
      const op = pathItem[method];
      if (isObj(op)) out.push({ path, method, pointer: pointerJoin("", "paths", path, method), op, pathItem });
    }
  }
  return out;
}

/**
 * `typeNames` holds the type names already taken (schemas): error types are claimed in it, since
 * index.ts re-exports both.
 */
export function buildOperations(doc: Json, ctx: TsTypeContext, locate: (p: string) => SourceLocation, diagnostics: Diagnostic[], typeNames: NameRegistry = new NameRegistry()): { operations: Operation[]; groups: OperationGroup[] } {
  const raws = rawOperations(doc);
  const ids = raws.map((r) => (typeof r.op.operationId === "string" && r.op.operationId.trim() !== "" ? r.op.operationId : `${r.method} ${r.path}`));
  // Claim names in a stable order: by id, then method+path, so output never depends on key order.
  const order = raws.map((_, i) => i).sort((a, b) => cmp(ids[a]!, ids[b]!) || cmp(raws[a]!.path + raws[a]!.method, raws[b]!.path + raws[b]!.method));
  const registry = new NameRegistry();
  for (const n of RESERVED_VALUE_NAMES) registry.claim(n, "(generated runtime)");
  const fnNames = new Array<string>(raws.length);
  const seenIds = new Map<string, number>();
  for (const i of order) {
    const raw = raws[i]!;
    const id = ids[i]!;
    const duplicate = seenIds.has(id) && typeof raw.op.operationId === "string";
    if (duplicate) {
      const other = raws[seenIds.get(id)!]!;
      diagnostics.push(warning("model/duplicate-operation-id", `operationId "${id}" is used by ${other.method.toUpperCase()} ${other.path} and ${raw.method.toUpperCase()} ${raw.path}.`, locate(`${raw.pointer}/operationId`), "operationIds must be unique; rename one to choose its function name."));
    }
    seenIds.set(id, i);
    const { name, collidedWith } = registry.claim(safeIdentifier(camelCase(id)), id);
    if (collidedWith !== undefined && !duplicate) {
      diagnostics.push(warning("model/name-collision", `Operations "${collidedWith}" and "${id}" map to the same function name; "${id}" is named ${name}.`, locate(raw.pointer), "Give the operations operationIds that differ in more than case or punctuation."));
    }
    fnNames[i] = name;
  }
  // Hooks, key and options factories, error types: claimed after every function name, so an
  // operation's own name always wins over a name derived from another one.
  for (const n of RESERVED_TYPE_NAMES) if (!typeNames.has(n)) typeNames.claim(n, "(generated runtime)");
  const derived = new Array<OperationNames>(raws.length);
  for (const i of order) {
    const raw = raws[i]!;
    const fn = fnNames[i]!;
    const isQuery = isQueryMethod(raw.method);
    const claimIn = (names: NameRegistry, wanted: string, what: string): string => {
      const { name, collidedWith } = names.claim(wanted, `the ${what} of ${fn}`);
      if (collidedWith !== undefined) {
        diagnostics.push(warning("model/name-collision", `The ${what} of ${fn} would be named ${wanted}, which is taken by ${collidedWith}; it is named ${name}.`, locate(raw.pointer), "Give the operations operationIds whose derived names differ (docs/naming.md)."));
      }
      return name;
    };
    derived[i] = {
      hook: claimIn(registry, isQuery ? `use${pascalCase(fn)}` : `use${pascalCase(fn)}Mutation`, "hook"),
      queryKey: isQuery ? claimIn(registry, `${fn}QueryKey`, "query-key factory") : "",
      options: claimIn(registry, isQuery ? `${fn}Options` : `${fn}Mutation`, isQuery ? "query options factory" : "mutation options factory"),
      error: claimIn(typeNames, `${pascalCase(fn)}Error`, "error type"),
    };
  }

  const groupFiles = new NameRegistry(true);
  // api/client.ts, api/defaults.ts and api/error-text.ts are the runtime's.
  for (const reserved of ["client", "defaults", "error-text"]) groupFiles.claim(reserved, "(generated runtime)");
  const groupFileOf = new Map<string, string>();
  const groupNames = [...new Set(raws.map((r) => groupOf(r.op)))].sort(cmp);
  for (const g of groupNames) groupFileOf.set(g, groupFiles.claim(kebabCase(g), g).name);

  const operations = raws.map((raw, i) => buildOperation(doc, raw, ids[i]!, fnNames[i]!, derived[i]!, groupOf(raw.op), groupFileOf.get(groupOf(raw.op))!, ctx, locate, diagnostics));
  operations.sort((a, b) => cmp(a.group, b.group) || cmp(a.fnName, b.fnName));
  const groups = groupNames.map((name): OperationGroup => {
    const ops = operations.filter((o) => o.group === name);
    return {
      name,
      file: groupFileOf.get(name)!,
      operations: ops,
      hasQueries: ops.some((o) => o.isQuery),
      hasMutations: ops.some((o) => !o.isQuery),
      usesSchemaTypes: ops.some((o) => [o.args, o.response, ...o.errors.map((e) => e.body)].some((t) => refersToNamespace(t, SCHEMA_NAMESPACE))),
      queriesUseSchemaTypes: ops.some((o) => [o.args, o.response].some((t) => refersToNamespace(t, SCHEMA_NAMESPACE))),
    };
  });
  return { operations, groups };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function groupOf(op: SchemaObject): string {
  const tags = Array.isArray(op.tags) ? op.tags.filter((t): t is string => typeof t === "string" && t.trim() !== "") : [];
  return tags[0] ?? "default";
}

function isQueryMethod(method: HttpMethod): boolean {
  return method === "get" || method === "head";
}

function buildOperation(doc: Json, raw: RawOperation, id: string, fnName: string, names: OperationNames, group: string, groupFile: string, ctx: TsTypeContext, locate: (p: string) => SourceLocation, diagnostics: Diagnostic[]): Operation {
  const params = mergeParameters(doc, raw, ctx);
  const pathParams = params.filter((p) => p.in === "path").map((p) => ({ ...p, required: true }));
  const queryParams = params.filter((p) => p.in === "query");
  const headerParams = params.filter((p) => p.in === "header");
  for (const name of [...raw.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!)) {
    if (!pathParams.some((p) => p.name === name)) {
      diagnostics.push(warning("model/undeclared-path-param", `Path parameter {${name}} of ${raw.path} is not declared; it is typed as string.`, locate(raw.pointer), `Add a parameter with \`name: ${name}, in: path, required: true\`.`));
      pathParams.push({ name, in: "path", type: STRING, required: true, style: "simple", explode: false, doc: "" });
    }
  }
  const body = requestBody(doc, raw, ctx);
  const { type: response, encoding: responseEncoding } = successResponse(doc, raw, ctx);
  const isQuery = isQueryMethod(raw.method);
  const errors = errorResponses(doc, raw, ctx);
  const argsRequired = pathParams.length > 0 || queryParams.some((p) => p.required) || headerParams.some((p) => p.required) || body?.required === true;
  const args = argsType(pathParams, queryParams, headerParams, body);
  const hasArgs = pathParams.length + queryParams.length + headerParams.length > 0 || body !== undefined;
  return {
    id,
    fnName,
    pascal: pascalCase(fnName),
    names,
    errors,
    errorResponses: errors.flatMap((e) => e.responses).sort(),
    method: raw.method,
    path: raw.path,
    group,
    groupFile,
    doc: docText(raw.op.summary, raw.op.description !== raw.op.summary ? raw.op.description : undefined),
    deprecated: raw.op.deprecated === true,
    pathParams,
    queryParams,
    headerParams,
    ...(body ? { body } : {}),
    response,
    responseEncoding,
    isQuery,
    argsRequired,
    hasArgs,
    ...(args ? { args } : {}),
  };
}

function paramsObject(params: Parameter[]): TsType {
  return { kind: "object", props: params.map((p) => ({ name: p.name, type: p.type, optional: !p.required })) };
}

/** The argument object: `{ path: {…}; query?: {…}; headers?: {…}; body: … }`; undefined when there is nothing to pass. */
function argsType(path: Parameter[], query: Parameter[], headers: Parameter[], body: RequestBody | undefined): TsType | undefined {
  const members: TsMember[] = [];
  if (path.length) members.push({ name: "path", type: paramsObject(path), optional: false });
  if (query.length) members.push({ name: "query", type: paramsObject(query), optional: !query.some((p) => p.required) });
  if (headers.length) members.push({ name: "headers", type: paramsObject(headers), optional: !headers.some((p) => p.required) });
  if (body) members.push({ name: "body", type: body.type, optional: !body.required });
  return members.length ? { kind: "object", props: members } : undefined;
}

function mergeParameters(doc: Json, raw: RawOperation, ctx: TsTypeContext): Parameter[] {
  const byKey = new Map<string, Parameter>();
  const lists: [Json | undefined, string][] = [
    [raw.pathItem.parameters, pointerJoin("", "paths", raw.path, "parameters")],
    [raw.op.parameters, `${raw.pointer}/parameters`],
  ];
  for (const [list, ptr] of lists) {
    if (!Array.isArray(list)) continue;
    list.forEach((entry, i) => {
      const p = deref(doc, entry);
      if (!p || typeof p.name !== "string" || typeof p.in !== "string") return;
      if (!["path", "query", "header", "cookie"].includes(p.in)) return;
      let schema: Json | undefined = p.schema;
      if (schema === undefined && isObj(p.content)) schema = Object.values(p.content).map((m) => (isObj(m) ? m.schema : undefined))[0];
      const location = p.in as Parameter["in"];
      byKey.set(`${location}:${p.name}`, {
        name: p.name,
        in: location,
        type: tsType(schema, ctx, "write", `${ptr}/${i}/schema`),
        required: p.required === true,
        style: typeof p.style === "string" ? p.style : location === "query" || location === "cookie" ? "form" : "simple",
        explode: typeof p.explode === "boolean" ? p.explode : (typeof p.style !== "string" || p.style === "form") && location !== "path" && location !== "header",
        doc: docText(p.description),
      });
    });
  }
  return [...byKey.values()].filter((p) => p.in !== "cookie");
}

function mediaTypeEncoding(mediaType: string): BodyEncoding {
  const mt = mediaType.toLowerCase();
  if (mt === "application/json" || /\+json$/.test(mt) || mt === "*/*" || mt === "application/*") return "json";
  if (mt === "application/x-www-form-urlencoded") return "form";
  if (mt.startsWith("multipart/")) return "multipart";
  if (mt.startsWith("text/")) return "text";
  return "binary";
}

const ENCODING_PREFERENCE: BodyEncoding[] = ["json", "form", "multipart", "text", "binary"];

function requestBody(doc: Json, raw: RawOperation, ctx: TsTypeContext): RequestBody | undefined {
  const rb = deref(doc, raw.op.requestBody);
  if (!rb || !isObj(rb.content)) return undefined;
  const entries = Object.entries(rb.content).map(([mediaType, m]) => ({ mediaType, media: isObj(m) ? m : {}, encoding: mediaTypeEncoding(mediaType) }));
  entries.sort((a, b) => ENCODING_PREFERENCE.indexOf(a.encoding) - ENCODING_PREFERENCE.indexOf(b.encoding));
  const chosen = entries[0];
  if (!chosen) return undefined;
  const ptr = pointerJoin(raw.pointer, "requestBody", "content", chosen.mediaType, "schema");
  const type: TsType =
    chosen.encoding === "multipart" ? { kind: "multipart", fields: tsType(chosen.media.schema, ctx, "write", ptr) } :
    chosen.encoding === "binary" ? BLOB :
    chosen.encoding === "text" ? STRING :
    tsType(chosen.media.schema, ctx, "write", ptr);
  return { type, required: rb.required === true, mediaType: chosen.mediaType, encoding: chosen.encoding };
}

function successResponse(doc: Json, raw: RawOperation, ctx: TsTypeContext): { type: TsType; encoding: ResponseEncoding } {
  const responses = isObj(raw.op.responses) ? raw.op.responses : {};
  const codes = Object.keys(responses).filter((c) => /^2(\d\d|XX)$/i.test(c)).sort();
  for (const code of codes) {
    const r = deref(doc, responses[code]);
    if (!r || !isObj(r.content)) continue;
    const entries = Object.entries(r.content).map(([mt, m]) => ({ mt, media: isObj(m) ? m : {}, enc: mediaTypeEncoding(mt) }));
    const json = entries.find((e) => e.enc === "json");
    if (json) return { type: tsType(json.media.schema, ctx, "read", pointerJoin(raw.pointer, "responses", code, "content", json.mt, "schema")), encoding: "json" };
    if (entries.some((e) => e.enc === "text")) return { type: STRING, encoding: "text" };
    if (entries.length) return { type: BLOB, encoding: "blob" };
  }
  return { type: { kind: "void" }, encoding: "none" };
}

/**
 * The documented non-2xx responses (`4XX`, `default`, …), grouped by body type: what the
 * operation's error type is made of. Keys that are not status codes, ranges or `default` are ignored.
 */
function errorResponses(doc: Json, raw: RawOperation, ctx: TsTypeContext): OperationError[] {
  const responses = isObj(raw.op.responses) ? raw.op.responses : {};
  const byType = new Map<string, { body: TsType; responses: string[] }>();
  const keys = Object.keys(responses)
    .filter((k) => /^([1-5]\d\d|[1-5]XX|default)$/i.test(k) && !/^2/.test(k))
    .sort((a, b) => cmp(a.toUpperCase(), b.toUpperCase()));
  const seen = new Set<string>();
  for (const key of keys) {
    const normalized = /^default$/i.test(key) ? "default" : key.toUpperCase();
    if (seen.has(normalized)) continue;
    seen.add(normalized);
    const type = errorBodyType(doc, responses[key], pointerJoin(raw.pointer, "responses", key), ctx);
    const same = JSON.stringify(type);
    byType.set(same, { body: type, responses: [...(byType.get(same)?.responses ?? []), normalized] });
  }
  return [...byType.values()].map(({ body, responses }) => ({ responses, body }));
}

function errorBodyType(doc: Json, response: Json | undefined, pointer: string, ctx: TsTypeContext): TsType {
  const r = deref(doc, response);
  if (!r || !isObj(r.content)) return UNKNOWN;
  const entries = Object.entries(r.content).map(([mt, m]) => ({ mt, media: isObj(m) ? m : {}, enc: mediaTypeEncoding(mt) }));
  const json = entries.find((e) => e.enc === "json");
  if (json) return tsType(json.media.schema, ctx, "read", pointerJoin(pointer, "content", json.mt, "schema"));
  if (entries.length > 0 && entries.every((e) => e.enc === "text")) return STRING;
  return UNKNOWN;
}
