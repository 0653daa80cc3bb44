/**
 * Generic SQL for one resource table. Column names are the (validated) spec property names and
 * are always quoted; values are always parameters.
 */
import type { Db, Row, Tx } from "./db.js";
import type { Json } from "./spec.js";

export type Queryable = Db | Tx;

export interface TableOptions {
  table: string;
  /** The table has `write_id` (the resource is synced). */
  writeId: boolean;
  /** The table has `updated_at`, set on every update. */
  updatedAt: boolean;
}

export interface TableSql {
  list(q: Queryable): Promise<Row[]>;
  get(q: Queryable, id: string): Promise<Row | null>;
  insert(tx: Tx, values: Record<string, Json>, writeId: string | null): Promise<Row>;
  update(tx: Tx, id: string, values: Record<string, Json>, writeId: string | null): Promise<Row | null>;
  remove(tx: Tx, id: string, writeId: string | null): Promise<boolean>;
}

export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** jsonb takes JSON text; pg would turn a JS array into a Postgres array literal. */
const param = (v: Json): unknown => (typeof v === "object" && v !== null ? JSON.stringify(v) : v);

export function tableSql({ table, writeId, updatedAt }: TableOptions): TableSql {
  const t = ident(table);
  return {
    async list(q) {
      return (await q.query<Row>(`SELECT * FROM ${t} ORDER BY created_at, id`)).rows;
    },
    async get(q, id) {
      return (await q.query<Row>(`SELECT * FROM ${t} WHERE id = $1`, [id])).rows[0] ?? null;
    },
    async insert(tx, values, wid) {
      const entries = Object.entries(values);
      const cols = entries.map(([k]) => ident(k));
      const params = entries.map(([, v]) => param(v));
      if (writeId) {
        cols.push("write_id");
        params.push(wid);
      }
      const placeholders = params.map((_, i) => `$${i + 1}`);
      const sql =
        cols.length > 0
          ? `INSERT INTO ${t} (${cols.join(", ")}) VALUES (${placeholders.join(", ")}) RETURNING *`
          : `INSERT INTO ${t} DEFAULT VALUES RETURNING *`;
      const row = (await tx.query<Row>(sql, params)).rows[0];
      if (!row) throw new Error(`INSERT INTO ${table} returned no row`);
      return row;
    },
    async update(tx, id, values, wid) {
      const params: unknown[] = [id];
      const sets = Object.entries(values).map(([k, v]) => `${ident(k)} = $${params.push(param(v))}`);
      if (writeId) sets.push(`write_id = $${params.push(wid)}`);
      if (updatedAt) sets.push("updated_at = now()");
      // An empty PATCH still writes (and so has a txid) by touching the key.
      if (sets.length === 0) sets.push("id = id");
      const sql = `UPDATE ${t} SET ${sets.join(", ")} WHERE id = $1 RETURNING *`;
      return (await tx.query<Row>(sql, params)).rows[0] ?? null;
    },
    async remove(tx, id, wid) {
      // Stamp the change id first: with REPLICA IDENTITY FULL the delete then carries it too.
      if (writeId && wid) await tx.query(`UPDATE ${t} SET write_id = $2 WHERE id = $1`, [id, wid]);
      return ((await tx.query(`DELETE FROM ${t} WHERE id = $1`, [id])).rowCount ?? 0) > 0;
    },
  };
}
