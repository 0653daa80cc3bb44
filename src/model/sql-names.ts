/**
 * What the local database (Postgres in PGlite) can hold as an entity's table and column names.
 * Every name is double-quoted in the generated SQL and no PL/pgSQL variable can clash with a
 * column (templates/partials/sql/objects.eta), so the only names refused are the ones Postgres
 * itself cannot hold and the ones the local database uses for its own bookkeeping.
 */

/** Postgres keeps at most 63 bytes of an identifier (NAMEDATALEN - 1) and silently cuts the rest. */
export const MAX_IDENTIFIER_BYTES = 63;

/** Columns every Postgres table has; a table cannot have another column with one of these names. */
export const SYSTEM_COLUMNS = ["tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"] as const;

/** The column the view adds to every row. */
export const SYNC_STATUS_COLUMN = "_sync_status";

/** Bookkeeping columns of the overlay and the PL/pgSQL variables of the generated functions start with this. */
export const INTERNAL_PREFIX = "_sp_";

/** The dollar-quote tag of generated plpgsql bodies; no name may contain it. */
export const DOLLAR_TAG = "$sp$";

/**
 * The local database's own tables, indexes, sequences and functions start with one of these
 * (templates/partials/sql/shared.eta: `_changes`, `_sync_feed`, `_sync_schema`, `_sync_shapes`,
 * `_sync_seen_txids`, their indexes, `_sync_acknowledge`, ...). An entity's table may not.
 */
export const RESERVED_TABLE_PREFIXES = ["_changes", "_sync"] as const;

/** The relations an entity's table name `t` becomes: the view `t`, `t_synced`, `t_local`. */
export function entityRelations(table: string): string[] {
  return [table, `${table}_synced`, `${table}_local`];
}

export interface NameProblem {
  code: string;
  reason: string;
  hint: string;
}

/** Why a property cannot be a column of the local tables, or undefined when it can. */
export function columnNameProblem(name: string): NameProblem | undefined {
  const rename = `Rename the property in the API (and the server's column), e.g. \`${suggestion(name)}\`.`;
  if (name === "") return { code: "model/invalid-column", reason: "an empty name cannot be a Postgres column", hint: rename };
  if (name.includes("\u0000")) return { code: "model/invalid-column", reason: "a Postgres column name cannot contain a NUL character", hint: rename };
  if ((SYSTEM_COLUMNS as readonly string[]).includes(name)) {
    return { code: "model/reserved-column", reason: `"${name}" is a system column of every Postgres table (${SYSTEM_COLUMNS.join(", ")})`, hint: rename };
  }
  if (name === SYNC_STATUS_COLUMN || name.startsWith(INTERNAL_PREFIX)) {
    return { code: "model/reserved-column", reason: `the local database uses "${SYNC_STATUS_COLUMN}" and names starting with "${INTERNAL_PREFIX}" itself`, hint: rename };
  }
  if (name.includes(DOLLAR_TAG)) return { code: "model/reserved-column", reason: `names containing "${DOLLAR_TAG}" would end the generated PL/pgSQL bodies`, hint: rename };
  if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
    return { code: "model/column-name-too-long", reason: `it is ${Buffer.byteLength(name)} bytes long and Postgres keeps only the first ${MAX_IDENTIFIER_BYTES} of a column name`, hint: "Rename the property in the API to at most 63 bytes (UTF-8)." };
  }
  return undefined;
}

/** Why `table` cannot be an entity's table name, or undefined when it can. */
export function tableNameProblem(table: string): string | undefined {
  if (table === "" || table.includes("\u0000")) return "is not a valid Postgres name";
  const prefix = RESERVED_TABLE_PREFIXES.find((p) => table.startsWith(p));
  if (prefix) return `starts with "${prefix}", which the local database reserves for its own tables and functions`;
  if (table.includes(DOLLAR_TAG)) return `contains "${DOLLAR_TAG}", which would end the generated PL/pgSQL bodies`;
  return undefined;
}

function suggestion(name: string): string {
  const base = name.replace(/\u0000/g, "").replace(/^_+/, "").replace(/\$sp\$/g, "sp");
  return `${base === "" ? "value" : Buffer.byteLength(base) > 40 ? base.slice(0, 40) : base}_value`;
}
