/**
 * The marked test row `doctor --write` creates (pure): the client's key, every required writable
 * field filled (the spec's default or first enum value, a value seen in the shape for ids, else a
 * value of the field's type), and the marker in text fields.
 */
import { randomUUID } from "node:crypto";
import type { Entity, EntityField, PathPart } from "../model/types.js";

export const MARKER = "sync-patterns doctor";

/** A value for the key the client generates (uuid for uuid keys, a marked string otherwise). */
export function newKey(field: EntityField): string | number {
  if (field.pgType === "uuid") return randomUUID();
  if (/int|numeric|double|real/.test(field.pgType) && !field.numericString) return Math.floor(Math.random() * 1e9) + 1e9;
  return `${MARKER} ${randomUUID()}`;
}

/** Where values for reference fields come from: rows each entity's shape showed. */
export type SeenRows = Map<string, Record<string, unknown>[]>;

/** The synced entity a field refers to by name: `account_id` → account(s) keyed by `id`. */
export function parentOf(entity: Entity, field: EntityField, all: Entity[]): Entity | undefined {
  return all.find((e) => e !== entity && (`${e.names.snake}_${e.key}` === field.name || `${e.names.snakePlural}_${e.key}` === field.name));
}

function seenValue(entity: Entity, field: EntityField, seen: SeenRows, all: Entity[]): unknown {
  for (const row of seen.get(entity.table) ?? []) if (row[field.name] !== null && row[field.name] !== undefined) return row[field.name];
  const parent = parentOf(entity, field, all);
  const row = parent ? (seen.get(parent.table) ?? [])[0] : undefined;
  return parent && row ? row[parent.key] : undefined;
}

function typedValue(field: EntityField): unknown {
  const t = field.pgType;
  if (t.endsWith("[]")) return [];
  switch (t) {
    case "uuid":
      return randomUUID();
    case "timestamptz":
    case "timestamp":
      return new Date().toISOString();
    case "date":
      return new Date().toISOString().slice(0, 10);
    case "time":
      return "12:00:00";
    case "boolean":
      return false;
    case "jsonb":
      return field.type.kind === "array" ? [] : {};
    case "integer":
    case "bigint":
    case "real":
    case "double precision":
    case "numeric":
      return field.numericString || (field.type.kind === "primitive" && field.type.name === "string") ? "1" : 1;
    default:
      return MARKER;
  }
}

/** A shape value (Postgres text) back as the JSON the API takes. */
function asJson(field: EntityField, value: unknown): unknown {
  if (typeof value !== "string") return value;
  if (field.pgType === "jsonb") {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  if (field.pgType === "boolean") return value === "t" || value === "true";
  if (/^(integer|bigint|real|double precision)$/.test(field.pgType) && !field.numericString) return Number(value);
  return value;
}

export interface Sample {
  row: Record<string, unknown>;
  /** Required references no row of the shapes could fill (`transaction.account_id` with no account): field → the entity it names. */
  unfilled: { field: string; parent: string }[];
}

/** `key` null: the server assigns the key (`keySource: "server"`), so the row carries none, as the client's create. */
export function sampleRow(entity: Entity, key: string | number | null, seen: SeenRows, all: Entity[]): Sample {
  const row: Record<string, unknown> = key === null ? {} : { [entity.key]: key };
  const unfilled: Sample["unfilled"] = [];
  for (const field of entity.writableFields) {
    const needed = field.required || entity.pathFields.includes(field);
    if (!needed) continue;
    if (field.default !== undefined) row[field.name] = structuredClone(field.default);
    else if (field.enum?.some((v) => v !== null)) row[field.name] = field.enum.find((v) => v !== null);
    else if (field.pgType === "uuid" || entity.pathFields.includes(field)) {
      const value = seenValue(entity, field, seen, all);
      const parent = parentOf(entity, field, all);
      if (value === undefined && (parent || entity.pathFields.includes(field))) unfilled.push({ field: field.name, parent: parent?.names.original ?? "its parent" });
      row[field.name] = value === undefined ? typedValue(field) : asJson(field, value);
    } else row[field.name] = typedValue(field);
  }
  return { row, unfilled };
}

/** A change a PATCH can make that shows in the stream: a text field gets a new marked value, else a boolean flips. */
export function sampleUpdate(entity: Entity, row: Record<string, unknown>): Record<string, unknown> | null {
  const text = entity.writableFields.find((f) => f.pgType === "text" && !f.enum && !entity.pathFields.includes(f));
  if (text) return { [text.name]: `${MARKER} (updated)` };
  const flag = entity.writableFields.find((f) => f.pgType === "boolean" && !entity.pathFields.includes(f));
  if (flag) return { [flag.name]: row[flag.name] !== true };
  return null;
}

/** A body the server must refuse: required fields left out, else a field of the wrong JSON type. */
export function invalidBody(entity: Entity, key: string | number | null, row: Record<string, unknown>): Record<string, unknown> | null {
  const keyed = key === null ? { ...row } : { ...row, [entity.key]: key };
  const required = entity.writableFields.filter((f) => f.required && f.default === undefined && !entity.pathFields.includes(f));
  if (required.length) {
    for (const f of required) delete keyed[f.name];
    return keyed;
  }
  const typed = entity.writableFields.find((f) => !entity.pathFields.includes(f));
  if (!typed) return null;
  return { ...keyed, [typed.name]: typed.pgType === "jsonb" || typed.pgType === "text" ? 12345 : { wrong: "type" } };
}

/** The URL path of a write endpoint for a row, or the parameter no value was found for. */
export function fillPath(parts: PathPart[], row: Record<string, unknown>): string | { missing: string } {
  let path = "";
  for (const part of parts) {
    if (typeof part === "string") {
      path += part;
      continue;
    }
    const value = row[part.field];
    if (value === undefined || value === null) return { missing: `{${part.param}} (${part.field})` };
    path += encodeURIComponent(String(value));
  }
  return path;
}
