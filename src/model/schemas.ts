/**
 * Named schemas: `components.schemas` (and inline entity items) → NamedSchema[] with unique
 * TypeScript names, read and write forms.
 */
import { warning, type Diagnostic, type SourceLocation } from "../diagnostics/diagnostic.js";
import { docText, NameRegistry, pascalCase, safeTypeName } from "./naming.js";
import { componentName, isObj, type SchemaObject } from "./schema-walk.js";
import { hasVisibilitySplit, indexSignatureType, objectMembers, tsType, type TsTypeContext, type TypeNames } from "./ts-type.js";
import type { Json } from "../spec/parse.js";
import type { NamedSchema, SchemaProperty } from "./types.js";

export interface SchemaNaming extends TypeNames {
  /** Every claimed type name, so later stages (entities) can add more without collisions. */
  registry: NameRegistry;
}

/** Names every component schema (sorted by spelling, so collisions resolve the same way every run). */
export function nameSchemas(doc: Json, locate: (p: string) => SourceLocation, diagnostics: Diagnostic[]): SchemaNaming {
  const registry = new NameRegistry();
  const byComponent = new Map<string, { name: string; writeName?: string }>();
  const components = componentSchemas(doc);
  const names = Object.keys(components).sort();
  for (const original of names) {
    const { name, collidedWith } = registry.claim(safeTypeName(pascalCase(original)), original);
    if (collidedWith !== undefined) {
      diagnostics.push(
        warning("model/name-collision", `Schemas "${collidedWith}" and "${original}" map to the same TypeScript name; "${original}" is named ${name}.`, locate(`/components/schemas/${original}`), "Rename one of the schemas in the spec to choose the names yourself."),
      );
    }
    byComponent.set(original, { name });
  }
  // Write forms second, so a spec's own `ContactWrite` keeps its name. A schema needs one when
  // its own properties differ between read and write, or when it refers to a schema that does.
  const needsWrite = new Set(names.filter((n) => hasVisibilitySplit(components[n])));
  const refs = new Map(names.map((n) => [n, componentRefs(components[n])]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of names) {
      if (!needsWrite.has(n) && [...refs.get(n)!].some((r) => needsWrite.has(r))) {
        needsWrite.add(n);
        changed = true;
      }
    }
  }
  for (const original of names) {
    if (!needsWrite.has(original)) continue;
    const entry = byComponent.get(original)!;
    entry.writeName = registry.claim(`${entry.name}Write`, original).name;
  }
  return { registry, get: (component) => byComponent.get(component) };
}

/** Names of the component schemas a schema refers to directly (not through other components). */
function componentRefs(schema: Json | undefined): Set<string> {
  const out = new Set<string>();
  const walk = (node: Json | undefined): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (isObj(node)) {
      if (typeof node.$ref === "string") {
        const name = componentName(node.$ref);
        if (name !== undefined) out.add(name);
        return;
      }
      for (const v of Object.values(node)) if (typeof v === "object" && v !== null) walk(v);
    }
  };
  walk(schema);
  return out;
}

export function componentSchemas(doc: Json): Record<string, Json> {
  const comps = isObj(doc) && isObj(doc.components) ? doc.components : undefined;
  return comps && isObj(comps.schemas) ? comps.schemas : {};
}

export function buildNamedSchema(original: string, schema: Json, naming: TypeNames & { get: TypeNames["get"] }, ctx: TsTypeContext, pointer: string): NamedSchema {
  const names = naming.get(original)!;
  const s: SchemaObject = isObj(schema) ? schema : {};
  const doc = docText(s.title !== original ? s.title : undefined, s.description);
  const deprecated = s.deprecated === true;
  const index = isObj(s.properties) ? indexSignatureType(s, ctx, "read", pointer) : undefined;
  const plainObject =
    typeof s.$ref !== "string" && isObj(s.properties) && !s.allOf && !s.oneOf && !s.anyOf && !Array.isArray(s.enum) && !("const" in s) &&
    (s.type === undefined || s.type === "object") && s.nullable !== true && (index === undefined || index.kind === "unknown");
  if (plainObject) {
    const props = s.properties as Record<string, Json>;
    const toProperties = (visibility: "read" | "write"): SchemaProperty[] =>
      objectMembers(s, ctx, visibility, pointer).map((m) => {
        const p = isObj(props[m.name]) ? (props[m.name] as SchemaObject) : {};
        return {
          name: m.name,
          type: m.type,
          optional: m.optional,
          readOnly: p.readOnly === true,
          writeOnly: p.writeOnly === true,
          deprecated: p.deprecated === true,
          doc: docText(p.description),
        };
      });
    return {
      original,
      name: names.name,
      ...(names.writeName ? { writeName: names.writeName } : {}),
      doc,
      deprecated,
      kind: "interface",
      properties: toProperties("read"),
      writeProperties: names.writeName ? toProperties("write") : [],
      ...(index ? { indexType: index } : {}),
    };
  }
  return {
    original,
    name: names.name,
    ...(names.writeName ? { writeName: names.writeName } : {}),
    doc,
    deprecated,
    kind: "alias",
    properties: [],
    writeProperties: [],
    type: tsType(schema, ctx, "read", pointer),
    writeType: tsType(schema, ctx, "write", pointer),
  };
}
