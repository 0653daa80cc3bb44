/**
 * The one place where a JSON Schema becomes a TypeScript type — as data (`TsType`); the text is
 * printed once, by src/plan/print/typescript.ts (`printTsType`).
 *
 * | schema                                   | TsType (printed)                              |
 * |------------------------------------------|-----------------------------------------------|
 * | `$ref: #/components/schemas/X`           | ref `X` (or `XWrite` in request bodies)       |
 * | string (any format but binary)           | primitive `string`                            |
 * | string, format binary                    | `Blob`                                        |
 * | integer, number (any format)             | primitive `number`                            |
 * | boolean / null                           | primitive `boolean` / `null`                  |
 * | enum / const                             | union of literals                             |
 * | array                                    | array `T[]`; 3.1 `prefixItems` → tuple        |
 * | object with properties                   | object `{ a: T; b?: U }`                      |
 * | additionalProperties                     | object with an index type `Record<string, T>` |
 * | allOf / oneOf / anyOf                    | intersection `A & B` / union `A \| B`         |
 * | oneOf + discriminator                    | tagged `(A & { kind: "a" }) \| …`             |
 * | 3.0 `nullable`, 3.1 `type: [x, "null"]`  | union with `null`                             |
 * | `{}` / no type                           | `unknown`                                     |
 *
 * Unions and intersections are normalized when built (duplicates dropped, `unknown` absorbs a
 * union and vanishes from an intersection), so the printer only prints.
 */
import { componentName, isNullable, isNullSchema, isObj, resolveRef, schemaTypes, type SchemaObject } from "./schema-walk.js";
import type { Json } from "../spec/parse.js";
import type { TsType } from "./types.js";

export const UNKNOWN: TsType = { kind: "unknown" };
export const STRING: TsType = { kind: "primitive", name: "string" };
const NULL: TsType = { kind: "primitive", name: "null" };

/** Whether a type names a schema type imported as `namespace` anywhere inside it. */
export function refersToNamespace(t: TsType | undefined, namespace: string): boolean {
  if (!t) return false;
  switch (t.kind) {
    case "ref":
      return t.namespace === namespace;
    case "array":
      return refersToNamespace(t.item, namespace);
    case "tuple":
      return t.items.some((i) => refersToNamespace(i, namespace));
    case "object":
      return t.props.some((p) => refersToNamespace(p.type, namespace)) || refersToNamespace(t.index, namespace);
    case "union":
    case "intersection":
      return t.members.some((m) => refersToNamespace(m, namespace));
    case "tagged":
      return refersToNamespace(t.type, namespace);
    case "multipart":
      return refersToNamespace(t.fields, namespace);
    default:
      return false;
  }
}

/** Whether a value of this type may be a string (a member of a top-level union, or the type itself). */
export function admitsString(t: TsType): boolean {
  if (t.kind === "primitive") return t.name === "string";
  if (t.kind === "union") return t.members.some(admitsString);
  return false;
}

export type Visibility = "read" | "write";

export interface TypeNames {
  /** Component schema name → TypeScript names. */
  get(component: string): { name: string; writeName?: string } | undefined;
}

export interface TsTypeContext {
  doc: Json;
  names: TypeNames;
  /** Namespace of named types, e.g. `T` when the types are imported as a namespace; none when local. */
  namespace?: string;
  /** Called once per construct that maps to `unknown` for a reason the user may want to know. */
  onUnsupported?: (pointer: string, what: string) => void;
}

export function tsType(schema: Json | undefined, ctx: TsTypeContext, visibility: Visibility, pointer = "", inlining: string[] = []): TsType {
  if (schema === undefined || schema === true) return UNKNOWN;
  if (schema === false) return { kind: "never" };
  if (!isObj(schema)) return UNKNOWN;
  const base = baseType(schema, ctx, visibility, pointer, inlining);
  return isNullable(schema) && !endsWithNull(base) && base.kind !== "unknown" ? union([base, NULL]) : base;
}

/** `null`, or a union whose last member (as printed, flattened) is `null`. */
function endsWithNull(t: TsType): boolean {
  if (t.kind === "primitive") return t.name === "null";
  if (t.kind === "union") return t.members.length > 0 && endsWithNull(t.members[t.members.length - 1]!);
  return false;
}

