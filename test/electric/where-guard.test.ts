/**
 * The where-clause guard of the shape-server double (params.ts): Postgres evaluates the clause;
 * the guard only keeps it ONE expression inside the parentheses the double puts it in.
 */
import { describe, expect, it } from "vitest";
import { whereProblem } from "../../packages/shape-server/src/params.js";

describe("whereProblem", () => {
  it("accepts single expressions, whatever their literals contain", () => {
    for (const ok of [
      "owner = $1",
      `"Tenant" = 'a) OR (true' AND id > 2`,
      `v = 'it''s; -- not a comment /* nor this */'`,
      `v = E'back\\\\slash \\' quote )'`,
      `v = $tag$ ) ; -- $tag$`,
      `"select" = 'x' AND selected_at IS NULL`,
      `(a = 1 OR (b = 2)) AND c IN (1, 2)`,
    ]) {
      expect(whereProblem(ok), ok).toBeUndefined();
    }
  });

  it("refuses what would leave the parentheses, chain statements, comment out the rest or subquery", () => {
    const cases: [string, RegExp][] = [
      ["id > 1) OR (true", /unbalanced/],
      ["id > 1; DROP TABLE t", /single expression/],
      ["id > 1 -- and the rest", /comments/],
      ["id > 1 /* x */", /comments/],
      ["id IN (SELECT id FROM other)", /subqueries/],
      ["v = 'unterminated", /unterminated string/],
      [`"unterminated = 1`, /unterminated quoted identifier/],
      ["v = $q$ never closed", /unterminated dollar/],
      ["(id > 1", /unbalanced/],
      ["   ", /blank/],
    ];
    for (const [where, problem] of cases) expect(whereProblem(where), where).toMatch(problem);
  });
});
