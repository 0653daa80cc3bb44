/**
 * A database row → the spec's JSON object: only the schema's properties (server columns such as
 * `write_id` and device-only `x-sync-exclude` properties never appear), timestamps as ISO strings,
 * and NULL omitted where the schema does not allow null.
 */
import type { Row } from "./db.js";
import { isObject, type Json, type JsonObject } from "./spec.js";

export type Projector = (row: Row) => JsonObject;

export function projector(component: JsonObject): Projector {
  const props = isObject(component.properties) ? component.properties : {};
  const fields = Object.entries(props)
    .filter(([, p]) => !(isObject(p) && p["x-sync-exclude"] === true))
    .map(([name, p]) => ({ name, nullable: allowsNull(p) }));
  return (row) => {
    const out: JsonObject = {};
    for (const { name, nullable } of fields) {
      const v = toJson(row[name]);
      if (v !== null || nullable) out[name] = v;
    }
    return out;
  };
}

function allowsNull(p: Json): boolean {
  if (!isObject(p)) return true;
  if (p.nullable === true) return true;
  return Array.isArray(p.type) ? p.type.includes("null") : p.type === "null";
}

function toJson(v: unknown): Json {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "bigint") return v.toString();
  return v as Json;
}
