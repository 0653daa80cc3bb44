/**
 * bench/sync: the generated finance-tracker client syncing contacts from PostgreSQL through the
 * Electric shape protocol (the double of packages/shape-server, on loopback).
 *
 *  1. Initial sync of N rows (default 100k): start → shape up to date → rows in the view,
 *     as rows/s, vs a raw COPY of the same rows (CSV) into a plain PGlite table, the limit.
 *  2. Server commit → row visible in the client's view (via the change feed): p50/p99 over
 *     M single-row commits made directly in Postgres (another user's writes).
 *
 * Run: npx tsx bench/sync/run.mts [--rows 100000] [--commits 200]
 */
import fs from "node:fs";
import { parseArgs } from "node:util";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { startPostgres } from "../../packages/dev-postgres/src/index.ts";
import { startShapeServer } from "../../packages/shape-server/src/index.ts";
import { createDatabase } from "../../examples/finance-tracker/app/src/generated/db/init.ts";
import { startSync } from "../../examples/finance-tracker/app/src/generated/sync/engine.ts";

const { values } = parseArgs({ options: { rows: { type: "string", default: "100000" }, commits: { type: "string", default: "200" } } });
const ROWS = Number(values.rows);
const COMMITS = Number(values.commits);
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

const server = await startPostgres();
const sql = new pg.Client(server.url);
await sql.connect();
// The example backend's schema: every synced table must exist for the client's shapes.
await sql.query(fs.readFileSync(new URL("../../examples/finance-tracker/server/schema.sql", import.meta.url), "utf8"));
await sql.query(`INSERT INTO contacts (first_name, last_name, email, company, credit_limit)
  SELECT 'First' || g, 'Last' || g, 'user' || g || '@example.com', 'Company ' || (g % 100), (g % 1000)::numeric FROM generate_series(1, $1) g`, [ROWS]);
const shapes = await startShapeServer({ databaseUrl: server.url, longPollTimeoutMs: 20_000 });

// 1. Initial sync ------------------------------------------------------------------------------
const db = await createDatabase();
let t = performance.now();
// Time spent waiting for the shape server (request sent → body fully received), to split the
// total into "server + network" and "client" (parse, apply, commit).
let serverMs = 0;
const timedFetch: typeof fetch = async (input, init) => {
  const start = performance.now();
  const response = await fetch(input, init);
  const url = String(input instanceof Request ? input.url : input);
  // Long polls wait by design; the other tables sync in parallel and are tiny.
  if (url.includes("live=true") || !url.includes("table=contacts")) return response;
  const body = await response.arrayBuffer();
  serverMs += performance.now() - start;
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
};
const engine = await startSync({ db, apiUrl: "http://127.0.0.1:9", electricUrl: shapes.shapeUrl, fetch: timedFetch });
await engine.ready;
console.error(`synced in ${((performance.now() - t) / 1000).toFixed(2)} s`);
const syncMs = performance.now() - t;
const synced = (await db.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM contacts`)).rows[0]!.n;
if (synced !== ROWS) throw new Error(`expected ${ROWS} rows in the view, found ${synced}`);

// The limit: the same rows as CSV, COPY'd into a plain table of a fresh PGlite.
const csv = (await sql.query<{ csv: string }>(`SELECT string_agg(concat_ws(',', id, first_name, last_name, email, coalesce(phone, ''), company, credit_limit, created_at, updated_at), E'\\n') AS csv FROM contacts`)).rows[0]!.csv;
const raw = await PGlite.create();
await raw.exec(`CREATE TABLE contacts (id uuid PRIMARY KEY, first_name text, last_name text, email text, phone text, company text, credit_limit numeric, created_at timestamptz, updated_at timestamptz)`);
t = performance.now();
await raw.query(`COPY contacts FROM '/dev/blob' WITH (FORMAT csv)`, [], { blob: new Blob([csv]) });
const copyMs = performance.now() - t;
await raw.close();

console.log(`\nInitial sync of ${ROWS} contacts (Postgres → shape server → PGlite view)`);
console.log(`  sync        ${(syncMs / 1000).toFixed(2)} s   ${Math.round(ROWS / (syncMs / 1000))} rows/s`);
console.log(`  raw COPY    ${(copyMs / 1000).toFixed(2)} s   ${Math.round(ROWS / (copyMs / 1000))} rows/s`);
console.log(`  sync / COPY throughput: ${((copyMs / syncMs) * 100).toFixed(0)}%   (goal ≥ 50%)`);
console.log(`  of which waiting for the shape server (snapshot read + encode + transfer): ${(serverMs / 1000).toFixed(2)} s`);
console.log(`  client side only (parse, apply, commit): ${((syncMs - serverMs) / 1000).toFixed(2)} s → ${((copyMs / (syncMs - serverMs)) * 100).toFixed(0)}% of raw COPY throughput`);

// 2. Commit → view latency -------------------------------------------------------------------------
const latencies: number[] = [];
let waiting: { id: string; resolve: () => void } | undefined;
db.feed.subscribe<{ id: string; first_name: string }>("contacts", (batch) => {
  if (waiting && batch.upserts.some((r) => r.id === waiting!.id && r.first_name.startsWith("Commit"))) waiting.resolve();
});
const ids = (await sql.query<{ id: string }>(`SELECT id FROM contacts ORDER BY random() LIMIT $1`, [COMMITS + 10])).rows.map((r) => r.id);
for (let i = 0; i < ids.length; i++) {
  if (i % 50 === 0) console.error(`commit ${i}/${ids.length}`);
  const id = ids[i]!;
  const seen = new Promise<void>((resolve) => (waiting = { id, resolve }));
  const start = performance.now();
  await sql.query(`UPDATE contacts SET first_name = $2 WHERE id = $1`, [id, `Commit${i}`]);
  await seen;
  if (i >= 10) latencies.push(performance.now() - start);
}
console.log(`\nServer commit → row in the client's view (${COMMITS} commits, loopback)`);
console.log(`  p50 ${pct(latencies, 50).toFixed(1)} ms   p99 ${pct(latencies, 99).toFixed(1)} ms   (goal p50 < 100 ms)`);

await engine.stop();
await db.close();
await shapes.stop();
await sql.end();
await server.stop();
console.log(
  "\n" +
    JSON.stringify({ date: new Date().toISOString(), rows: ROWS, syncMs, serverMs, clientMs: syncMs - serverMs, copyMs, syncRowsPerS: ROWS / (syncMs / 1000), copyRowsPerS: ROWS / (copyMs / 1000), ratio: copyMs / syncMs, commitP50: pct(latencies, 50), commitP99: pct(latencies, 99), commits: latencies.length }),
);
