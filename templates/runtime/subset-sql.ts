/**
 * On-demand loading (TanStack DB's `syncMode: "on-demand"`): what a live query asks of a
 * collection (`where`, `orderBy`, `limit`, a cursor) as SQL on the entity's view. Pure: a request
 * in, one statement out; the collection runs it (pglite-collection.ts). SPEC section D.
 *
 * D1. The rows a statement returns are a superset of the rows the live query needs: what cannot be
 *     said in SQL with the same meaning as TanStack DB's evaluator (an unknown function, a JSON
 *     column, a path into a field) becomes TRUE, never FALSE, and NOT of an inexact part is TRUE.
 * D2. An ordered, limited request is answered with a limit only when the SQL order is the order
 *     TanStack DB sorts by, and the filter is exact; otherwise every row matching the filter loads.
 *     Values are compared as JavaScript sees them: strings in their text form under `COLLATE "C"`
 *     (code point order, what `<` does on strings outside the astral planes), timestamps at the
 *     millisecond (`toISOString()`), uuids and dates natively (their fixed-format text sorts the
 *     same), numbers as numbers. Locale string sorting is pushed down only for fixed-format text
 *     (uuid, date, timestamp), where it equals code point order.
 * D3. A limited request serves a whole prefix: the rows up to the limit and every row tied with
 *     the last one on the first order column (TanStack DB's contract for ordered loads).
 */
import type { IR, LoadSubsetOptions } from "@tanstack/db";
import { quoteIdent, type ColumnDescription, type EntityDescription } from "../db/local-db.js";

type Expression = IR.BasicExpression;

/**
 * What loads a subset: ONE statement on the view, so that its rows are read at one point of the
 * database's history and reach the collection in the order of the reads (a change the feed read
 * after it is applied after it; two reads would let a feed read fall between them, D4).
 */
export interface SubsetPlan {
  sql: string;
  params: unknown[];
  /** Whether the request was pushed down exactly (false: a superset, every row matching the filter). */
  exact: boolean;
}

interface Sql {
  text: string;
  exact: boolean;
}

const TRUE: Sql = { text: "TRUE", exact: false };

/** Codecs whose SQL order is the order of their JavaScript values (numbers, booleans; uuid and date text, which has one fixed format). */
const NATIVE = new Set<ColumnDescription["codec"]>(["int", "bigint", "float", "bool", "uuid", "date"]);
/** Codecs other than text whose JavaScript value is a string (numeric, time): their text under code point order. */
const TEXT = new Set<ColumnDescription["codec"]>(["numeric", "time"]);
/** Codecs whose text has one fixed format: locale order equals code point order. */
const FIXED_FORMAT = new Set<ColumnDescription["codec"]>(["uuid", "date", "timestamp"]);

/** The column as JavaScript compares it (D2), or undefined when SQL cannot say it. */
function comparable(column: ColumnDescription): string | undefined {
  const name = quoteIdent(column.name);
  if (NATIVE.has(column.codec)) return name;
  if (column.codec === "text") return `${name} COLLATE "C"`;
  if (TEXT.has(column.codec)) return `${name}::text COLLATE "C"`;
  // JavaScript sees `toISOString()`: milliseconds, so rows within one millisecond are equal.
  if (column.codec === "timestamp") return `date_trunc('milliseconds', ${name})`;
  return undefined;
}

/** A value of the right JavaScript type for the column (a string for text forms, a number or boolean for native ones). */
function fits(column: ColumnDescription, value: unknown): boolean {
  if (column.codec === "bool") return typeof value === "boolean";
  if (column.codec === "int" || column.codec === "bigint" || column.codec === "float") return typeof value === "number" && Number.isFinite(value);
  if (typeof value !== "string") return false;
  // Compared natively: only the exact text JavaScript sees for such a column (anything else cannot
  // equal a row's value as a string, and would be read differently, or refused, by Postgres).
  if (column.codec === "uuid") return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value);
  if (column.codec === "date") return /^\d{4}-\d{2}-\d{2}$/.test(value) && isoText(`${value}T00:00:00.000Z`)?.slice(0, 10) === value;
  if (column.codec === "timestamp") return isoText(value) === value;
  return true;
}

const isoText = (value: string): string | undefined => {
  const time = Date.parse(value);
  return Number.isFinite(time) ? new Date(time).toISOString() : undefined;
};

const COMPARISONS: Record<string, string> = { eq: "=", gt: ">", gte: ">=", lt: "<", lte: "<=" };

class Translator {
  readonly params: unknown[];
  private readonly columns: ReadonlyMap<string, ColumnDescription>;

  constructor(entity: EntityDescription) {
    this.columns = new Map(entity.columns.map((c) => [c.name, c]));
    this.params = [];
  }

