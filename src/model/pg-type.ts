/**
 * The one place where a JSON Schema becomes a Postgres column type (for synced entities).
 *
 * | schema                                      | Postgres           |
 * |---------------------------------------------|--------------------|
 * | string, format uuid                         | `uuid`             |
 * | string, format date-time                    | `timestamptz`      |
 * | string, format date / time                  | `date` / `time`    |
 * | string, format decimal or number            | `numeric`          |
 * | string, format int64                        | `bigint`           |
 * | string, format binary                       | `bytea`            |
 * | any other string, string enum               | `text`             |
 * | integer, format int64                       | `bigint`           |
 * | integer (int32 or no format)                | `integer`          |
 * | number, format float                        | `real`             |
 * | number (double or no format)                | `double precision` |
 * | number, format decimal                      | `numeric`          |
 * | boolean                                     | `boolean`          |
 * | array, object, oneOf/anyOf/allOf, unknown   | `jsonb`            |
 */
import { deref, isNullSchema, isObj, schemaTypes, type SchemaObject } from "./schema-walk.js";
import type { Json } from "../spec/parse.js";
import type { Codec } from "./types.js";

/** Every Postgres type a column can get. */
export type PgType = "uuid" | "timestamptz" | "date" | "time" | "numeric" | "bigint" | "bytea" | "text" | "integer" | "real" | "double precision" | "boolean" | "jsonb";

const STRING_FORMATS: Record<string, PgType> = {
  uuid: "uuid",
  "date-time": "timestamptz",
  date: "date",
  time: "time",
  decimal: "numeric",
  number: "numeric",
  int64: "bigint",
  binary: "bytea",
};

export function pgType(schema: Json | undefined, doc: Json, seen = new Set<SchemaObject>()): PgType {
  const s = deref(doc, schema);
  // A schema defined through itself (`A: { allOf: [$ref: A] }`) is reported by schema-cycles.ts; here it ends the walk.
  if (!s || seen.has(s)) return "jsonb";
  seen.add(s);
  // `allOf: [$ref]` wrappers (3.0 idiom for a nullable or documented ref) take the ref's type.
  if (Array.isArray(s.allOf) && s.allOf.length === 1 && !isObj(s.properties)) return pgType(s.allOf[0], doc, seen);
  for (const key of ["oneOf", "anyOf"] as const) {
    const members = s[key];
    if (Array.isArray(members)) {
      const nonNull = members.filter((m) => !isNullSchema(m));
      if (nonNull.length === 1) return pgType(nonNull[0], doc, seen);
      return "jsonb";
    }
  }
  const types = schemaTypes(s);
  if (types.length !== 1) {
    if (types.length === 0 && Array.isArray(s.enum) && s.enum.every((v) => typeof v === "string" || v === null)) return "text";
    return "jsonb";
  }
  const format = typeof s.format === "string" ? s.format : "";
  switch (types[0]) {
    case "string":
      return STRING_FORMATS[format] ?? "text";
    case "integer":
      return format === "int64" ? "bigint" : "integer";
    case "number":
      return format === "float" ? "real" : format === "decimal" ? "numeric" : format === "int64" ? "bigint" : format === "int32" ? "integer" : "double precision";
    case "boolean":
      return "boolean";
    default:
      return "jsonb";
  }
}

/** The runtime codec of each Postgres type `pgType` returns (src/model/types.ts, `Codec`). */
const CODECS: Record<PgType, Codec> = {
  uuid: "uuid",
  timestamptz: "timestamp",
  date: "date",
  time: "time",
  numeric: "numeric",
  bigint: "bigint",
  bytea: "bytes",
  text: "text",
  integer: "int",
  real: "float",
  "double precision": "float",
  boolean: "bool",
  jsonb: "json",
};

/** How the runtime reads and writes values of a column of this Postgres type. */
export function codecOf(pg: PgType): Codec {
  return CODECS[pg];
}
