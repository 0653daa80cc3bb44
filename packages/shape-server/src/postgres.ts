/**
 * The queries the shape server runs against Postgres (apart from the replication slot, see
 * replication.ts): table metadata for the schema header, REPLICA IDENTITY, and snapshots.
 */
import pg from "pg";
import type { Relation } from "./changes.js";
import type { RowValues, SchemaColumn, ShapeSchema } from "./protocol.js";

/**
 * Session settings for every connection, so that values are rendered exactly as Electric
 * renders them (`Electric.Postgres.display_settings`). They also apply to the output of
 * logical decoding: pgoutput runs the output functions in the replication session.
 */
export const DISPLAY_SETTINGS: Record<string, string> = {
  DateStyle: "ISO, DMY",
  TimeZone: "UTC",
  IntervalStyle: "iso_8601",
  extra_float_digits: "1",
  bytea_output: "hex",
};

/** The `options` connection parameter that sets DISPLAY_SETTINGS at connect time. */
export const DISPLAY_OPTIONS = Object.entries(DISPLAY_SETTINGS)
  .map(([k, v]) => `-c ${k}=${v.replaceAll(" ", "\\ ")}`)
  .join(" ");

export const quoteIdent = (s: string): string => `"${s.replaceAll('"', '""')}"`;
export const qualified = (r: Relation): string => `${quoteIdent(r[0])}.${quoteIdent(r[1])}`;

export interface ColumnInfo {
  name: string;
  /** pg_type.typname of the column, or of the element for arrays with attndims > 0. */
  type: string;
  dims: number;
  typmod: number;
  notNull: boolean;
  /** 0-based position in the primary key, if part of it. */
  pkIndex: number | undefined;
  /** `format_type(atttypid, atttypmod)`, to cast text values back to the column's type. */
  sqlType: string;
}

export interface TableInfo {
  oid: number;
  relation: Relation;
  /** In attnum order, without dropped and system columns. */
  columns: ColumnInfo[];
  /** Primary key column names in key order; empty when the table has none. */
  primaryKey: string[];
  replicaIdentity: "default" | "full" | "nothing" | "index";
}

export class TableNotFoundError extends Error {
  override name = "TableNotFoundError";
}

export async function loadTable(db: pg.Pool | pg.PoolClient, relation: Relation): Promise<TableInfo> {
  const rel = await db.query<{ oid: number; relreplident: string }>(
    `SELECT c.oid::int AS oid, c.relreplident::text AS relreplident
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    relation,
  );
  const row = rel.rows[0];
  if (!row) throw new TableNotFoundError(`table ${qualified(relation)} does not exist`);
  // The same columns Electric's inspector reads (direct_inspector.ex).
  const cols = await db.query<{
    name: string;
    type: string;
    elem_type: string | null;
    dims: number;
    typmod: number;
    not_null: boolean;
    pk_position: number | null;
    sql_type: string;
  }>(
    `SELECT a.attname AS name, t.typname AS type, format_type(a.atttypid, a.atttypmod) AS sql_type, et.typname AS elem_type, a.attndims::int AS dims,
            a.atttypmod AS typmod, a.attnotnull AS not_null,
            array_position(i.indkey, a.attnum) AS pk_position
       FROM pg_attribute a
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
       LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [row.oid],
  );
  const columns: ColumnInfo[] = cols.rows.map((c) => ({
    name: c.name,
    type: c.dims > 0 && c.elem_type ? c.elem_type : c.type,
    dims: c.dims,
    typmod: c.typmod,
    notNull: c.not_null,
    pkIndex: c.pk_position ?? undefined,
    sqlType: c.sql_type,
  }));
  const primaryKey = columns
    .filter((c) => c.pkIndex !== undefined)
    .sort((a, b) => (a.pkIndex ?? 0) - (b.pkIndex ?? 0))
    .map((c) => c.name);
  const identities = { d: "default", f: "full", n: "nothing", i: "index" } as const;
  return {
    oid: row.oid,
    relation,
    columns,
    primaryKey,
    replicaIdentity: identities[row.relreplident as keyof typeof identities] ?? "default",
  };
}

/**
 * Real Electric sets REPLICA IDENTITY FULL on the tables it serves, so that updates and deletes
 * carry the old row (for changed columns, `old_value`, and unchanged TOASTed values).
 */
