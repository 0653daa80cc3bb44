/**
 * bench/local-write: the local database of the finance-tracker client (contacts), in PGlite.
 *
 *  1. Per-write latency of an INSERT through the view (trigger path: overlay + change log)
 *     vs a raw INSERT into a plain table with the same columns, interleaved in the same run.
 *  2. Change-feed latency (local write → subscriber holds the changed row) at 1k / 10k / 100k
 *     rows, vs PGlite's live.changes over the same view.
 *
 * Run: npx tsx bench/local-write/run.mts [--writes 2000] [--sizes 1000,10000,100000] [--live-iterations 20]
 * Prints medians/p99 and ratios, and one JSON line at the end.
 */
import { PGlite } from "@electric-sql/pglite";
import { live } from "@electric-sql/pglite/live";
import { parseArgs } from "node:util";
import { createDatabase } from "../../examples/finance-tracker/app/src/generated/db/init.ts";
import { migrate } from "../../examples/finance-tracker/app/src/generated/db/local-db.ts";
import { LOCAL_SCHEMA } from "../../examples/finance-tracker/app/src/generated/db/schema.ts";

const { values } = parseArgs({ options: { writes: { type: "string", default: "2000" }, sizes: { type: "string", default: "1000,10000,100000" }, "live-iterations": { type: "string", default: "20" }, "feed-iterations": { type: "string", default: "300" } } });
const WRITES = Number(values.writes);
const SIZES = values.sizes!.split(",").map(Number);
const LIVE_ITER = Number(values["live-iterations"]);
const FEED_ITER = Number(values["feed-iterations"]);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number): string => `${x.toFixed(3)} ms`;
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };

// 1. Writes ----------------------------------------------------------------------------------
{
  const db = await createDatabase();
  await db.pg.exec(`CREATE TABLE raw_contacts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), first_name text, last_name text, email text, phone text, company text, credit_limit numeric, local_notes text, created_at timestamptz, updated_at timestamptz)`);
  const view: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < WRITES + 200; i++) {
    const params = [`First${i}`, `Last${i}`, `user${i}@example.com`];
    let t = performance.now();
    await db.pg.query(`INSERT INTO contacts (first_name, last_name, email) VALUES ($1, $2, $3)`, params);
    const v = performance.now() - t;
    t = performance.now();
    await db.pg.query(`INSERT INTO raw_contacts (first_name, last_name, email) VALUES ($1, $2, $3)`, params);
    const r = performance.now() - t;
    // The feed drain that a view write triggers runs outside both timing windows.
    await db.feed.flush();
    if (i >= 200) {
      view.push(v);
      raw.push(r);
    }
  }
  // Sanity: every view write went through the trigger path (overlay + change log).
  const logged = (await db.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM "_changes" WHERE "op" = 'insert'`)).rows[0]!.n;
  if (logged !== WRITES + 200) throw new Error(`expected ${WRITES + 200} logged changes, found ${logged}`);
  const w = { viewP50: pct(view, 50), viewP99: pct(view, 99), rawP50: pct(raw, 50), rawP99: pct(raw, 99) };
  results.writes = { n: WRITES, ...w, ratioP50: w.viewP50 / w.rawP50, ratioP99: w.viewP99 / w.rawP99 };
  console.log(`\nWrites (${WRITES}, interleaved, in-memory PGlite)`);
  console.log(`  through the view   p50 ${ms(w.viewP50)}  p99 ${ms(w.viewP99)}`);
  console.log(`  raw INSERT         p50 ${ms(w.rawP50)}  p99 ${ms(w.rawP99)}`);
  console.log(`  ratio view/raw     p50 ${(w.viewP50 / w.rawP50).toFixed(2)}×  p99 ${(w.viewP99 / w.rawP99).toFixed(2)}×   (goal ≤ 1.5×)`);
  await db.close();
}

// 2. Feed vs live.changes ----------------------------------------------------------------------
async function seed(pg: { exec(sql: string): Promise<unknown> }, n: number): Promise<void> {
  await pg.exec(`INSERT INTO contacts_synced (id, first_name, last_name, email, created_at, updated_at)
    SELECT gen_random_uuid(), 'First' || g, 'Last' || g, 'u' || g || '@example.com', now(), now() FROM generate_series(1, ${n}) g`);
}

const feedRows: Record<string, unknown>[] = [];
for (const size of SIZES) {
  // Our feed.
  const db = await createDatabase();
  await seed(db.pg, size);
  await db.feed.flush();
  const ids = (await db.pg.query<{ id: string }>(`SELECT id FROM contacts_synced ORDER BY random() LIMIT ${FEED_ITER + 20}`)).rows.map((r) => r.id);
  let waiting: { id: string; resolve: () => void } | undefined;
  db.feed.subscribe<{ id: string }>("contacts", (batch) => {
    if (waiting && batch.upserts.some((r) => r.id === waiting!.id)) waiting.resolve();
  });
  const feed: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const t = performance.now();
    const seen = new Promise<void>((resolve) => (waiting = { id, resolve }));
    await db.pg.query(`UPDATE contacts SET first_name = $2 WHERE id = $1`, [id, `Edited${i}`]);
    await seen;
    if (i >= 20) feed.push(performance.now() - t);
  }
  await db.close();

  // live.changes over the same view.
  const pg = await PGlite.create({ extensions: { live } });
  await migrate(pg, LOCAL_SCHEMA);
  await seed(pg, size);
  const liveIds = (await pg.query<{ id: string }>(`SELECT id FROM contacts_synced ORDER BY random() LIMIT ${LIVE_ITER + 2}`)).rows.map((r) => r.id);
  let liveWaiting: { id: string; resolve: () => void } | undefined;
  const sub = await pg.live.changes(`SELECT * FROM contacts`, [], "id", (changes) => {
    if (liveWaiting && changes.some((c) => (c as { id?: string }).id === liveWaiting!.id)) liveWaiting.resolve();
  });
  const liveTimes: number[] = [];
  for (let i = 0; i < liveIds.length; i++) {
    const id = liveIds[i]!;
    const t = performance.now();
    const seen = new Promise<void>((resolve) => (liveWaiting = { id, resolve }));
    await pg.query(`UPDATE contacts SET first_name = $2 WHERE id = $1`, [id, `Live${i}`]);
    await seen;
    if (i >= 2) liveTimes.push(performance.now() - t);
  }
  await sub.unsubscribe();
  await pg.close();

  const row = { rows: size, feedP50: pct(feed, 50), feedP99: pct(feed, 99), feedN: feed.length, liveP50: pct(liveTimes, 50), liveP99: pct(liveTimes, 99), liveN: liveTimes.length };
  feedRows.push({ ...row, speedupP50: row.liveP50 / row.feedP50 });
  console.log(`\nFeed at ${size} rows: write → subscriber has the row`);
  console.log(`  change feed     p50 ${ms(row.feedP50)}  p99 ${ms(row.feedP99)}  (n=${feed.length}; goal p99 < 16 ms at 100k)`);
  console.log(`  live.changes    p50 ${ms(row.liveP50)}  p99 ${ms(row.liveP99)}  (n=${liveTimes.length})`);
  console.log(`  live / feed     p50 ${(row.liveP50 / row.feedP50).toFixed(1)}×`);
}
results.feed = feedRows;
console.log("\n" + JSON.stringify(results));
