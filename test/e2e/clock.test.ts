/**
 * Clock skew. Each client runs in its own process with a wrong clock (test/support/
 * skewed-client.ts; PGlite's now() is off by as much). The API answers writes with 503 and a
 * `Retry-After` HTTP date from the server's clock, and one client's clock jumps back mid-run.
 * Counted outcome: N writes in → N rows on the server exactly once, none lost, both clients equal
 * to the server, in seconds, not after the hour a naive reading of the clock would wait.
 */
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type RunningServer } from "../../examples/finance-tracker/server/server.js";
import { EXAMPLE_SPEC_TEXT, generateClient } from "../support/generated.js";
import { usePostgres } from "../support/postgres/index.js";
import { REPO } from "../support/project.js";
import { startShapeServer, type ShapeServer } from "../../packages/shape-server/src/index.js";
import { startSkewedClient, type SkewedClient, type SkewedClientOptions } from "../support/skewed-client.js";
import { sleep } from "../support/sync-client.js";

const HOUR = 3_600_000;
const postgres = usePostgres();
const dataRoot = path.join(REPO, ".cache/pgdata", `clock-${process.pid}`);
let backend: RunningServer;
let shapes: ShapeServer;
let server: pg.Client;
let clientDir: string;
const running: SkewedClient[] = [];

beforeAll(async () => {
  const databaseUrl = await postgres().createDatabase();
  backend = await createServer({ databaseUrl, defaultUser: "ada@example.com", port: 0, host: "127.0.0.1", faults: true, log: () => {} });
  shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 1000 });
  server = new pg.Client(databaseUrl);
  await server.connect();
  clientDir = await generateClient("clock", EXAMPLE_SPEC_TEXT);
  fs.mkdirSync(dataRoot, { recursive: true });
}, 120_000);

afterAll(async () => {
  for (const c of running.splice(0)) await c.stop();
  await shapes?.stop();
  await backend?.close();
  await server?.end();
  fs.rmSync(dataRoot, { recursive: true, force: true });
});

async function start(name: string, skewMs: number, extra: Partial<SkewedClientOptions> = {}): Promise<SkewedClient> {
  const c = await startSkewedClient({ clientDir, apiUrl: backend.url, shapeUrl: shapes.shapeUrl, dataDir: path.join(dataRoot, name), skewMs, ...extra });
  running.push(c);
  return c;
}

async function stop(c: SkewedClient): Promise<void> {
  running.splice(running.indexOf(c), 1);
  await c.stop();
}

/** How far the client's local database clock is from the real one, in ms. */
async function offsetOf(c: SkewedClient): Promise<number> {
  const [row] = await c.sql<{ now: string }>(`SELECT now()::text AS now`);
  return Date.parse(row!.now.replace(" ", "T").replace(/([+-]\d\d)$/, "$1:00")) - Date.now();
}

const CONTACT_COLUMNS = `SELECT id::text, first_name, last_name, company FROM contacts WHERE id::text = ANY($1) ORDER BY id`;

