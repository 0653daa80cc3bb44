/**
 * The shape-server double's delivery latency: a commit in Postgres → the answer to a live request
 * held for it (no client, loopback), N times in a row. Prints the median and the 90th percentile.
 * What it shows: how long the double takes to follow Postgres (pgoutput streams each commit; the
 * double used to poll test_decoding every 20 ms).
 *
 * Run: npx tsx bench/shape-server/run.mts [--commits 100]
 */
import os from "node:os";
import { parseArgs } from "node:util";
import pg from "pg";
import { startPostgres } from "../../packages/dev-postgres/src/index.ts";
import { startShapeServer } from "../../packages/shape-server/src/index.ts";

const { values } = parseArgs({ options: { commits: { type: "string", default: "100" } } });
const COMMITS = Number(values.commits);

const postgres = await startPostgres();
const databaseUrl = await postgres.createDatabase();
const db = new pg.Pool({ connectionString: databaseUrl });
db.on("error", () => undefined);
await db.query("CREATE TABLE bench_items (id int PRIMARY KEY, v text)");
const server = await startShapeServer({ databaseUrl, longPollTimeoutMs: 10_000 });
try {
  const shape = `${server.shapeUrl}?table=bench_items`;
  let r = await fetch(`${shape}&offset=-1`);
  const handle = r.headers.get("electric-handle") as string;
  let offset = r.headers.get("electric-offset") as string;
  await r.text();
  r = await fetch(`${shape}&offset=${offset}&handle=${handle}`);
  offset = r.headers.get("electric-offset") as string;
  await r.text();

  const ms: number[] = [];
  for (let i = 0; i < COMMITS; i++) {
    const held = fetch(`${shape}&offset=${offset}&handle=${handle}&live=true&cursor=0`);
    await new Promise((resolve) => setTimeout(resolve, 30)); // the request is held by now
    const t0 = performance.now();
    await db.query("INSERT INTO bench_items VALUES ($1, 'x')", [i]);
    const res = await held;
    await res.text();
    ms.push(performance.now() - t0);
    offset = res.headers.get("electric-offset") as string;
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => (ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] as number).toFixed(1);
  console.log(`commit → held live response (${COMMITS} commits, loopback): p50 ${at(0.5)} ms, p90 ${at(0.9)} ms (load average ${os.loadavg()[0]?.toFixed(1)})`);
} finally {
  await server.stop();
  await db.end();
  await postgres.stop();
}
