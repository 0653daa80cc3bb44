import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it, vi } from "vitest";
import { tsType as typeOf, type TsTypeContext, type Visibility } from "../../src/model/ts-type.js";
import { printTsType } from "../../src/plan/print/typescript.js";

/** The model's type of a schema, printed (src/plan/print/typescript.ts). */
const tsType = (...args: Parameters<typeof typeOf>): string => printTsType(typeOf(...args));
import type { Json } from "../../src/spec/parse.js";
import { TSC } from "../support/project.js";

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

const doc: Json = {
  components: {
    schemas: {
      Contact: { type: "object", properties: { id: { type: "string", readOnly: true }, name: { type: "string" } } },
      Pet: { type: "object", properties: { name: { type: "string" } } },
      Cat: { type: "object", properties: { meow: { type: "boolean" } } },
      Dog: { type: "object", properties: { bark: { type: "boolean" } } },
    },
  },
  // Schemas outside components.schemas: referenced, but never named.
  "x-defs": {
    Inline: { type: "object", properties: { a: { type: "string" } } },
    Loop: { type: "object", properties: { self: { $ref: "#/x-defs/Loop" } } },
  },
};

/** Names of the component schemas; Contact has readOnly properties, so it has a write form. */
const NAMES: Record<string, { name: string; writeName?: string }> = {
  Contact: { name: "Contact", writeName: "ContactWrite" },
  Pet: { name: "Pet" },
  Cat: { name: "Cat" },
  Dog: { name: "Dog" },
};

function context(prefix = "", onUnsupported?: TsTypeContext["onUnsupported"]): TsTypeContext {
  const namespace = prefix.replace(/\.$/, "");
  return { doc, names: { get: (c) => NAMES[c] }, ...(namespace ? { namespace } : {}), ...(onUnsupported ? { onUnsupported } : {}) };
}

interface Case {
  given: Json | undefined;
  visibility?: Visibility;
  prefix?: string;
  want: string;
}

const cases: [string, Case][] = [
  // Strings and their formats
  ["maps a uuid to string", { given: { type: "string", format: "uuid" }, want: "string" }],
  ["maps a date-time to string", { given: { type: "string", format: "date-time" }, want: "string" }],
  ["maps a date to string", { given: { type: "string", format: "date" }, want: "string" }],
  ["maps a decimal string to string", { given: { type: "string", format: "decimal" }, want: "string" }],
  ["maps an email to string", { given: { type: "string", format: "email" }, want: "string" }],
  ["maps binary to Blob", { given: { type: "string", format: "binary" }, want: "Blob" }],
  // Numbers and booleans
  ["maps integer to number", { given: { type: "integer" }, want: "number" }],
  ["maps number to number", { given: { type: "number", format: "double" }, want: "number" }],
  ["maps int64 to number", { given: { type: "integer", format: "int64" }, want: "number" }],
  ["maps boolean to boolean", { given: { type: "boolean" }, want: "boolean" }],
  ["maps the null type to null", { given: { type: "null" }, want: "null" }],
  // Enums and const
  ["maps a string enum to a union of literals", { given: { type: "string", enum: ["a", "b"] }, want: '"a" | "b"' }],
  ["maps a numeric enum to a union of literals", { given: { type: "integer", enum: [1, 2] }, want: "1 | 2" }],
  ["keeps null of an enum as a null literal", { given: { type: ["string", "null"], enum: ["a", null] }, want: '"a" | null' }],
  ["escapes enum values that need it", { given: { enum: ["it's", 'a"b', "*/", "${x}"] }, want: '"it\'s" | "a\\"b" | "*/" | "${x}"' }],
  ["maps a string const to a literal", { given: { const: "x" }, want: '"x"' }],
  ["maps a numeric const to a literal", { given: { const: 5 }, want: "5" }],
  // Arrays
  ["maps an array of strings", { given: { type: "array", items: { type: "string" } }, want: "string[]" }],
  ["parenthesises an array of a union", { given: { type: "array", items: { oneOf: [{ type: "string" }, { type: "number" }] } }, want: "(string | number)[]" }],
  ["parenthesises an array of nullable items", { given: { type: "array", items: { type: ["string", "null"] } }, want: "(string | null)[]" }],
  ["maps an array of named schemas", { given: { type: "array", items: ref("Cat") }, want: "Cat[]" }],
  ["maps prefixItems to an open tuple", { given: { type: "array", prefixItems: [{ type: "string" }, { type: "number" }] }, want: "[string, number, ...unknown[]]" }],
  ["maps prefixItems with items: false to a closed tuple", { given: { type: "array", prefixItems: [{ type: "string" }], items: false }, want: "[string]" }],
  // Objects
  [
    "maps properties with required and optional members, quoting keys",
    { given: { type: "object", required: ["a"], properties: { a: { type: "string" }, "b-c": { type: "number" } } }, want: '{ a: string; "b-c"?: number }' },
  ],
  ["maps additionalProperties: true to a record of unknown", { given: { type: "object", additionalProperties: true }, want: "Record<string, unknown>" }],
  ["maps an additionalProperties schema to a record", { given: { type: "object", additionalProperties: { type: "number" } }, want: "Record<string, number>" }],
  ["maps an object without properties to a record of unknown", { given: { type: "object" }, want: "Record<string, unknown>" }],
  [
    "intersects properties with an additionalProperties record",
    { given: { type: "object", properties: { a: { type: "string" } }, additionalProperties: { type: "number" } }, want: "{ a?: string } & Record<string, number>" },
  ],
  // Composition
  ["maps allOf to an intersection", { given: { allOf: [ref("Cat"), ref("Dog")] }, want: "Cat & Dog" }],
  ["maps oneOf to a union", { given: { oneOf: [ref("Cat"), ref("Dog")] }, want: "Cat | Dog" }],
  ["maps anyOf to a union", { given: { anyOf: [{ type: "string" }, { type: "integer" }] }, want: "string | number" }],
  ["parenthesises an intersection inside a union", { given: { oneOf: [{ allOf: [ref("Cat"), ref("Dog")] }, { type: "string" }] }, want: "(Cat & Dog) | string" }],
  [
    "tags oneOf members with the discriminator mapping",
    {
      given: { oneOf: [ref("Cat"), ref("Dog")], discriminator: { propertyName: "kind", mapping: { cat: "#/components/schemas/Cat", dog: "#/components/schemas/Dog" } } },
      want: '(Cat & { kind: "cat" }) | (Dog & { kind: "dog" })',
    },
  ],
  [
    "tags oneOf members with schema names when the discriminator has no mapping",
    { given: { oneOf: [ref("Cat"), ref("Dog")], discriminator: { propertyName: "pet-type" } }, want: '(Cat & { "pet-type": "Cat" }) | (Dog & { "pet-type": "Dog" })' },
  ],
  // Nullability
  ["adds null for 3.0 nullable", { given: { type: "string", nullable: true }, want: "string | null" }],
  ["adds null for a 3.1 type array", { given: { type: ["string", "null"] }, want: "string | null" }],
  ["adds null for a oneOf with a null member", { given: { oneOf: [ref("Cat"), { type: "null" }] }, want: "Cat | null" }],
  ["adds null after an array type", { given: { type: "array", items: ref("Cat"), nullable: true }, want: "Cat[] | null" }],
  ["maps a multi-type array to a union", { given: { type: ["string", "integer"] }, want: "string | number" }],
  // References and visibility
  ["names a component ref", { given: ref("Contact"), want: "Contact" }],
  ["prefixes a component ref", { given: ref("Contact"), prefix: "T.", want: "T.Contact" }],
  ["names the write form of a component ref in write visibility", { given: ref("Contact"), visibility: "write", want: "ContactWrite" }],
  ["prefixes the write form", { given: ref("Contact"), visibility: "write", prefix: "T.", want: "T.ContactWrite" }],
  ["names the read form when a component has no write form", { given: ref("Pet"), visibility: "write", want: "Pet" }],
  [
    "drops readOnly properties in write visibility",
    { given: { type: "object", properties: { id: { type: "string", readOnly: true }, pw: { type: "string", writeOnly: true } } }, visibility: "write", want: "{ pw?: string }" },
  ],
  [
    "drops writeOnly properties in read visibility",
    { given: { type: "object", properties: { id: { type: "string", readOnly: true }, pw: { type: "string", writeOnly: true } } }, visibility: "read", want: "{ id?: string }" },
  ],
  ["inlines a ref to a non-component location", { given: { $ref: "#/x-defs/Inline" }, want: "{ a?: string }" }],
  ["types a cycle through non-component refs as unknown", { given: { $ref: "#/x-defs/Loop" }, want: "{ self?: unknown }" }],
  // Anything and nothing
  ["maps {} to unknown", { given: {}, want: "unknown" }],
  ["maps true to unknown", { given: true, want: "unknown" }],
  ["maps a missing schema to unknown", { given: undefined, want: "unknown" }],
  ["maps false to never", { given: false, want: "never" }],
];

