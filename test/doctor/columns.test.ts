/**
 * doctor's comparison of a shape's `electric-schema` with the spec's entity (pure): each kind of
 * mismatch has its own code; what the example backend's tables send passes.
 */
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { checkColumns } from "../../src/doctor/columns.js";
import type { ShapeColumn } from "../../src/doctor/shape.js";
import { buildModel } from "../../src/model/build.js";
import type { Entity } from "../../src/model/types.js";
import { loadSpec } from "../../src/spec/load.js";

const REPO = path.resolve(import.meta.dirname, "../..");
let entities: Entity[];

beforeAll(async () => {
  const loaded = await loadSpec("examples/finance-tracker/openapi.yaml", REPO);
  if (!loaded.ok) throw new Error("example spec does not load");
  const model = buildModel({ document: loaded.value.document, locate: loaded.value.locate, configFile: "sync-patterns.config.yaml" });
  if (!model.ok) throw new Error("example spec does not build");
  entities = model.value.entities;
});

const entity = (name: string) => entities.find((e) => e.names.original === name)!;

/** The transactions table as the example's schema.sql declares it (as the shape double reports it). */
const transactions = (): Record<string, ShapeColumn> => ({
  id: { type: "uuid", pk_index: 0, not_null: true },
  household_id: { type: "uuid" },
  account_id: { type: "uuid", not_null: true },
  category_id: { type: "uuid" },
  amount: { type: "numeric", not_null: true },
  occurred_on: { type: "date", not_null: true },
  description: { type: "text" },
  tags: { type: "jsonb" },
  metadata: { type: "jsonb" },
  created_at: { type: "timestamptz", not_null: true },
  write_id: { type: "uuid" },
});

const codes = (schema: Record<string, ShapeColumn>, name = "transaction") => checkColumns(entity(name), schema, "shape").map((d) => `${d.severity} ${d.code}`);

describe("shape columns against the spec", () => {
  it("the example's table passes", () => {
    expect(codes(transactions())).toEqual([]);
  });

  it("an array or object not stored as jsonb is an error; json is fine", () => {
    expect(codes({ ...transactions(), tags: { type: "text", dims: 1 } })).toEqual(["error doctor/shape-column-not-json"]);
    expect(codes({ ...transactions(), metadata: { type: "json" } })).toEqual([]);
  });

  it("another type family is an error; a width within the family a warning", () => {
    expect(codes({ ...transactions(), amount: { type: "text", not_null: true } })).toEqual(["error doctor/shape-column-type"]);
    expect(codes({ ...transactions(), amount: { type: "float8", not_null: true } })).toEqual(["warning doctor/shape-column-type-differs"]);
    expect(codes({ ...transactions(), description: { type: "varchar", max_length: 200 } })).toEqual(["warning doctor/shape-column-type-differs"]);
  });

  it("a column the spec says is never null but the table allows NULL is a warning", () => {
    expect(codes({ ...transactions(), occurred_on: { type: "date" } })).toEqual(["warning doctor/shape-column-nullable"]);
  });

  it("another primary key, or none, is an error", () => {
    const s = transactions();
    expect(codes({ ...s, id: { type: "uuid", not_null: true }, account_id: { type: "uuid", pk_index: 0, not_null: true } })).toEqual(["error doctor/shape-key"]);
    expect(codes({ ...s, id: { type: "uuid", pk_index: 0, not_null: true }, account_id: { type: "uuid", pk_index: 1, not_null: true } })).toEqual(["error doctor/shape-key"]);
  });

  it("an x-sync-exclude field the shape sends is a warning; a missing column an error that lists the unknown ones", () => {
    const contacts: Record<string, ShapeColumn> = {
      id: { type: "uuid", pk_index: 0, not_null: true },
  household_id: { type: "uuid" },
      first_name: { type: "text", not_null: true },
      last_name: { type: "text", not_null: true },
      email: { type: "text" },
      phone: { type: "text" },
      company: { type: "text" },
      credit_limit: { type: "numeric" },
      created_at: { type: "timestamptz", not_null: true },
      updated_at: { type: "timestamptz", not_null: true },
    };
    expect(codes(contacts, "contact")).toEqual([]);
    expect(codes({ ...contacts, local_notes: { type: "text" } }, "contact")).toEqual(["warning doctor/shape-excluded-column"]);
    const { email, ...renamed } = contacts;
    const found = checkColumns(entity("contact"), { ...renamed, e_mail: email! }, "shape");
    expect(found.map((d) => d.code)).toEqual(["doctor/shape-column-missing"]);
    expect(found[0]!.message).toMatch(/no column "email".*e_mail/);
  });
});