  column(expression: Expression | undefined): ColumnDescription | undefined {
    if (!expression || expression.type !== "ref" || expression.path.length !== 1) return undefined;
    return this.columns.get(String(expression.path[0]));
  }

  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  where(expression: Expression | undefined): Sql {
    if (!expression) return { text: "TRUE", exact: true };
    if (expression.type === "val") return typeof expression.value === "boolean" ? { text: expression.value ? "TRUE" : "FALSE", exact: true } : TRUE;
    if (expression.type !== "func") return TRUE;
    const { name, args } = expression;
    if (name === "and") {
      const parts = args.map((a) => this.where(a));
      return { text: `(${parts.map((p) => p.text).join(" AND ")})`, exact: parts.every((p) => p.exact) };
    }
    if (name === "or") {
      const parts = args.map((a) => this.where(a));
      // One inexact branch makes the whole OR a superset only if that branch is TRUE (it is, D1).
      return { text: `(${parts.map((p) => p.text).join(" OR ")})`, exact: parts.every((p) => p.exact) };
    }
    if (name === "not") {
      const inner = this.where(args[0]);
      // NULL (a comparison with a null column) counts as false, as in TanStack DB's evaluator: NOT of it is true.
      return inner.exact ? { text: `(NOT COALESCE(${inner.text}, FALSE))`, exact: true } : TRUE;
    }
    if (name === "isNull" || name === "isUndefined") {
      const column = this.column(args[0]);
      return column ? { text: `(${quoteIdent(column.name)} IS NULL)`, exact: true } : TRUE;
    }
    const operator = COMPARISONS[name];
    if (operator) {
      // `field op value` or `value op field`.
      const [left, right] = args;
      const flipped = left?.type === "val" && right?.type === "ref";
      const column = this.column(flipped ? right : left);
      const value = (flipped ? left : right) as Expression | undefined;
      if (!column || value?.type !== "val" || !fits(column, value.value)) return TRUE;
      const form = comparable(column);
      if (!form) return TRUE;
      const op = flipped ? ({ ">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=" } as Record<string, string>)[operator]! : operator;
      return { text: `(${form} ${op} ${this.param(value.value)})`, exact: true };
    }
    if (name === "in") {
      const column = this.column(args[0]);
      const list = args[1];
      if (!column || list?.type !== "val" || !Array.isArray(list.value)) return TRUE;
      const values = list.value as unknown[];
      const form = comparable(column);
      if (!form || !values.every((v) => fits(column, v))) return TRUE;
      if (values.length === 0) return { text: "FALSE", exact: true };
      return { text: `(${form} IN (${values.map((v) => this.param(v)).join(", ")}))`, exact: true };
    }
    return TRUE;
  }
}

/** The SQL ORDER BY of a request, when it is the order TanStack DB sorts by (D2); undefined otherwise. */
function orderBy(entity: EntityDescription, clauses: IR.OrderBy | undefined): { text: string; lead: ColumnDescription } | undefined {
  if (!clauses || clauses.length === 0) return undefined;
  const translator = new Translator(entity);
  const parts: string[] = [];
  let lead: ColumnDescription | undefined;
  for (const clause of clauses) {
    const column = translator.column(clause.expression);
    const form = column && comparable(column);
    if (!column || !form) return undefined;
    const options = clause.compareOptions as { direction: "asc" | "desc"; nulls: "first" | "last"; stringSort?: string };
    if (options.stringSort === "custom") return undefined;
    if (options.stringSort === "locale" && !FIXED_FORMAT.has(column.codec) && column.codec !== "int" && column.codec !== "bigint" && column.codec !== "float" && column.codec !== "bool") return undefined;
    parts.push(`${form} ${options.direction === "desc" ? "DESC" : "ASC"} NULLS ${options.nulls === "first" ? "FIRST" : "LAST"}`);
    lead ??= column;
  }
  return { text: parts.join(", "), lead: lead! };
}

/** The statement that loads what `request` asks of the entity's view (D1–D3). */
export function planSubset(entity: EntityDescription, request: Pick<LoadSubsetOptions, "where" | "orderBy" | "limit" | "cursor" | "offset">): SubsetPlan {
  const view = quoteIdent(entity.sql.view);
  const key = quoteIdent(entity.key);
  const select = (where: string) => `SELECT * FROM ${view} WHERE ${where}`;
  // One parameter list for the whole statement.
  const sql = new Translator(entity);
  const where = sql.where(request.where);
  const order = request.limit !== undefined ? orderBy(entity, request.orderBy) : undefined;
  const whole = (exact: boolean): SubsetPlan => ({ sql: select(where.text), params: sql.params, exact });
  // Every row matching the filter (a superset when the filter is inexact): nothing is cut by a limit.
  if (!where.exact || request.limit === undefined || !order) return whole(where.exact && request.limit === undefined);
  let limit = Math.max(0, Math.floor(request.limit));
  let main = where.text;
  let current: string | undefined;
  if (request.cursor) {
    // Rows after the cursor (limited), and every row at the cursor's value.
    const from = sql.where(request.cursor.whereFrom);
    const at = sql.where(request.cursor.whereCurrent);
    if (!from.exact || !at.exact) return whole(false);
    main = `${where.text} AND ${from.text}`;
    current = `${where.text} AND ${at.text}`;
  } else if (request.offset) {
    // From the start of the order: the rows before the offset belong to the prefix too (D3).
    limit += Math.max(0, Math.floor(request.offset));
  }
  const form = comparable(order.lead)!;
  // D3: the page, and every row tied with its last row on the first order column (when the page is full).
  const parts = [
    `SELECT * FROM "page"`,
    `${select(main)} AND ${key} NOT IN (SELECT ${key} FROM "page") AND (SELECT count(*) FROM "page") >= ${limit} AND ${form} IS NOT DISTINCT FROM (SELECT ${form} FROM "page" ORDER BY ${order.text} OFFSET ${Math.max(0, limit - 1)} LIMIT 1)`,
    ...(current ? [`${select(current)} AND ${key} NOT IN (SELECT ${key} FROM "page")`] : []),
  ];
  return { sql: `WITH "page" AS (${select(main)} ORDER BY ${order.text} LIMIT ${limit}) ${parts.join(" UNION ALL ")}`, params: sql.params, exact: true };
}