describe("tsType", () => {
  for (const [name, { given, visibility = "read", prefix = "", want }] of cases) {
    it(name, () => {
      expect(tsType(given, context(prefix), visibility)).toBe(want);
    });
  }

  it("reports a cycle through non-component refs once, at the ref that closes it", () => {
    const onUnsupported = vi.fn();
    tsType({ $ref: "#/x-defs/Loop" }, context("", onUnsupported), "read");
    expect(onUnsupported).toHaveBeenCalledTimes(1);
    expect(onUnsupported.mock.calls[0]![0]).toBe("/x-defs/Loop/properties/self");
  });

  it("does not report refs to named schemas", () => {
    const onUnsupported = vi.fn();
    expect(tsType({ type: "array", items: ref("Contact") }, context("", onUnsupported), "read")).toBe("Contact[]");
    expect(onUnsupported).not.toHaveBeenCalled();
  });
});

describe("tsType output", () => {
  const made: string[] = [];
  afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("compiles under tsc --strict for every case", async () => {
    const declarations = [
      ...Object.values(NAMES).flatMap((n) => [n.name, n.writeName].filter((x): x is string => x !== undefined)).map((n) => `interface ${n} { readonly __brand?: "${n}" }`),
      `declare namespace T { ${Object.values(NAMES)
        .flatMap((n) => [n.name, n.writeName].filter((x): x is string => x !== undefined))
        .map((n) => `interface ${n} { readonly __brand?: "${n}" }`)
        .join(" ")} }`,
    ];
    const aliases = cases.map(([name, c], i) => `/** ${name} */\nexport type T${i} = ${tsType(c.given, context(c.prefix ?? ""), c.visibility ?? "read")};`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-ts-type-"));
    made.push(dir);
    const file = path.join(dir, "types.ts");
    fs.writeFileSync(file, [...declarations, ...aliases].join("\n") + "\n");
    const r = await execa("node", [TSC, "--noEmit", "--strict", "--target", "ES2022", "--lib", "ES2022,DOM", file], { cwd: dir, reject: false });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
  });
});