export async function ensureReplicaIdentityFull(db: pg.Pool, table: TableInfo): Promise<void> {
  if (table.replicaIdentity === "full") return;
  await db.query(`ALTER TABLE ${qualified(table.relation)} REPLICA IDENTITY FULL`);
  table.replicaIdentity = "full";
}

const TIME_TYPES = new Set(["time", "timetz", "timestamp", "timestamptz", "date"]);
const INTERVAL_UNITS: [string, number][] = [
  ["YEAR", 1 << 2],
  ["MONTH", 1 << 1],
  ["DAY", 1 << 3],
  ["HOUR", 1 << 10],
  ["MINUTE", 1 << 11],
  ["SECOND", 1 << 12],
];

/** One column of the schema header, clause for clause as Electric's `Electric.Schema`. */
export function schemaColumn(c: ColumnInfo): SchemaColumn {
  const s: SchemaColumn = { type: c.type };
  if (c.dims > 0) s.dims = c.dims;
  if (c.pkIndex !== undefined) s.pk_index = c.pkIndex;
  if (c.notNull) s.not_null = true;
  const mod = c.typmod;
  if (mod > 0 && (c.type === "varchar" || c.type === "text")) s.max_length = mod - 4;
  else if (mod > 0 && c.type === "bpchar") s.length = mod - 4;
  else if (c.type === "bit" || c.type === "varbit") s.length = mod;
  else if (c.type === "interval" && mod > -1) {
    const range = (mod >> 16) & 0xffff;
    const precision = (mod << 16) >> 16;
    if (range !== 0x7fff) {
      const units = INTERVAL_UNITS.filter(([, mask]) => (range & mask) > 0).map(([u]) => u);
      if (units.length > 0) s.fields = units.length === 1 ? (units[0] as string) : `${units[0]} TO ${units.at(-1)}`;
    }
    if (precision !== -1) s.precision = precision;
  } else if (mod > 0 && TIME_TYPES.has(c.type)) s.precision = mod;
  else if (c.type === "numeric" && mod > -1) {
    s.precision = ((mod - 4) >> 16) & 0xffff;
    s.scale = ((mod - 4) << 16) >> 16;
  } else if (mod > -1) s.type_mod = mod;
  return s;
}

export function shapeSchema(table: TableInfo, columns: readonly string[]): ShapeSchema {
  const schema: ShapeSchema = {};
  for (const c of table.columns) if (columns.includes(c.name)) schema[c.name] = schemaColumn(c);
  return schema;
}

/** A snapshot as `pg_current_snapshot()` gives it (64-bit xids). */
export interface PgSnapshot {
  xmin: bigint;
  xmax: bigint;
  xip: bigint[];
  text: string;
}

export function parseSnapshot(text: string): PgSnapshot {
  const [xmin, xmax, xip] = text.split(":");
  return {
    xmin: BigInt(xmin ?? "0"),
    xmax: BigInt(xmax ?? "0"),
    xip: xip ? xip.split(",").map((x) => BigInt(x)) : [],
    text,
  };
}

/**
 * Whether a transaction's effects are in the snapshot (`pg_visible_in_snapshot`). The
 * transaction id is the 32-bit one from decoding; it is widened to 64 bits next to the
 * snapshot's xmax (within ±2^31), so epochs after a wraparound are handled.
 */
export function visibleInSnapshot(xid32: number, snap: PgSnapshot): boolean {
  const base = snap.xmax;
  const low = Number(base & 0xffffffffn);
  let diff = (xid32 - low) | 0; // signed 32-bit distance
  if (diff > 0x7fffffff) diff -= 0x100000000;
  const xid = base + BigInt(diff);
  if (xid < snap.xmin) return true;
  if (xid >= snap.xmax) return false;
  return !snap.xip.includes(xid);
}

export interface SnapshotResult {
  snapshot: PgSnapshot;
  /** `pg_current_wal_lsn()` inside the snapshot transaction, as a number. */
  lsn: bigint;
  table: TableInfo;
  /** Text values of the selected columns (`col::text`, bpchar padding kept), in table order. */
  rows: RowValues[];
  /** 32-bit xids of the transactions running when the snapshot was taken (pg_stat_activity). */
  running: number[];
}

