/**
 * Names and strings from the spec never break or escape generated code or SQL: schema, property,
 * enum and operation names that are reserved words, contain quotes, backticks, `${`, `*\/`,
 * newlines, unicode, or differ only in case; descriptions with `*\/` and `</script>`; a path
 * like `../../x`. The output must compile in strict mode, stay inside its folder, and its SQL
 * must apply and accept writes in PGlite.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateClient } from "../support/generated.js";
import { snapshotTree, typecheck } from "../support/project.js";

const evil = ['it\'s', 'say "hi"', "back`tick", "${process.exit(1)}", "end */ start", "line\nbreak", "naïve café", "order", "user", "delete", "constructor", "__proto__"];

const spec = JSON.stringify({
  openapi: "3.1.0",
  info: { title: "Hostile */ </script> ${x}", version: "1\n2" },
  paths: {
    "/../../x": {
      "x-sync": { local_first: true, table: 'we"ird' },
      get: { operationId: "list */ things", description: "*/ alert(1) /*", responses: { "200": { description: "ok", content: { "application/json": { schema: { type: "array", items: { $ref: "#/components/schemas/Thing" } } } } } } },
      post: { operationId: "delete", requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/Thing" } } } }, responses: { "201": { description: "ok" } } },
    },
    "/../../x/{id}": {
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } }],
      patch: { operationId: "Delete", requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/Thing" } } } }, responses: { "200": { description: "ok" } } },
      delete: { operationId: "${x}", responses: { "204": { description: "ok" } } },
    },
  },
  components: {
    schemas: {
      Thing: {
        type: "object",
        description: "A thing. */ </script> `${x}`",
        required: ["id"],
        properties: Object.fromEntries([
          ["id", { type: "string", format: "uuid" }],
          ...evil.map((name) => [name, { type: "string", description: `desc of ${name} */ </script>` }]),
          ["kind", { type: "string", enum: ["a'b", 'c"d', "e`f", "${g}", "*/", "line\nbreak"] }],
          ["Kind", { type: "integer" }],
        ]),
      },
      thing: { type: "object", properties: { x: { type: "string" } } },
      "Thing.evil-1": { type: "string" },
      Promise: { type: "object", properties: { then: { type: "string" } } },
    },
  },
});

let out: string;
beforeAll(async () => {
  out = await generateClient("hostile-names", spec);
}, 60_000);

describe("hostile names in a spec", () => {
  it("every generated file stays inside the output folder", () => {
    const files = Object.keys(snapshotTree(out));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect(path.resolve(out, f).startsWith(out + path.sep)).toBe(true);
    expect(fs.existsSync(path.join(out, "..", "x"))).toBe(false);
  });

  it("the generated code compiles in strict mode", async () => {
    const result = await typecheck(path.dirname(out));
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  }, 120_000);

  it("the SQL applies and the hostile columns take writes through the view", async () => {
    const init = (await import(`${out}/db/init.ts`)) as { createDatabase(): Promise<{ pg: { query<T>(s: string, p?: unknown[]): Promise<{ rows: T[] }> }; close(): Promise<void> }> };
    const db = await init.createDatabase();
    try {
      const cols = evil.map((c) => `"${c.replace(/"/g, '""')}"`);
      const r = await db.pg.query<{ id: string }>(`INSERT INTO "we""ird" (${cols.join(", ")}) VALUES (${evil.map((_, i) => `$${i + 1}`).join(", ")}) RETURNING id`, evil);
      const row = (await db.pg.query<Record<string, unknown>>(`SELECT * FROM "we""ird" WHERE id = $1`, [r.rows[0]!.id])).rows[0]!;
      for (const c of evil) expect(row[c]).toBe(c);
    } finally {
      await db.close();
    }
  }, 60_000);
});