function baseType(s: SchemaObject, ctx: TsTypeContext, vis: Visibility, ptr: string, inlining: string[]): TsType {
  if (typeof s.$ref === "string") return refType(s.$ref, ctx, vis, ptr, inlining);
  if ("const" in s) return literal(s.const!);
  if (Array.isArray(s.enum)) {
    const values = s.enum.filter((v) => v !== null);
    return values.length ? union(values.map(literal)) : NULL;
  }
  const parts: TsType[] = [];
  if (Array.isArray(s.allOf)) {
    parts.push(intersection(s.allOf.map((m, i) => tsType(m, ctx, vis, `${ptr}/allOf/${i}`, inlining))));
  }
  for (const key of ["oneOf", "anyOf"] as const) {
    const members = s[key];
    if (!Array.isArray(members)) continue;
    const nonNull = members.filter((m) => !isNullSchema(m));
    parts.push(union(nonNull.map((m, i) => discriminated(s, m, ctx, vis, `${ptr}/${key}/${i}`, inlining))));
  }
  const types = schemaTypes(s);
  const hasObjectShape = isObj(s.properties) || s.additionalProperties !== undefined;
  if (types.length > 1) {
    parts.push(union(types.map((t) => primitive(t, s, ctx, vis, ptr, inlining))));
  } else if (types.length === 1) {
    // An allOf/oneOf next to `type: object` without properties adds nothing.
    if (!(parts.length && types[0] === "object" && !hasObjectShape)) parts.push(primitive(types[0]!, s, ctx, vis, ptr, inlining));
  } else if (hasObjectShape) {
    parts.push(objectType(s, ctx, vis, ptr, inlining));
  } else if (s.items !== undefined) {
    parts.push(primitive("array", s, ctx, vis, ptr, inlining));
  }
  if (parts.length === 0) return isNullable(s) && (s.type === "null" || Array.isArray(s.type)) ? NULL : UNKNOWN;
  return intersection(parts);
}

function refType(ref: string, ctx: TsTypeContext, vis: Visibility, ptr: string, inlining: string[]): TsType {
  const component = componentName(ref);
  const named = component !== undefined ? ctx.names.get(component) : undefined;
  if (named) {
    const name = vis === "write" && named.writeName ? named.writeName : named.name;
    return ctx.namespace ? { kind: "ref", name, namespace: ctx.namespace } : { kind: "ref", name };
  }
  // A ref to something that is not a named schema (a property of one, an external file): inline it.
  if (inlining.includes(ref)) {
    ctx.onUnsupported?.(ptr, `a cycle through ${ref}, which is not a named schema`);
    return UNKNOWN;
  }
  const target = resolveRef(ctx.doc, ref);
  if (target === undefined) return UNKNOWN;
  return tsType(target, ctx, vis, ref.slice(1), [...inlining, ref]);
}

function discriminated(parent: SchemaObject, member: Json, ctx: TsTypeContext, vis: Visibility, ptr: string, inlining: string[]): TsType {
  const type = tsType(member, ctx, vis, ptr, inlining);
  const disc = parent.discriminator;
  if (!isObj(disc) || typeof disc.propertyName !== "string" || !isObj(member) || typeof member.$ref !== "string") return type;
  const ref = member.$ref;
  const mapping = isObj(disc.mapping) ? disc.mapping : {};
  const tags = Object.entries(mapping)
    .filter(([, target]) => target === ref || target === componentName(ref))
    .map(([tag]) => tag);
  if (tags.length === 0 && Object.keys(mapping).length === 0) {
    const name = componentName(ref);
    if (name !== undefined) tags.push(name);
  }
  if (tags.length === 0) return type;
  return { kind: "tagged", type, property: disc.propertyName, tags: [...new Set(tags)] };
}

