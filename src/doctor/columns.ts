/**
 * The shape's columns against the spec (pure): names, types, nullability, jsonb for objects and
 * arrays, `x-sync-exclude` fields absent, the key. `electric-schema` names Postgres types by
 * `pg_type.typname` (`int4`, `bool`, `timestamptz`, …); the model by SQL names (`integer`, …).
 */
import { error, warning, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { Entity, EntityField } from "../model/types.js";
import type { ShapeColumn } from "./shape.js";
import { printTsType } from "../plan/print/typescript.js";
import { admitsString } from "../model/ts-type.js";

/** The model's pgType as `electric-schema` spells it. */
const TYPNAME: Record<string, string> = {
  integer: "int4",
  bigint: "int8",
  smallint: "int2",
  real: "float4",
  "double precision": "float8",
  boolean: "bool",
  "character varying": "varchar",
};

/** Families: a value of one member is read correctly by a column of another (a warning, not an error). */
const FAMILY: Record<string, string> = {
  text: "text", varchar: "text", bpchar: "text", citext: "text", name: "text",
  int2: "number", int4: "number", int8: "number", float4: "number", float8: "number", numeric: "number",
  json: "json", jsonb: "json",
  timestamp: "timestamp", timestamptz: "timestamp",
  time: "time", timetz: "time",
};

export function expectedType(pgType: string): { type: string; dims: number } {
  const dims = (pgType.match(/\[\]/g) ?? []).length;
  const base = pgType.replace(/\[\]/g, "").replace(/\(.*\)$/, "").trim().toLowerCase();
  return { type: TYPNAME[base] ?? base, dims };
}

const show = (c: { type: string; dims?: number }) => `${c.type}${"[]".repeat(c.dims ?? 0)}`;

export function checkColumns(entity: Entity, schema: Record<string, ShapeColumn>, where: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const loc = { file: where };
  const spec = new Set(entity.fields.map((f) => f.name));
  const extra = Object.keys(schema).filter((c) => !spec.has(c));
  for (const field of entity.syncedFields) {
    const column = schema[field.name];
    if (!column) {
      out.push(
        error(
          "doctor/shape-column-missing",
          `${entity.table}: the shape has no column "${field.name}" (the spec's ${entity.names.original}.${field.name}, ${field.pgType})${extra.length ? `; columns the spec does not know: ${extra.join(", ")}` : ""}.`,
          loc,
          `Name the column exactly like the spec's property (or rename the property in the spec), and let the shape select it (a proxy's \`columns\` must include it). The client stores what the spec says; a missing column stays NULL on every device.`,
        ),
      );
      continue;
    }
    out.push(...checkType(entity, field, column, loc));
    if (field.required && !field.nullable && !field.isKey && !column.not_null) {
      out.push(
        warning(
          "doctor/shape-column-nullable",
          `${entity.table}.${field.name}: the spec says it is never null (required, not nullable), but the column allows NULL.`,
          loc,
          `Add NOT NULL to the column, or make the property nullable in the spec (type: [${admitsString(field.type) ? "string" : "…"}, 'null']): otherwise the client's types promise a value that can be null.`,
        ),
      );
    }
  }
  for (const field of entity.deviceFields) {
    if (schema[field.name]) {
      out.push(
        warning(
          "doctor/shape-excluded-column",
          `${entity.table}.${field.name} is x-sync-exclude (it lives only on each device), but the shape sends a column of that name to every client.`,
          loc,
          `Leave it out of the shape (your proxy's \`columns\`), or drop x-sync-exclude if the server owns the value.`,
        ),
      );
    }
  }
  const pk = Object.entries(schema)
    .filter(([, c]) => c.pk_index !== undefined)
    .sort(([, a], [, b]) => (a.pk_index ?? 0) - (b.pk_index ?? 0))
    .map(([name]) => name);
  if (pk.length !== 1 || pk[0] !== entity.key) {
    out.push(
      error(
        "doctor/shape-key",
        `${entity.table}: the shape's primary key is ${pk.length ? pk.join(", ") : "missing (no column has pk_index)"}, but the spec's key is "${entity.key}".`,
        loc,
        `Make "${entity.key}" the table's primary key, or name the key the table has with x-sync.key in the spec. Rows are matched by the key: with another one, updates and deletes reach the wrong row or none.`,
      ),
    );
  }
  return out;
}

function checkType(entity: Entity, field: EntityField, column: ShapeColumn, loc: { file: string }): Diagnostic[] {
  const want = expectedType(field.pgType);
  const got = { type: column.type.toLowerCase(), dims: column.dims ?? 0 };
  if (want.type === got.type && want.dims === got.dims) return [];
  const name = `${entity.table}.${field.name}`;
  if (want.type === "jsonb" && want.dims === 0) {
    if (got.type === "json" && got.dims === 0) return [];
    return [
      error(
        "doctor/shape-column-not-json",
        `${name} is an object or array in the spec (stored as jsonb), but the column is ${show(got)}.`,
        loc,
        `Store objects and arrays as jsonb (\`ALTER TABLE ${entity.table} ALTER COLUMN "${field.name}" TYPE jsonb USING to_jsonb("${field.name}")\`): the client parses the column as JSON.`,
      ),
    ];
  }
  const fw = FAMILY[want.type];
  const fg = FAMILY[got.type];
  const compatible = want.dims === got.dims && ((fw !== undefined && fw === fg) || (want.type === "text" && fg !== "json"));
  if (compatible) {
    return [
      warning(
        "doctor/shape-column-type-differs",
        `${name}: the spec maps to ${show(want)}, the column is ${show(got)}; the client reads it, but the two may disagree on range or precision.`,
        loc,
        `Use ${show(want)} for the column, or give the property the format that maps to ${show(got)} (docs/type-mapping.md).`,
      ),
    ];
  }
  return [
    error(
      "doctor/shape-column-type",
      `${name}: the spec says ${printTsType(field.type)} (${show(want)}), but the column is ${show(got)}.`,
      loc,
      `Change the column to ${show(want)}, or the property's type/format in the spec to match the column (docs/type-mapping.md). The client's local table is ${show(want)} and cannot store every ${show(got)} value.`,
    ),
  ];
}
