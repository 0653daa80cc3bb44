/**
 * Small readers over raw JSON Schema objects of an OpenAPI document: `$ref` resolution,
 * nullability across 3.0 (`nullable`) and 3.1 (type arrays), and object property listing.
 * Shared by the TypeScript and Postgres type mappers.
 */
import { pointerJoin, pointerSegments, refPointer } from "../diagnostics/diagnostic.js";
import type { Json } from "../spec/parse.js";
import { resolvePointer } from "../spec/pointer.js";

export type SchemaObject = { [key: string]: Json };

export const COMPONENT_SCHEMA_PREFIX = "#/components/schemas/";

export function isObj(value: unknown): value is SchemaObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `#/components/schemas/Contact` → `Contact`; deeper pointers and other refs → undefined. */
export function componentName(ref: string): string | undefined {
  if (!ref.startsWith(COMPONENT_SCHEMA_PREFIX)) return undefined;
  const segs = pointerSegments(refPointer(ref));
  return segs.length === 3 ? segs[2] : undefined;
}

export function resolveRef(doc: Json, ref: string): Json | undefined {
  return ref.startsWith("#") ? resolvePointer(doc, refPointer(ref)) : undefined;
}

/** Follows `$ref` chains (bounded) to a schema object; undefined for dangling or cyclic chains. */
export function deref(doc: Json, schema: Json | undefined, limit = 32): SchemaObject | undefined {
  let node = schema;
  for (let i = 0; i < limit && isObj(node); i++) {
    if (typeof node.$ref !== "string") return node;
    node = resolveRef(doc, node.$ref);
  }
  return isObj(node) && typeof node.$ref !== "string" ? node : undefined;
}

/** Like `deref`, and also the JSON pointer of the schema object it arrived at (`pointer` when `schema` is no `$ref`). */
export function derefAt(doc: Json, schema: Json | undefined, pointer: string, limit = 32): { schema: SchemaObject; pointer: string } | undefined {
  let node = schema;
  let at = pointer;
  for (let i = 0; i < limit && isObj(node); i++) {
    if (typeof node.$ref !== "string") return { schema: node, pointer: at };
    if (!node.$ref.startsWith("#")) return undefined;
    at = refPointer(node.$ref);
    node = resolveRef(doc, node.$ref);
  }
  return undefined;
}

/** The schema's declared types, without `null`. */
export function schemaTypes(schema: SchemaObject): string[] {
  const t = schema.type;
  if (typeof t === "string") return t === "null" ? [] : [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === "string" && x !== "null");
  return [];
}

export function isNullable(schema: SchemaObject): boolean {
  if (schema.nullable === true) return true;
  const t = schema.type;
  if (t === "null" || (Array.isArray(t) && t.includes("null"))) return true;
  if (Array.isArray(schema.enum) && schema.enum.includes(null)) return true;
  for (const key of ["oneOf", "anyOf"] as const) {
    const members = schema[key];
    if (Array.isArray(members) && members.some(isNullSchema)) return true;
  }
  return false;
}

/** `{ type: "null" }` or `{ enum: [null] }`: a union member that only adds null. */
export function isNullSchema(m: Json): boolean {
  return isObj(m) && (m.type === "null" || (Array.isArray(m.enum) && m.enum.length === 1 && m.enum[0] === null));
}

export interface RawProperty {
  name: string;
  schema: Json;
  required: boolean;
  /** JSON pointer of the property's definition (inside the `$ref` target or `allOf` member that declares it). */
  pointer: string;
}

/**
 * Properties of an object schema, with `allOf` members merged in (in order, later wins) and
 * `$ref`s followed. Used where a flat field list is needed (entities). `pointer` is where
 * `schema` sits in the document.
 */
export function flattenProperties(doc: Json, schema: Json, pointer = "", seen = new Set<SchemaObject>()): RawProperty[] {
  const found = derefAt(doc, schema, pointer);
  if (!found || seen.has(found.schema)) return [];
  const { schema: s, pointer: at } = found;
  seen.add(s);
  const byName = new Map<string, RawProperty>();
  const add = (p: RawProperty): void => {
    const prev = byName.get(p.name);
    byName.set(p.name, prev ? { ...p, required: p.required || prev.required } : p);
  };
  if (Array.isArray(s.allOf)) s.allOf.forEach((m, i) => flattenProperties(doc, m, pointerJoin(at, "allOf", i), seen).forEach(add));
  const required = new Set(Array.isArray(s.required) ? s.required.filter((x): x is string => typeof x === "string") : []);
  if (isObj(s.properties)) {
    for (const [name, prop] of Object.entries(s.properties)) add({ name, schema: prop, required: required.has(name), pointer: pointerJoin(at, "properties", name) });
  }
  for (const name of required) {
    const p = byName.get(name);
    if (p) byName.set(name, { ...p, required: true });
  }
  return [...byName.values()];
}
