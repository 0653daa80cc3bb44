import { describe, expect, it } from "vitest";
import { pgType } from "../../src/model/pg-type.js";
import type { Json } from "../../src/spec/parse.js";

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

const doc: Json = {
  components: {
    schemas: {
      Id: { type: "string", format: "uuid" },
      IdAlias: { $ref: "#/components/schemas/Id" },
      Status: { type: "string", enum: ["open", "closed"] },
      Address: { type: "object", properties: { city: { type: "string" } } },
      LoopA: { $ref: "#/components/schemas/LoopB" },
      LoopB: { $ref: "#/components/schemas/LoopA" },
      // Defined through themselves (model/schema-cycle reports them; the type walk must still end).
      SelfAllOf: { allOf: [{ $ref: "#/components/schemas/SelfAllOf" }] },
      AllOfA: { allOf: [{ $ref: "#/components/schemas/AllOfB" }] },
      AllOfB: { allOf: [{ $ref: "#/components/schemas/AllOfA" }] },
      SelfOneOf: { oneOf: [{ $ref: "#/components/schemas/SelfOneOf" }, { type: "null" }] },
    },
  },
};

const cases: [string, { given: Json | undefined; want: string }][] = [
  // The table in the header of src/model/pg-type.ts, row by row.
  ["maps a uuid string to uuid", { given: { type: "string", format: "uuid" }, want: "uuid" }],
  ["maps a date-time string to timestamptz", { given: { type: "string", format: "date-time" }, want: "timestamptz" }],
  ["maps a date string to date", { given: { type: "string", format: "date" }, want: "date" }],
  ["maps a time string to time", { given: { type: "string", format: "time" }, want: "time" }],
  ["maps a decimal string to numeric", { given: { type: "string", format: "decimal" }, want: "numeric" }],
  ["maps a number-formatted string to numeric", { given: { type: "string", format: "number" }, want: "numeric" }],
  ["maps an int64 string to bigint", { given: { type: "string", format: "int64" }, want: "bigint" }],
  ["maps a binary string to bytea", { given: { type: "string", format: "binary" }, want: "bytea" }],
  ["maps a plain string to text", { given: { type: "string" }, want: "text" }],
  ["maps a string of an unknown format to text", { given: { type: "string", format: "email" }, want: "text" }],
  ["maps a string enum to text", { given: { type: "string", enum: ["a", "b"] }, want: "text" }],
  ["maps an int64 integer to bigint", { given: { type: "integer", format: "int64" }, want: "bigint" }],
  ["maps an int32 integer to integer", { given: { type: "integer", format: "int32" }, want: "integer" }],
  ["maps an integer without format to integer", { given: { type: "integer" }, want: "integer" }],
  ["maps a float number to real", { given: { type: "number", format: "float" }, want: "real" }],
  ["maps a double number to double precision", { given: { type: "number", format: "double" }, want: "double precision" }],
  ["maps a number without format to double precision", { given: { type: "number" }, want: "double precision" }],
  ["maps a decimal number to numeric", { given: { type: "number", format: "decimal" }, want: "numeric" }],
  ["maps boolean to boolean", { given: { type: "boolean" }, want: "boolean" }],
  ["maps an array to jsonb", { given: { type: "array", items: { type: "string" } }, want: "jsonb" }],
  ["maps an object to jsonb", { given: { type: "object", properties: { a: { type: "string" } } }, want: "jsonb" }],
  ["maps a oneOf of several types to jsonb", { given: { oneOf: [{ type: "string" }, { type: "integer" }] }, want: "jsonb" }],
  ["maps an anyOf of several types to jsonb", { given: { anyOf: [{ type: "string" }, { type: "integer" }] }, want: "jsonb" }],
  ["maps an allOf of several members to jsonb", { given: { allOf: [ref("Address"), { type: "object" }] }, want: "jsonb" }],
  ["maps an untyped schema to jsonb", { given: {}, want: "jsonb" }],
  ["maps a missing schema to jsonb", { given: undefined, want: "jsonb" }],
  // References
  ["follows a $ref", { given: ref("Id"), want: "uuid" }],
  ["follows a chain of $refs", { given: ref("IdAlias"), want: "uuid" }],
  ["maps a ref to a string enum to text", { given: ref("Status"), want: "text" }],
  ["maps a ref to an object to jsonb", { given: ref("Address"), want: "jsonb" }],
  ["maps a dangling $ref to jsonb", { given: ref("Missing"), want: "jsonb" }],
  ["maps a cyclic $ref chain to jsonb", { given: ref("LoopA"), want: "jsonb" }],
  ["maps a schema that is its own allOf member to jsonb", { given: ref("SelfAllOf"), want: "jsonb" }],
  ["maps an allOf cycle A ↔ B to jsonb", { given: ref("AllOfA"), want: "jsonb" }],
  ["maps a schema that is its own nullable oneOf member to jsonb", { given: ref("SelfOneOf"), want: "jsonb" }],
  ["takes the type of a single-member allOf wrapper", { given: { allOf: [ref("Id")], description: "The owner." }, want: "uuid" }],
  // Nullability never changes the column type
  ["maps a 3.1 nullable uuid to uuid", { given: { type: ["string", "null"], format: "uuid" }, want: "uuid" }],
  ["maps a 3.0 nullable date-time to timestamptz", { given: { type: "string", format: "date-time", nullable: true }, want: "timestamptz" }],
  ["maps oneOf [X, null] to the type of X", { given: { oneOf: [ref("Id"), { type: "null" }] }, want: "uuid" }],
  ["maps anyOf [X, null] to the type of X", { given: { anyOf: [{ type: "integer", format: "int64" }, { type: "null" }] }, want: "bigint" }],
  ["maps oneOf [X, enum [null]] (the 3.0 null idiom) to the type of X", { given: { oneOf: [ref("Id"), { enum: [null] }] }, want: "uuid" }],
  // Enums
  ["maps an untyped string enum to text", { given: { enum: ["a", "b"] }, want: "text" }],
  ["maps an untyped string enum with null to text", { given: { enum: ["a", null] }, want: "text" }],
  ["maps an integer enum to integer", { given: { type: "integer", enum: [1, 2] }, want: "integer" }],
  ["maps an untyped mixed enum to jsonb", { given: { enum: [1, "a"] }, want: "jsonb" }],
  ["maps a multi-type schema to jsonb", { given: { type: ["string", "integer"] }, want: "jsonb" }],
];

describe("pgType", () => {
  for (const [name, { given, want }] of cases) {
    it(name, () => {
      expect(pgType(given, doc)).toBe(want);
    });
  }
});
