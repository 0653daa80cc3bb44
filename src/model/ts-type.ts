/**
 * The one place where a JSON Schema becomes a TypeScript type expression.
 *
 * | schema                                   | TypeScript                         |
 * |------------------------------------------|------------------------------------|
 * | `$ref: #/components/schemas/X`           | `X` (or `XWrite` in request bodies)|
 * | string (any format but binary)           | `string`                           |
 * | string, format binary                    | `Blob`                             |
 * | integer, number (any format)             | `number`                           |
 * | boolean / null                           | `boolean` / `null`                 |
 * | enum / const                             | union of literals                  |
 * | array                                    | `T[]`; 3.1 `prefixItems` → tuple   |
 * | object with properties                   | `{ a: T; b?: U }`                  |
 * | additionalProperties                     | `Record<string, T>` (joined by &)  |
 * | allOf / oneOf / anyOf                    | `A & B` / `A \| B`                 |
 * | oneOf + discriminator                    | `(A & { kind: "a" }) \| …`         |
 * | 3.0 `nullable`, 3.1 `type: [x, "null"]`  | `… \| null`                        |
 * | `{}` / no type                           | `unknown`                          |
 *
 * Output is a single-line expression, safe for any property name or enum value (keys are
 * quoted with JSON.stringify when they are not identifiers; literals always are).
 */
import { propertyKey } from "./naming.js";
import { componentName, isNullable, isNullSchema, isObj, resolveRef, schemaTypes, type SchemaObject } from "./schema-walk.js";
import type { Json } from "../spec/parse.js";

export type Visibility = "read" | "write";

export interface TypeNames {
  /** Component schema name → TypeScript names. */
  get(component: string): { name: string; writeName?: string } | undefined;
}

export interface TsTypeContext {
  doc: Json;
  names: TypeNames;
  /** Prefix for named types, e.g. `T.` when the types are imported as a namespace. */
  prefix: string;
  /** Called once per construct that maps to `unknown` for a reason the user may want to know. */
  onUnsupported?: (pointer: string, what: string) => void;
}

export function tsType(schema: Json | undefined, ctx: TsTypeContext, visibility: Visibility, pointer = "", inlining: string[] = []): string {
  if (schema === undefined || schema === true) return "unknown";
  if (schema === false) return "never";
  if (!isObj(schema)) return "unknown";
  const base = baseType(schema, ctx, visibility, pointer, inlining);
  return isNullable(schema) && !/(^|\| )null$/.test(base) && base !== "unknown" ? union([base, "null"]) : base;
}

function baseType(s: SchemaObject, ctx: TsTypeContext, vis: Visibility, ptr: string, inlining: string[]): string {
  if (typeof s.$ref === "string") return refType(s.$ref, ctx, vis, ptr, inlining);
  if ("const" in s) return literal(s.const!);
  if (Array.isArray(s.enum)) {
    const values = s.enum.filter((v) => v !== null);
    return values.length ? union(values.map(literal)) : "null";
  }
  const parts: string[] = [];
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
  if (parts.length === 0) return isNullable(s) && (s.type === "null" || Array.isArray(s.type)) ? "null" : "unknown";
  return intersection(parts);
}

function refType(ref: string, ctx: TsTypeContext, vis: Visibility, ptr: string, inlining: string[]): string {
  const component = componentName(ref);
  const named = component !== undefined ? ctx.names.get(component) : undefined;
  if (named) return ctx.prefix + (vis === "write" && named.writeName ? named.writeName : named.name);
  // A ref to something that is not a named schema (a property of one, an external file): inline it.
  if (inlining.includes(ref)) {
    ctx.onUnsupported?.(ptr, `a cycle through ${ref}, which is not a named schema`);
    return "unknown";
  }
  const target = resolveRef(ctx.doc, ref);
  if (target === undefined) return "unknown";
  return tsType(target, ctx, vis, ref.slice(1), [...inlining, ref]);
}