function primitive(t: string, s: SchemaObject, ctx: TsTypeContext, vis: Visibility, ptr: string, inlining: string[]): TsType {
  switch (t) {
    case "string":
      return s.format === "binary" ? { kind: "global", name: "Blob" } : STRING;
    case "integer":
    case "number":
      return { kind: "primitive", name: "number" };
    case "boolean":
      return { kind: "primitive", name: "boolean" };
    case "array": {
      if (Array.isArray(s.prefixItems)) {
        const items = s.prefixItems.map((m, i) => tsType(m, ctx, vis, `${ptr}/prefixItems/${i}`, inlining));
        return { kind: "tuple", items, rest: s.items !== false };
      }
      return { kind: "array", item: tsType(s.items as Json | undefined, ctx, vis, `${ptr}/items`, inlining) };
    }
    case "object":
      return objectType(s, ctx, vis, ptr, inlining);
    default:
      return UNKNOWN;
  }
}

function objectType(s: SchemaObject, ctx: TsTypeContext, vis: Visibility, ptr: string, inlining: string[]): TsType {
  const props = objectMembers(s, ctx, vis, ptr, inlining).map(({ name, type, optional }) => ({ name, type, optional }));
  const index = indexSignatureType(s, ctx, vis, ptr, inlining);
  return index ? { kind: "object", props, index } : { kind: "object", props };
}

export interface MemberType {
  name: string;
  type: TsType;
  optional: boolean;
  schema: Json;
}

/** Properties of an object schema for one visibility: read drops writeOnly, write drops readOnly. */
export function objectMembers(s: SchemaObject, ctx: TsTypeContext, vis: Visibility, ptr: string, inlining: string[] = []): MemberType[] {
  if (!isObj(s.properties)) return [];
  const required = new Set(Array.isArray(s.required) ? s.required : []);
  const out: MemberType[] = [];
  for (const [name, prop] of Object.entries(s.properties)) {
    const p = isObj(prop) ? prop : {};
    if (vis === "read" && p.writeOnly === true) continue;
    // readOnly and device-only (x-sync-exclude) properties are never sent.
    if (vis === "write" && (p.readOnly === true || p["x-sync-exclude"] === true)) continue;
    out.push({
      name,
      type: tsType(prop, ctx, vis, `${ptr}/properties/${/[~/]/.test(name) ? name.replace(/~/g, "~0").replace(/\//g, "~1") : name}`, inlining),
      optional: !required.has(name),
      schema: prop,
    });
  }
  return out;
}

/** The value type of `additionalProperties` / `patternProperties`, or undefined when closed or absent. */
export function indexSignatureType(s: SchemaObject, ctx: TsTypeContext, vis: Visibility, ptr: string, inlining: string[] = []): TsType | undefined {
  const ap = s.additionalProperties;
  if (ap === true || (isObj(ap) && Object.keys(ap).length === 0)) return UNKNOWN;
  if (isObj(ap)) return tsType(ap, ctx, vis, `${ptr}/additionalProperties`, inlining);
  if (isObj(s.patternProperties)) return UNKNOWN;
  return undefined;
}

/** Whether a schema's own properties differ between read and write (readOnly / writeOnly present). */
export function hasVisibilitySplit(s: Json | undefined): boolean {
  if (!isObj(s) || !isObj(s.properties)) return false;
  return Object.values(s.properties).some((p) => isObj(p) && (p.readOnly === true || p.writeOnly === true || p["x-sync-exclude"] === true));
}

export function literal(value: Json): TsType {
  if (value === null) return NULL;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return { kind: "literal", value };
  return UNKNOWN;
}

/** Drops repeated members (structural identity: the same facts make the same type). */
function unique(types: TsType[]): TsType[] {
  const seen = new Set<string>();
  return types.filter((t) => {
    const k = JSON.stringify(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function union(types: TsType[]): TsType {
  const members = unique(types);
  if (members.some((t) => t.kind === "unknown")) return UNKNOWN;
  if (members.length === 0) return { kind: "never" };
  if (members.length === 1) return members[0]!;
  return { kind: "union", members };
}

export function intersection(types: TsType[]): TsType {
  const members = unique(types).filter((t) => t.kind !== "unknown");
  if (members.length === 0) return UNKNOWN;
  if (members.length === 1) return members[0]!;
  return { kind: "intersection", members };
}
