import { describe, expect, it } from "vitest";
import {
  camelCase,
  isIdentifier,
  kebabCase,
  NameRegistry,
  pascalCase,
  pluralOf,
  safeIdentifier,
  safeTypeName,
  singularOf,
  snakeCase,
} from "../../src/model/naming.js";
import { sqlIdentifier } from "../../src/plan/print/sql.js";
import { docComment, printKey } from "../../src/plan/print/typescript.js";

describe("case conversion", () => {
  const cases: [string, { given: string; want: { pascal: string; camel: string; snake: string; kebab: string } }][] = [
    ["splits snake_case", { given: "first_name", want: { pascal: "FirstName", camel: "firstName", snake: "first_name", kebab: "first-name" } }],
    ["treats an acronym as one word", { given: "HTTPServer", want: { pascal: "HttpServer", camel: "httpServer", snake: "http_server", kebab: "http-server" } }],
    ["splits an acronym in the middle", { given: "getHTTPResponse", want: { pascal: "GetHttpResponse", camel: "getHttpResponse", snake: "get_http_response", kebab: "get-http-response" } }],
    ["splits kebab-case", { given: "user-id", want: { pascal: "UserId", camel: "userId", snake: "user_id", kebab: "user-id" } }],
    ["prefixes identifiers starting with a digit", { given: "123abc", want: { pascal: "_123abc", camel: "_123abc", snake: "_123abc", kebab: "123abc" } }],
    ["keeps non-ASCII letters", { given: "café", want: { pascal: "Café", camel: "café", snake: "café", kebab: "café" } }],
    ["collapses runs of separators", { given: "  order -- line__item ", want: { pascal: "OrderLineItem", camel: "orderLineItem", snake: "order_line_item", kebab: "order-line-item" } }],
    ["names an empty input", { given: "", want: { pascal: "Unnamed", camel: "unnamed", snake: "unnamed", kebab: "unnamed" } }],
    ["names an input of only punctuation", { given: "--/--", want: { pascal: "Unnamed", camel: "unnamed", snake: "unnamed", kebab: "unnamed" } }],
  ];
  it.each(cases)("%s", (_name, { given, want }) => {
    const got = { pascal: pascalCase(given), camel: camelCase(given), snake: snakeCase(given), kebab: kebabCase(given) };
    expect(got).toEqual(want);
    expect(isIdentifier(got.pascal)).toBe(true);
    expect(isIdentifier(got.camel)).toBe(true);
  });
});

describe("plural and singular", () => {
  // Each pair is checked both ways: pluralOf(singular) and singularOf(plural).
  const cases: [string, { given: { singular: string; plural: string } }][] = [
    ["adds s", { given: { singular: "contact", plural: "contacts" } }],
    ["turns consonant + y into ies", { given: { singular: "category", plural: "categories" } }],
    ["adds es after ss", { given: { singular: "address", plural: "addresses" } }],
    ["adds es after x", { given: { singular: "box", plural: "boxes" } }],
    ["adds es after us", { given: { singular: "status", plural: "statuses" } }],
    ["knows irregular plurals", { given: { singular: "person", plural: "people" } }],
    ["inflects only the last word", { given: { singular: "line_item", plural: "line_items" } }],
    ["keeps uncountable words", { given: { singular: "metadata", plural: "metadata" } }],
    // From the pluralize library (the hand-written rules said "siz", "movy" and "matrixes"):
    ["drops only the s of a word ending in ze", { given: { singular: "size", plural: "sizes" } }],
    ["turns vowel + ie + s into ie", { given: { singular: "movie", plural: "movies" } }],
    ["knows Latin plurals", { given: { singular: "matrix", plural: "matrices" } }],
    ["inflects an all-caps word as a whole", { given: { singular: "ERROR", plural: "ERRORS" } }],
    // House exception: a resource needs distinct singular and plural names (pluralize: uncountable).
    ["gives media a distinct plural", { given: { singular: "media", plural: "medias" } }],
  ];
  for (const [name, { given }] of cases) {
    it(`${name}: ${given.singular} → ${given.plural}`, () => {
      expect(pluralOf(given.singular)).toBe(given.plural);
    });
    it(`${name}: ${given.plural} → ${given.singular}`, () => {
      expect(singularOf(given.plural)).toBe(given.singular);
    });
  }

  const alreadySingular: [string, { given: string; want: string }][] = [
    ["keeps a singular word ending in us", { given: "status", want: "status" }],
    ["keeps a singular word ending in ss", { given: "address", want: "address" }],
    ["keeps a singular word ending in is", { given: "analysis", want: "analysis" }],
  ];
  it.each(alreadySingular)("%s", (_name, { given, want }) => {
    expect(singularOf(given)).toBe(want);
  });
});

