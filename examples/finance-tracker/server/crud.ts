/**
 * Generic SQL for one resource table. Column names are the (validated) spec property names and
 * are always quoted; values are always parameters. Every statement is limited to one household
 * (`household`, the signed-in user's): a row of another household is not found, a new row gets
 * the user's household whatever the body says, and a reference (`account_id`, …) must name a row
 * of the same household.
 */
import type { Db, Row, Tx } from "./db.js";
import { HttpError } from "./problem.js";
import type { Json } from "./spec.js";

export type Queryable = Db | Tx;

export interface TableOptions {
  table: string;
  /** The table has `write_id` (the resource is synced). */
  writeId: boolean;
  /** The table has `updated_at`, set on every update. */
  updatedAt: boolean;
  /** Columns that reference a row of another table of the household: column → table. */
  references?: Record<string, string>;
}

export interface TableSql {
  list(q: Queryable, household: string): Promise<Row[]>;
  get(q: Queryable, household: string, id: string): Promise<Row | null>;
  insert(tx: Tx, household: string, values: Record<string, Json>, writeId: string | null): Promise<Row>;
  update(tx: Tx, household: string, id: string, values: Record<string, Json>, writeId: string | null): Promise<Row | null>;
  remove(tx: Tx, household: string, id: string, writeId: string | null): Promise<boolean>;
}

export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** jsonb takes JSON text; pg would turn a JS array into a Postgres array literal. */
const param = (v: Json): unknown => (typeof v === "object" && v !== null ? JSON.stringify(v) : v);

/** A referenced row must be one of the household's: else 422, as if it did not exist. */
async function checkReferences(tx: Tx, household: string, values: Record<string, Json>, references: Record<string, string>): Promise<void> {
  for (const [column, target] of Object.entries(references)) {
    const value = values[column];
    if (typeof value !== "string") continue;
    const { rowCount } = await tx.query(`SELECT 1 FROM ${ident(target)} WHERE id = $1 AND household_id = $2`, [value, household]);
    if (!rowCount) throw new HttpError(422, "A referenced row does not exist.", { [column]: ["does not exist"] });
  }
}

export function tableSql({ table, writeId, updatedAt, references = {} }: TableOptions): TableSql {
  const t = ident(table);
  return {
    async list(q, household) {
      return (await q.query<Row>(`SELECT * FROM ${t} WHERE household_id = $1 ORDER BY created_at, id`, [household])).rows;
    },
    async get(q, household, id) {
      return (await q.query<Row>(`SELECT * FROM ${t} WHERE id = $1 AND household_id = $2`, [id, household])).rows[0] ?? null;
    },
    async insert(tx, household, values, wid) {
      await checkReferences(tx, household, values, references);
      const entries = Object.entries(values).filter(([k]) => k !== "household_id");
      const cols = entries.map(([k]) => ident(k));
      const params = entries.map(([, v]) => param(v));
      cols.push("household_id");
      params.push(household);
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
    async update(tx, household, id, values, wid) {
      await checkReferences(tx, household, values, references);
      const params: unknown[] = [id, household];
      const sets = Object.entries(values)
        .filter(([k]) => k !== "household_id")
        .map(([k, v]) => `${ident(k)} = $${params.push(param(v))}`);
      if (writeId) sets.push(`write_id = $${params.push(wid)}`);
      if (updatedAt) sets.push("updated_at = now()");
      // An empty PATCH still writes (and so has a txid) by touching the key.
      if (sets.length === 0) sets.push("id = id");
      const sql = `UPDATE ${t} SET ${sets.join(", ")} WHERE id = $1 AND household_id = $2 RETURNING *`;
      return (await tx.query<Row>(sql, params)).rows[0] ?? null;
    },
    async remove(tx, household, id, wid) {
      // Stamp the change id first: with REPLICA IDENTITY FULL the delete then carries it too.
      if (writeId && wid) await tx.query(`UPDATE ${t} SET write_id = $3 WHERE id = $1 AND household_id = $2`, [id, household, wid]);
      return ((await tx.query(`DELETE FROM ${t} WHERE id = $1 AND household_id = $2`, [id, household])).rowCount ?? 0) > 0;
    },
  };
}
