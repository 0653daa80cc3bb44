/**
 * Properties of the naming and quoting functions, over arbitrary unicode input:
 *  1. printKey(s) is a bare identifier or a JSON string literal that reads back as s.
 *  2. sqlIdentifier(s) is one double-quoted identifier: undoubling its quotes gives s (minus NUL).
 *  3. sqlString(s) is one single-quoted literal: undoubling gives s (minus NUL).
 *  4. docComment never contains a comment terminator or a line break inside a line.
 *  5. pascalCase / camelCase / safeIdentifier / safeTypeName produce valid identifiers, never reserved words.
 *  6. kebabCase (file names) never contains a path separator, `..` or a dot.
 *  7. NameRegistry never hands out the same name twice.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { camelCase, isReservedWord, kebabCase, NameRegistry, pascalCase, safeIdentifier, safeTypeName } from "../../src/model/naming.js";
import { sqlIdentifier, sqlString } from "../../src/plan/print/sql.js";
import { docComment, printKey } from "../../src/plan/print/typescript.js";

// A fixed seed keeps CI deterministic; set FC_SEED to explore other inputs.
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261124), numRuns: 1000 });

const anyText = fc.string({ unit: "binary", maxLength: 40 });
// ECMAScript identifiers: ID_Start (letters, letter numbers), then ID_Continue (also combining marks,
// decimal digits, connector punctuation, ZWNJ/ZWJ).
const IDENT = /^[\p{L}\p{Nl}_$][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}_$\u200C\u200D]*$/u;

describe("naming and quoting properties", () => {
  it("1. property keys are identifiers or JSON literals that round-trip", () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const key = printKey(s);
        if (key.startsWith('"')) expect(JSON.parse(key)).toBe(s);
        else expect(key).toBe(s);
      }),
    );
  });

  it("2. SQL identifiers are one quoted identifier", () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const q = sqlIdentifier(s);
        expect(q.startsWith('"') && q.endsWith('"')).toBe(true);
        const inner = q.slice(1, -1);
        expect(inner.replace(/""/g, "")).not.toContain('"');
        expect(inner.replace(/""/g, '"')).toBe(s.replace(/\u0000/g, ""));
      }),
    );
  });

  it("3. SQL strings are one quoted literal", () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const q = sqlString(s);
        const inner = q.slice(1, -1);
        expect(inner.replace(/''/g, "")).not.toContain("'");
        expect(inner.replace(/''/g, "'")).toBe(s.replace(/\u0000/g, ""));
      }),
    );
  });

  it("4. doc comments cannot be closed from inside", () => {
    fc.assert(
      fc.property(anyText, anyText, (a, b) => {
        for (const line of docComment(a, b)) {
          expect(line).not.toContain("*/");
          expect(line).not.toMatch(/[\r\n\u2028\u2029]/);
        }
      }),
    );
  });

  it("5. generated identifiers are valid and never reserved", () => {
    fc.assert(
      fc.property(anyText, (s) => {
        for (const name of [safeIdentifier(camelCase(s)), safeTypeName(pascalCase(s))]) {
          expect(name).toMatch(IDENT);
          expect(isReservedWord(name)).toBe(false);
        }
      }),
    );
  });

  it("6. file names cannot leave their folder", () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.constantFrom("../../x", "..", "a/b", "C:\\x", ".hidden")), (s) => {
        const f = kebabCase(s);
        expect(f).not.toMatch(/[\\/.]/);
        expect(f.length).toBeGreaterThan(0);
      }),
    );
  });

  it("7. the registry never hands out a name twice", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 6 }), { maxLength: 30 }), fc.boolean(), (wanted, caseInsensitive) => {
        const registry = new NameRegistry(caseInsensitive);
        const given = wanted.map((w, i) => registry.claim(w, String(i)).name);
        const norm = given.map((g) => (caseInsensitive ? g.toLowerCase() : g));
        expect(new Set(norm).size).toBe(norm.length);
      }),
    );
  });
});
