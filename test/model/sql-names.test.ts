/**
 * The names the local database keeps for itself (templates/partials/sql/shared.eta) are exactly
 * the ones an entity's table may not take: every table, index, sequence and function it creates
 * falls under the reserved prefixes, so no entity's view, `_synced`/`_local` table or function can
 * collide with them.
 */
import { describe, expect, it } from "vitest";
import { entityRelations, tableNameProblem } from "../../src/model/sql-names.js";
import { bookkeepingSql } from "../../src/plan/print/sql.js";
import { BUILTIN_TEMPLATES, LayeredEta } from "../../src/render/templates.js";

// shared.eta prints the names from src/model/sql-names.ts (BOOKKEEPING) through `it.sql`: check the SQL it renders.
const shared = new LayeredEta([BUILTIN_TEMPLATES]).render("partials/sql/shared.eta", { sql: bookkeepingSql() });

describe("reserved table names", () => {
  it("cover every object shared.eta creates (tables, indexes, functions, implicit sequences)", () => {
    const created = [...shared.matchAll(/CREATE (?:TABLE|INDEX|UNIQUE INDEX|OR REPLACE FUNCTION|FUNCTION)(?: IF NOT EXISTS)? "([^"]+)"/g)].map((m) => m[1]!);
    for (const t of ["_sync", "_syncs", "_changes_log"]) expect(tableNameProblem(t), t).toBeDefined();
    expect(created).toEqual(expect.arrayContaining(["_changes", "_sync_feed", "_sync_schema", "_sync_shapes", "_sync_seen_txids", "_sync_acknowledge"]));
    const implicit = ["_changes_seq_seq", "_sync_feed_seq_seq", "_changes_pkey", "_changes_change_id_key", "_sync_seen_txids_pkey"];
    for (const name of [...created, ...implicit]) expect(tableNameProblem(name), name).toBeDefined();
  });

  it("an allowed table's relations never start like a reserved one", () => {
    for (const table of ["changes", "sync", "sync_feed", "x_sync_", "Changes", "_Sync", "_change", "_syn"]) {
      expect(tableNameProblem(table), table).toBeUndefined();
      for (const rel of entityRelations(table)) expect(tableNameProblem(rel), rel).toBeUndefined();
    }
  });
});
