/**
 * The spec is the source of the routes, the request schemas and the response shapes: this module
 * loads openapi.yaml and reduces it to the operations the server registers.
 *
 * A "resource" is a collection path `P` for which the spec also has the item path `P/{id}`; its
 * table is `x-sync.table` or the last segment of `P`, and it is synced when `P` carries `x-sync`.
 * Its operations are CRUD by method (GET/POST on `P`, GET/PATCH/DELETE on `P/{id}`). Every other
 * operation (the reports) needs a handler of its own, found by operationId.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export type Method = "get" | "post" | "put" | "patch" | "delete";
export type CrudKind = "list" | "get" | "create" | "update" | "delete";

export interface Resource {
  collectionPath: string;
  table: string;
  /** The path carries `x-sync`: the table has a `write_id` column. */
  synced: boolean;
  /** Component schema of one item. */
  schemaName: string;
}

export interface Parameter {
  name: string;
  in: "path" | "query";
  required: boolean;
  schema: JsonObject;
}

export interface Operation {
  operationId: string;
  method: Method;
  /** OpenAPI path, e.g. `/api/contacts/{id}`. */
  path: string;
  resource: Resource | null;
  kind: CrudKind | null;
  /** Component schema name of the JSON request body, if any. */
  requestSchema: string | null;
  /** The first 2xx status the spec lists. */
  successStatus: number;
  parameters: Parameter[];
}

export interface Spec {
  doc: JsonObject;
  schemas: Record<string, JsonObject>;
  operations: Operation[];
}

export const DEFAULT_SPEC_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../openapi.yaml");

const METHODS: readonly Method[] = ["get", "post", "put", "patch", "delete"];

export function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Follows a local `$ref` (`#/a/b`) until a non-ref object. */
export function deref(doc: JsonObject, v: Json | undefined): JsonObject | undefined {
  let current = v;
  for (let hops = 0; isObject(current) && typeof current.$ref === "string"; hops++) {
    if (hops > 32 || !current.$ref.startsWith("#/")) throw new Error(`cannot follow $ref ${current.$ref}`);
    let target: Json | undefined = doc;
    for (const part of current.$ref.slice(2).split("/")) {
      const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
      target = isObject(target) ? target[key] : undefined;
    }
    current = target;
  }
  return isObject(current) ? current : undefined;
}

function refName(v: Json | undefined): string | null {
  return isObject(v) && typeof v.$ref === "string" && v.$ref.startsWith("#/components/schemas/")
    ? v.$ref.slice("#/components/schemas/".length)
    : null;
}

export function loadSpec(file: string = DEFAULT_SPEC_PATH): Spec {
  const doc = parse(fs.readFileSync(file, "utf8")) as Json;
  if (!isObject(doc) || !isObject(doc.paths)) throw new Error(`${file}: not an OpenAPI document`);
  const components = isObject(doc.components) ? doc.components : {};
  const schemas: Record<string, JsonObject> = {};
  for (const [name, s] of Object.entries(isObject(components.schemas) ? components.schemas : {})) {
    if (isObject(s)) schemas[name] = s;
  }
  const paths = doc.paths;
  const operations: Operation[] = [];
  for (const [p, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    const isItem = /\/\{[^}/]+\}$/.test(p);
    const collectionPath = isItem ? p.replace(/\/\{[^}/]+\}$/, "") : p;
    const resource = resourceOf(doc, collectionPath, paths);
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      if (typeof op.operationId !== "string") throw new Error(`${method.toUpperCase()} ${p}: operationId missing`);
      operations.push({
        operationId: op.operationId,
        method,
        path: p,
        resource,
        kind: resource ? crudKind(method, isItem) : null,
        requestSchema: refName(jsonContent(doc, op.requestBody)),
        successStatus: successStatus(op),
        parameters: parameters(doc, [item.parameters, op.parameters]),
      });
    }
  }
  return { doc, schemas, operations };
}

function resourceOf(doc: JsonObject, collectionPath: string, paths: JsonObject): Resource | null {
  const collection = paths[collectionPath];
  const hasItemPath = Object.keys(paths).some(
    (p) => p.startsWith(`${collectionPath}/{`) && /^\/\{[^}/]+\}$/.test(p.slice(collectionPath.length)),
  );
  if (!isObject(collection) || !hasItemPath) return null;
  const sync = collection["x-sync"];
  const list = isObject(collection.get) ? deref(doc, responseSchema(doc, collection.get)) : undefined;
  const schemaName =
    refName(list?.items) ?? (isObject(collection.post) ? refName(jsonContent(doc, collection.post.requestBody)) : null);
  if (!schemaName) throw new Error(`${collectionPath}: no item schema ($ref) on GET or POST`);
  const table = isObject(sync) && typeof sync.table === "string" ? sync.table : (collectionPath.split("/").pop() ?? "");
  return { collectionPath, table, synced: sync === true || isObject(sync), schemaName };
}

function crudKind(method: Method, isItem: boolean): CrudKind | null {
  if (!isItem) return method === "get" ? "list" : method === "post" ? "create" : null;
  return method === "get" ? "get" : method === "patch" || method === "put" ? "update" : method === "delete" ? "delete" : null;
}

function jsonContent(doc: JsonObject, bodyOrResponse: Json | undefined): Json | undefined {
  const content = deref(doc, bodyOrResponse)?.content;
  if (!isObject(content)) return undefined;
  const media = content["application/json"];
  return isObject(media) ? media.schema : undefined;
}

function responseSchema(doc: JsonObject, op: JsonObject): Json | undefined {
  const responses = isObject(op.responses) ? op.responses : {};
  return jsonContent(doc, responses["200"]);
}

function successStatus(op: JsonObject): number {
  const codes = Object.keys(isObject(op.responses) ? op.responses : {})
    .filter((c) => /^2\d\d$/.test(c))
    .map(Number)
    .sort((a, b) => a - b);
  return codes[0] ?? 200;
}

function parameters(doc: JsonObject, lists: (Json | undefined)[]): Parameter[] {
  const byKey = new Map<string, Parameter>();
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    for (const raw of list) {
      const p = deref(doc, raw);
      if (!p || typeof p.name !== "string" || (p.in !== "path" && p.in !== "query")) continue;
      const schema = deref(doc, p.schema) ?? {};
      byKey.set(`${p.in}:${p.name}`, { name: p.name, in: p.in, required: p.required === true, schema });
    }
  }
  return [...byKey.values()];
}
