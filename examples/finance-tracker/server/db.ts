/** PostgreSQL access: the pool, the schema, transactions, and mapping of Postgres errors. */
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { HttpError } from "./problem.js";

export type Db = pg.Pool;
export type Tx = pg.PoolClient;
export type Row = Record<string, unknown>;

const SCHEMA_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), "schema.sql");
/** Arbitrary key of the advisory lock that serialises concurrent schema applications. */
const SCHEMA_LOCK = 0x5f1a7ce;
const DATE_OID = 1082;

export function createPool(databaseUrl: string): Db {
  return new pg.Pool({
    connectionString: databaseUrl,
    max: 10,
    // `date` stays the 'YYYY-MM-DD' string the spec wants (pg would make a local-time Date).
    types: {
      getTypeParser: (oid: number, format?: "text" | "binary") =>
        oid === DATE_OID ? (v: string) => v : pg.types.getTypeParser(oid, format),
    },
  });
}

export async function applySchema(db: Db): Promise<void> {
  const sql = await fs.readFile(SCHEMA_FILE, "utf8");
  await withTransaction(db, async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK]);
    await tx.query(sql);
  });
}

export async function withTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const tx = await db.connect();
  try {
    await tx.query("BEGIN");
    const result = await fn(tx);
    await tx.query("COMMIT");
    return result;
  } catch (err) {
    await tx.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    tx.release();
  }
}

/** The 32-bit xid of the current transaction, as Electric reports it in `headers.txids`. */
export async function currentTxid(tx: Tx): Promise<string> {
  const { rows } = await tx.query<{ txid: string }>("SELECT pg_current_xact_id()::xid::text AS txid");
  const txid = rows[0]?.txid;
  if (!txid) throw new Error("pg_current_xact_id() returned nothing");
  return txid;
}

interface PgError {
  code: string;
  detail?: string;
  constraint?: string;
  column?: string;
  table?: string;
}

function isPgError(err: unknown): err is PgError {
  return err instanceof Error && typeof (err as Partial<PgError>).code === "string";
}

/**
 * Constraint violations become problems; anything else is rethrown.
 * `deleting` tells a dangling reference on insert/update (the client's input, 422) from a row
 * that is still referenced on delete (the state of the server, 409).
 */
export function mapPgError(err: unknown, deleting: boolean): never {
  if (!isPgError(err)) throw err;
  const column = /Key \(([^)]+)\)/.exec(err.detail ?? "")?.[1] ?? err.column ?? checkedColumn(err) ?? "body";
  switch (err.code) {
    case "23505":
      throw new HttpError(409, `A row with this ${column} already exists.`);
    case "23503":
      if (deleting) throw new HttpError(409, `Still referenced: ${err.detail ?? err.constraint ?? "foreign key"}.`);
      throw new HttpError(422, "A referenced row does not exist.", { [column]: ["does not exist"] });
    case "23514":
    case "23502":
    case "22P02":
    case "22003":
    case "22007":
    case "22008":
      throw new HttpError(422, "The database rejected a value.", { [column]: [err.detail ?? err.code] });
    default:
      throw err;
  }
}

/** `<table>_<column>_check`, Postgres' default name of a column's CHECK constraint. */
function checkedColumn(err: PgError): string | undefined {
  const prefix = `${err.table ?? ""}_`;
  const name = err.constraint ?? "";
  return err.table && name.startsWith(prefix) && name.endsWith("_check") ? name.slice(prefix.length, -6) : undefined;
}
