/**
 * What the local database (Postgres in PGlite) can hold as an entity's table and column names.
 * Every name is double-quoted in the generated SQL and no PL/pgSQL variable can clash with a
 * column (templates/partials/sql/objects.eta), so the only names refused are the ones Postgres
 * itself cannot hold and the ones the local database uses for its own bookkeeping.
 */
import type { EntityObjects } from "./types.js";

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

/**
 * The names the local database keeps for itself, in one place: the bookkeeping tables, their
 * sequences, indexes and functions (here), the NOTIFY channels (`CHANNELS`) and the column the view
 * adds (`SYNC_STATUS_COLUMN`); templates/partials/sql/*.eta print them from here through `it.sql`. Each starts with a reserved prefix
 * (test/model/sql-names.test.ts), so no entity's table can take one; every such name the runtime
 * (templates/runtime) uses must be in this list (test/model/description.test.ts, SPEC E3).
 */
export const BOOKKEEPING = {
  /** Every local write, in order (the outbox). */
  changes: "_changes",
  changesRowIndex: "_changes_row",
  changesOpenIndex: "_changes_open",
  changesTxidIndex: "_changes_txid",
  changesStatusChanged: "_changes_status_changed",
  changesSent: "_changes_sent",
  changesNotify: "_changes_notify",
  /** Temporary keys of server-key entities, and the sequence of negative ones. */
  tempKeys: "_sync_temp_keys",
  tempKeySequence: "_sync_temp_key",
  /** The change feed's log and its pruning horizon. */
  feed: "_sync_feed",
  feedHorizon: "_sync_feed_horizon",
  /** An index older versions created (dropped). */
  feedEntityIndex: "_sync_feed_entity",
  feedReset: "_sync_feed_reset",
  /** Schema versions per entity, shape offsets per entity, txids seen per entity. */
  schema: "_sync_schema",
  shapes: "_sync_shapes",
  seenTxids: "_sync_seen_txids",
  acknowledge: "_sync_acknowledge",
  validateChanges: "_sync_validate_changes",
} as const;

/** NOTIFY channels: new changes, a change's status, the change feed, the leading writer's state. */
export const CHANNELS = {
  changes: "_changes",
  changeStatus: "_changes_status",
  feed: "_sync_feed",
  writer: "_sync_writer",
} as const;

/**
 * The SQL objects of one entity besides its view `t`: suffix of each name (`t_synced`, `t_ins`, …),
 * decided here only. The runtime reads the full names from the entity description.
 */
export const ENTITY_OBJECT_SUFFIXES = {
  synced: "_synced",
  local: "_local",
  rebuild: "_rebuild",
  onInsert: "_ins",
  onUpdate: "_upd",
  onDelete: "_del",
  feed: "_feed",
  ack: "_ack",
} as const;

/** The names of an entity's SQL objects (unquoted): the view is the table name itself. */
export function entityObjectNames(table: string): EntityObjects {
  const s = ENTITY_OBJECT_SUFFIXES;
  return {
    view: table,
    synced: table + s.synced,
    local: table + s.local,
    rebuild: table + s.rebuild,
    onInsert: table + s.onInsert,
    onUpdate: table + s.onUpdate,
    onDelete: table + s.onDelete,
    feed: table + s.feed,
    ack: table + s.ack,
  };
}

/** The relations an entity's table name `t` becomes: the view `t`, `t_synced`, `t_local`. */
export function entityRelations(table: string): string[] {
  const names = entityObjectNames(table);
  return [names.view, names.synced, names.local];
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
  if (utf8Length(name) > MAX_IDENTIFIER_BYTES) {
    return { code: "model/column-name-too-long", reason: `it is ${utf8Length(name)} bytes long and Postgres keeps only the first ${MAX_IDENTIFIER_BYTES} of a column name`, hint: "Rename the property in the API to at most 63 bytes (UTF-8)." };
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
  return `${base === "" ? "value" : utf8Length(base) > 40 ? base.slice(0, 40) : base}_value`;
}

/** The length of `text` in UTF-8 bytes (as Buffer.byteLength; a lone surrogate counts 3, as its replacement character). */
export function utf8Length(text: string): number {
  let n = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}