describe("reserved words", () => {
  const cases: [string, { given: string; want: { identifier: string; typeName: string } }][] = [
    ["suffixes the keyword delete", { given: "delete", want: { identifier: "delete_", typeName: "delete_" } }],
    ["suffixes the keyword default", { given: "default", want: { identifier: "default_", typeName: "default_" } }],
    ["suffixes the type keyword type", { given: "type", want: { identifier: "type_", typeName: "type_" } }],
    ["renames a type that shadows Record", { given: "Record", want: { identifier: "Record", typeName: "RecordSchema" } }],
    ["renames a type that shadows Promise", { given: "Promise", want: { identifier: "Promise", typeName: "PromiseSchema" } }],
    ["keeps an ordinary name", { given: "contact", want: { identifier: "contact", typeName: "contact" } }],
  ];
  it.each(cases)("%s", (_name, { given, want }) => {
    expect({ identifier: safeIdentifier(given), typeName: safeTypeName(given) }).toEqual(want);
  });
});

describe("printKey", () => {
  const cases: [string, { given: string; want: "bare" | "quoted" }][] = [
    ["leaves an identifier bare", { given: "first_name", want: "bare" }],
    ["leaves $ and _ identifiers bare", { given: "$_x1", want: "bare" }],
    ["quotes a dash", { given: "first-name", want: "quoted" }],
    ["quotes and escapes double quotes", { given: '"quoted"', want: "quoted" }],
    ["quotes a backtick", { given: "`", want: "quoted" }],
    ["quotes a template placeholder", { given: "${x}", want: "quoted" }],
    ["quotes a comment terminator", { given: "*/", want: "quoted" }],
    ["quotes a backslash", { given: "a\\b", want: "quoted" }],
    ["quotes a leading digit", { given: "1st", want: "quoted" }],
    ["quotes the empty name", { given: "", want: "quoted" }],
  ];
  it.each(cases)("%s", (_name, { given, want }) => {
    const key = printKey(given);
    if (want === "bare") {
      expect(key).toBe(given);
    } else {
      expect(key.startsWith('"') && key.endsWith('"')).toBe(true);
      expect(JSON.parse(key)).toBe(given);
    }
  });
});

describe("sqlIdentifier", () => {
  const cases: [string, { given: string; want: string }][] = [
    ["quotes a reserved word", { given: "order", want: '"order"' }],
    ["doubles embedded quotes", { given: 'a"b', want: '"a""b"' }],
    ["keeps spaces inside the quotes", { given: "line item", want: '"line item"' }],
    ["drops NUL characters", { given: "a\u0000b", want: '"ab"' }],
  ];
  it.each(cases)("%s", (_name, { given, want }) => {
    expect(sqlIdentifier(given)).toBe(want);
  });
});

describe("docComment", () => {
  const cases: [string, { given: (string | undefined)[]; want: string[] }][] = [
    ["escapes a comment terminator", { given: ["ends */ here"], want: ["ends *\\/ here"] }],
    ["escapes repeated terminators", { given: ["*/*/"], want: ["*\\/*\\/"] }],
    ["splits on LF and CRLF", { given: ["one\ntwo\r\nthree"], want: ["one", "two", "three"] }],
    ["replaces a lone CR", { given: ["a\rb"], want: ["a b"] }],
    ["replaces Unicode line and paragraph separators", { given: ["a\u2028b\u2029c"], want: ["a b c"] }],
    ["replaces control characters", { given: ["a\u0000b\u001bc"], want: ["a b c"] }],
    ["drops trailing blank lines and trailing spaces", { given: ["text  \n\n\n"], want: ["text"] }],
    ["skips undefined and empty texts", { given: [undefined, "", "kept"], want: ["kept"] }],
    ["joins several texts as separate lines", { given: ["Title", "Description"], want: ["Title", "Description"] }],
  ];
  it.each(cases)("%s", (_name, { given, want }) => {
    const lines = docComment(...given);
    expect(lines).toEqual(want);
    for (const line of lines) {
      expect(line).not.toContain("*/");
      expect(line).not.toMatch(/[\n\r\u2028\u2029]/);
    }
  });
});

describe("NameRegistry", () => {
  const cases: [string, { given: { caseInsensitive: boolean; claims: string[] }; want: { name: string; collidedWith?: string }[] }][] = [
    [
      "numbers later claims of a case-insensitive duplicate, naming the first owner",
      { given: { caseInsensitive: true, claims: ["User", "user", "USER"] }, want: [{ name: "User" }, { name: "user2", collidedWith: "User" }, { name: "USER3", collidedWith: "User" }] },
    ],
    [
      "keeps names that differ only in case when case-sensitive",
      { given: { caseInsensitive: false, claims: ["User", "user"] }, want: [{ name: "User" }, { name: "user" }] },
    ],
    [
      "skips a numbered name that is already taken",
      { given: { caseInsensitive: false, claims: ["item2", "item", "item"] }, want: [{ name: "item2" }, { name: "item" }, { name: "item3", collidedWith: "item" }] },
    ],
  ];
  it.each(cases)("%s", (_name, { given, want }) => {
    const registry = new NameRegistry(given.caseInsensitive);
    expect(given.claims.map((n) => registry.claim(n, n))).toEqual(want);
  });
});