// SPEC W7
describe("clock skew", () => {
  it("clients 2 h behind and 3 h ahead, one set back 5 h mid-run: every write once, none lost, all equal", async () => {
    const behind = await start("behind", -2 * HOUR);
    const ahead = await start("ahead", 3 * HOUR);
    expect(Math.round((await offsetOf(behind)) / HOUR)).toBe(-2);
    expect(Math.round((await offsetOf(ahead)) / HOUR)).toBe(3);

    const written: string[] = [];
    let edits = 0;
    let refusals = 0;
    const started = Date.now();
    for (let i = 0; i < 12; i++) {
      if (i % 4 === 0) {
        // The next writes are refused with `Retry-After: <the server's clock + 1 s>`.
        backend.faults!.set({ failWrites: 3, retryAfter: 1, retryAfterAsDate: true });
        refusals += 3;
      }
      if (i === 6) await ahead.jump(-5 * HOUR);
      for (const [c, label] of [[behind, "behind"], [ahead, "ahead"]] as const) {
        const id = crypto.randomUUID();
        written.push(id);
        await c.sql(`INSERT INTO contacts (id, first_name, last_name) VALUES ($1, $2, $3)`, [id, label, `n${i}`]);
        if (i % 3 === 0) {
          await c.sql(`UPDATE contacts SET company = $2 WHERE id = $1`, [id, `${label}-edited`]);
          edits++;
        }
      }
      await sleep(50);
    }
    expect(Math.round((await offsetOf(ahead)) / HOUR)).toBe(-2);

    let serverRows = "";
    for (;;) {
      const [sb, sa] = [await behind.status(), await ahead.status()];
      serverRows = JSON.stringify((await server.query(CONTACT_COLUMNS, [written])).rows);
      const [lb, la] = [JSON.stringify(await behind.sql(CONTACT_COLUMNS, [written])), JSON.stringify(await ahead.sql(CONTACT_COLUMNS, [written]))];
      if (sb.queued + sa.queued === 0 && JSON.parse(serverRows).length === written.length && lb === serverRows && la === serverRows) break;
      if (Date.now() - started > 60_000) throw new Error(`not settled: queued ${sb.queued}/${sa.queued} (${sb.lastError ?? sa.lastError}), server ${serverRows}`);
      await sleep(100);
    }
    const settledMs = Date.now() - started;
    const rows = JSON.parse(serverRows) as { first_name: string; last_name: string; company: string | null }[];
    const failed = (await behind.status()).failed + (await ahead.status()).failed;
    console.log(
      `clock skew: clients at -2 h and +3 h (then -2 h); ${refusals} writes refused with a Retry-After date; ` +
        `writes in: ${written.length} creates (+${edits} edits); rows on the server: ${rows.length}; failed changes: ${failed}; all equal after ${settledMs} ms`,
    );
    expect(rows).toHaveLength(written.length);
    expect(failed).toBe(0);
    expect(rows.filter((r) => Number(r.last_name.slice(1)) % 3 === 0).every((r) => r.company === `${r.first_name}-edited`)).toBe(true);
    // A Retry-After read against the skewed clock would have waited up to an hour.
    expect(settledMs).toBeLessThan(30_000);
    await stop(behind);
    await stop(ahead);
  }, 120_000);

  it("a change waiting for a retry goes out on time when the clock is set back, before and after a restart", async () => {
    const c = await start("restart", 0, { backoff: { initialMs: 20, maxMs: 500 } });
    const send = async (label: string): Promise<string> => {
      const id = crypto.randomUUID();
      await c.sql(`INSERT INTO contacts (id, first_name, last_name) VALUES ($1, $2, 'r')`, [id, label]);
      return id;
    };
    const onServer = async (c: SkewedClient, id: string, withinMs: number): Promise<number> => {
      const t0 = Date.now();
      while (Date.now() - t0 < withinMs) {
        if ((await server.query(`SELECT 1 FROM contacts WHERE id = $1`, [id])).rowCount) return Date.now() - t0;
        await sleep(50);
      }
      const change = await c.sql(`SELECT "status", "attempts", "last_error", "next_attempt_at"::text, now()::text AS now FROM "_changes" WHERE "row_key" = $1`, [id]).catch((e: Error) => e.message);
      throw new Error(`${id} not on the server within ${withinMs} ms: ${JSON.stringify(change)}`);
    };

    // Same process: a 2 s Retry-After, and the clock goes back an hour meanwhile.
    backend.faults!.set({ failWrites: 1, retryAfter: 2, retryAfterAsDate: false });
    const first = await send("jump");
    await sleep(300);
    await c.jump(-HOUR);
    expect(await onServer(c, first, 10_000)).toBeLessThan(10_000);

    // Across a restart: the process comes back with its clock another hour behind, so the saved
    // retry time (ten minutes ahead) is 1 h 10 min ahead of its clock.
    backend.faults!.set({ failWrites: 1, retryAfter: 600, retryAfterAsDate: false });
    const second = await send("restart");
    const attempts = async () => (await c.sql<{ attempts: number }>(`SELECT "attempts" FROM "_changes" WHERE "row_key" = $1`, [second]))[0]?.attempts ?? 0;
    for (let t = 0; (await attempts()) === 0 && t < 100; t++) await sleep(50);
    expect(await attempts()).toBe(1); // refused once, now waiting ten minutes
    await stop(c);
    const again = await start("restart", -2 * HOUR, { backoff: { initialMs: 20, maxMs: 500 } });
    expect(await onServer(again, second, 10_000)).toBeLessThan(10_000);
    await stop(again);
  }, 120_000);
});