function discriminated(parent: SchemaObject, member: Json, ctx: TsTypeContext, vis: Visibility, ptr: string, inlining: string[]): string {
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
  return `(${type} & { ${propertyKey(disc.propertyName)}: ${union(tags.map((t) => JSON.stringify(t)))} })`;
}

function primitive(t: string, s: SchemaObject, ctx: TsTypeContext, vis: Visibility, ptr: string, inlining: string[]): string {
  switch (t) {
    case "string":
      return s.format === "binary" ? "Blob" : "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "array": {
      if (Array.isArray(s.prefixItems)) {
        const items = s.prefixItems.map((m, i) => tsType(m, ctx, vis, `${ptr}/prefixItems/${i}`, inlining));
        return `[${items.join(", ")}${s.items === false ? "" : ", ...unknown[]"}]`;
      }
      const item = tsType(s.items as Json | undefined, ctx, vis, `${ptr}/items`, inlining);
      return /^[\w.]+$/.test(item) ? `${item}[]` : `(${item})[]`;
    }
    case "object":
      return objectType(s, ctx, vis, ptr, inlining);
    default:
      return "unknown";
  }
}

function objectType(s: SchemaObject, ctx: TsTypeContext, vis: Visibility, ptr: string, inlining: string[]): string {
  const props = objectMembers(s, ctx, vis, ptr, inlining);
  const index = indexSignatureType(s, ctx, vis, ptr, inlining);
  const body = props.length ? `{ ${props.map((p) => `${p.key}${p.optional ? "?" : ""}: ${p.type}`).join("; ")} }` : undefined;
  if (body && index) return `${body} & Record<string, ${index}>`;
  if (body) return body;
  return `Record<string, ${index ?? "unknown"}>`;
}

export interface MemberType {
  name: string;
  key: string;
  type: string;
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
      key: propertyKey(name),
      type: tsType(prop, ctx, vis, `${ptr}/properties/${/[~/]/.test(name) ? name.replace(/~/g, "~0").replace(/\//g, "~1") : name}`, inlining),
      optional: !required.has(name),
      schema: prop,
    });
  }
  return out;
}

/** The value type of `additionalProperties` / `patternProperties`, or undefined when closed or absent. */
export function indexSignatureType(s: SchemaObject, ctx: TsTypeContext, vis: Visibility, ptr: string, inlining: string[] = []): string | undefined {
  const ap = s.additionalProperties;
  if (ap === true || (isObj(ap) && Object.keys(ap).length === 0)) return "unknown";
  if (isObj(ap)) return tsType(ap, ctx, vis, `${ptr}/additionalProperties`, inlining);
  if (isObj(s.patternProperties)) return "unknown";
  return undefined;
}

/** Whether a schema's own properties differ between read and write (readOnly / writeOnly present). */
export function hasVisibilitySplit(s: Json | undefined): boolean {
  if (!isObj(s) || !isObj(s.properties)) return false;
  return Object.values(s.properties).some((p) => isObj(p) && (p.readOnly === true || p.writeOnly === true || p["x-sync-exclude"] === true));
}

export function literal(value: Json): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return "unknown";
}

function wrap(t: string): string {
  return /^[\w.\[\]"<>, ]+$/.test(t) && !t.includes(" | ") && !t.includes(" & ") ? t : t.startsWith("(") && t.endsWith(")") && balanced(t.slice(1, -1)) ? t : `(${t})`;
}

function balanced(t: string): boolean {
  let depth = 0;
  for (const ch of t) {
    if (ch === "(") depth++;
    else if (ch === ")" && --depth < 0) return false;
  }
  return depth === 0;
}

export function union(types: string[]): string {
  const unique = [...new Set(types)];
  if (unique.includes("unknown")) return "unknown";
  if (unique.length === 0) return "never";
  if (unique.length === 1) return unique[0]!;
  return unique.map((t) => (t.includes(" & ") ? wrap(t) : t)).join(" | ");
}

export function intersection(types: string[]): string {
  const unique = [...new Set(types)].filter((t) => t !== "unknown");
  if (unique.length === 0) return "unknown";
  if (unique.length === 1) return unique[0]!;
  return unique.map(wrap).join(" & ");
}