/**
 * Reads the table's rows in a REPEATABLE READ, READ ONLY transaction and records that
 * transaction's snapshot (xmin, xmax, in-progress xids), as Electric does
 * (`Electric.Postgres.SnapshotQuery`). Which decoded transactions a shape's log then takes is
 * decided by visibility in that snapshot; see shapes.ts.
 */
export async function takeSnapshot(
  db: pg.Pool,
  relation: Relation,
  columns?: readonly string[],
  filter?: RowFilter,
): Promise<SnapshotResult> {
  const client = await db.connect();
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    // The first statement fixes the transaction snapshot; pg_current_snapshot() is that snapshot.
    const snap = await client.query<{ snapshot: string; lsn: string; running: string[] | null }>(
      `SELECT pg_current_snapshot()::text AS snapshot, (pg_current_wal_lsn() - '0/0')::text AS lsn,
              (SELECT array_agg(backend_xid::text) FROM pg_stat_activity WHERE backend_xid IS NOT NULL) AS running`,
    );
    const table = await loadTable(client, relation);
    const selected = columns ?? table.columns.map((c) => c.name);
    const exprs = table.columns
      .filter((c) => selected.includes(c.name))
      .map((c) => {
        const col = quoteIdent(c.name);
        // ::text trims bpchar padding; concat() keeps it (as Electric's querying.ex does).
        return c.type === "bpchar" && c.dims === 0 ? `concat(${col}, '')` : `${col}::text`;
      });
    const names = table.columns.filter((c) => selected.includes(c.name)).map((c) => c.name);
    const result = exprs.length
      ? await client.query<string[]>({
          text: `SELECT ${exprs.map((e, i) => `CASE WHEN ${quoteIdent(names[i] as string)} IS NULL THEN NULL ELSE ${e} END`).join(", ")} FROM ${qualified(relation)}${filter ? ` WHERE (${filter.where})` : ""}`,
          values: filter?.params ?? [],
          rowMode: "array",
        })
      : { rows: [] as string[][] };
    await client.query("COMMIT");
    const rows = result.rows.map((r) => {
      const values: RowValues = {};
      names.forEach((n, i) => (values[n] = (r[i] as string | null | undefined) ?? null));
      return values;
    });
    const first = snap.rows[0];
    if (!first) throw new Error("no snapshot row");
    return { snapshot: parseSnapshot(first.snapshot), lsn: BigInt(first.lsn), table, rows, running: (first.running ?? []).map(Number) };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** A shape's where clause (Postgres SQL, `$1`… for its params) and the params' values. */
export interface RowFilter {
  where: string;
  params: string[];
}

/**
 * Whether each row (text values of ALL the table's columns, as decoded) satisfies the where
 * clause: Postgres evaluates it, on the rows cast back to the columns' types, in a derived table
 * named like the table (so `t.col` works as well as `col`). One query for all the rows.
 */
export async function evaluateWhere(db: pg.Pool, table: TableInfo, filter: RowFilter, rows: readonly RowValues[]): Promise<boolean[]> {
  if (rows.length === 0) return [];
  const json = `$${filter.params.length + 1}`;
  const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;
  const cols = table.columns.map((c) => `(x.r ->> ${literal(c.name)})::${c.sqlType} AS ${quoteIdent(c.name)}`);
  const r = await db.query<{ ok: boolean }>({
    text: `SELECT (${filter.where}) IS TRUE AS ok
             FROM (SELECT x."_sp_ord", ${cols.join(", ")}
                     FROM json_array_elements(${json}::json) WITH ORDINALITY AS x(r, "_sp_ord")) AS ${quoteIdent(table.relation[1])}
            ORDER BY "_sp_ord"`,
    values: [...filter.params, JSON.stringify(rows)],
  });
  return r.rows.map((row) => row.ok);
}

/** Checks that a where clause is valid for the table (Postgres plans it with the params bound). */
export async function checkWhere(db: pg.Pool, relation: Relation, filter: RowFilter): Promise<string | undefined> {
  try {
    await db.query({ text: `SELECT 1 FROM ${qualified(relation)} WHERE (${filter.where}) LIMIT 0`, values: filter.params });
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
