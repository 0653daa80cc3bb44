/** The report operations: plain SQL over transactions. Amounts are summed as numeric, sent as strings. */
import type { Tx } from "./db.js";
import type { Handler, RequestData } from "./handlers.js";
import { invalid, notFound } from "./problem.js";

/** Longest balance history, in days, so a wide range cannot make the server generate millions of rows. */
const MAX_HISTORY_DAYS = 3660;

async function requireAccount(tx: Tx, household: string, id: string): Promise<void> {
  const { rowCount } = await tx.query("SELECT 1 FROM accounts WHERE id = $1 AND household_id = $2", [id, household]);
  if (!rowCount) throw notFound("Account");
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** GET /api/reports/monthly-summary: income (sum of positive amounts), expense (sum of negative amounts, as a positive number), signed totals per category. */
const getMonthlySummary: Handler = async (tx, { query, user }: RequestData) => {
  const year = Number(query.year);
  const month = Number(query.month);
  const accountId = str(query.account_id);
  if (year < 1 || year > 9999) throw invalid({ year: ["must be between 1 and 9999"] });
  if (accountId) await requireAccount(tx, user.householdId, accountId);
  const where = `occurred_on >= make_date($1, $2, 1) AND occurred_on < make_date($1, $2, 1) + interval '1 month'
    AND ($3::uuid IS NULL OR account_id = $3::uuid) AND household_id = $4`;
  const params = [year, month, accountId, user.householdId];
  const totals = await tx.query<{ income: string; expense: string }>(
    `SELECT coalesce(sum(amount) FILTER (WHERE amount > 0), 0)::text AS income,
            coalesce(-sum(amount) FILTER (WHERE amount < 0), 0)::text AS expense
       FROM transactions WHERE ${where}`,
    params,
  );
  const byCategory = await tx.query<{ category_id: string | null; total: string }>(
    `SELECT category_id, sum(amount)::text AS total FROM transactions WHERE ${where}
      GROUP BY category_id ORDER BY category_id NULLS LAST`,
    params,
  );
  const { income = "0", expense = "0" } = totals.rows[0] ?? {};
  return { status: 200, body: { year, month, income, expense, by_category: byCategory.rows } };
};

/** GET /api/reports/balance-history: the balance at the end of every day from `from` (default: first transaction) to `to` (default: last). */
const getBalanceHistory: Handler = async (tx, { query, user }: RequestData) => {
  const accountId = String(query.account_id);
  const from = str(query.from);
  const to = str(query.to);
  if (from && to && from > to) throw invalid({ to: ["must not be before from"] });
  await requireAccount(tx, user.householdId, accountId);
  const { rows } = await tx.query<{ date: string; balance: string }>(
    `WITH bounds AS (
       SELECT coalesce($2::date, min(occurred_on)) AS lo, coalesce($3::date, max(occurred_on)) AS hi
         FROM transactions WHERE account_id = $1
     ), days AS (
       SELECT generate_series(lo, hi, interval '1 day')::date AS day FROM bounds
        WHERE lo IS NOT NULL AND hi IS NOT NULL AND hi - lo < $4
     )
     SELECT day::text AS date,
            (SELECT coalesce(sum(amount), 0) FROM transactions t
              WHERE t.account_id = $1 AND t.occurred_on <= day)::text AS balance
       FROM days ORDER BY day`,
    [accountId, from, to, MAX_HISTORY_DAYS],
  );
  return { status: 200, body: rows };
};

/** POST /api/reports/export: the export is computed at once and stored in export_jobs; 202 with status 'done'. */
const exportReport: Handler = async (tx, { body, user }: RequestData) => {
  const { format, from, to } = body;
  if (typeof from === "string" && typeof to === "string" && from > to) throw invalid({ to: ["must not be before from"] });
  const { rows } = await tx.query<{ job_id: string; status: string }>(
    `INSERT INTO export_jobs (format, from_date, to_date, status, row_count, content, household_id)
     SELECT $1::text, $2::date, $3::date, 'done', count(*),
            CASE WHEN $1::text = 'json'
              THEN coalesce(jsonb_agg(to_jsonb(t) - 'write_id' ORDER BY occurred_on, created_at), '[]'::jsonb)::text
              ELSE 'id,account_id,category_id,amount,occurred_on,description' || E'\\n' || coalesce(string_agg(
                     concat_ws(',', id, account_id, coalesce(category_id::text, ''), amount, occurred_on,
                               '"' || replace(coalesce(description, ''), '"', '""') || '"'),
                     E'\\n' ORDER BY occurred_on, created_at), '')
            END, $4::uuid
       FROM transactions t WHERE occurred_on BETWEEN $2::date AND $3::date AND household_id = $4::uuid
     RETURNING job_id, status`,
    [format, from, to, user.householdId],
  );
  return { status: 202, body: rows[0] ?? null };
};

export const REPORTS: Record<string, Handler> = { getMonthlySummary, getBalanceHistory, exportReport };
