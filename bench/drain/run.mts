/**
 * bench/drain: how long 100 queued writes take to drain to the local backend (the finance-tracker
 * server on PostgreSQL, on loopback), with the change writer of this tree and, with --before REF,
 * with the one of a git ref (its examples/finance-tracker/app, generated client included, is
 * extracted to .cache/bench-drain/REF), side by side.
 *
 *  node      PGlite in this process, in memory and on disk (NodeFS): queue N creates of contacts
 *            through the view with the writer stopped, then time start() + flush() until no
 *            change is pending (every one accepted by the server). The API floor: the same N
 *            requests sent one after another with fetch, no local bookkeeping. The backend runs
 *            with `defaultUser` (Ada): requests without a token act as her.
 *  chromium  (--browser) the example app built with that client, in Debian's Chromium, its
 *            database on idb:// in PGlite's Web Worker (every query copies the database to
 *            IndexedDB): the writer is stopped, N creates are queued with one INSERT … SELECT,
 *            then start() + flush() is timed in the page, and the time until the shape stream
 *            confirmed them all (nothing queued). The page signs in as Ada through the app's form;
 *            test/browser/inspect.js (added with addInitScript) exposes window.__financeTracker,
 *            and the page's own API floor sends her bearer token. A --before ref's app needs the
 *            same inspector hook (the generated SyncInspector) for this part.
 *
 * Run: npx tsx bench/drain/run.mts [--writes 100] [--runs 3] [--before main] [--browser]
 * Prints medians per variant and the before/after ratios, and one JSON line at the end.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { build } from "vite";
import { createServer } from "../../examples/finance-tracker/server/server.ts";
import { startPostgres } from "../../test/support/postgres/index.ts";
import { appUrl, INSPECT, launchChromium, openApp, serveStatic, startStack, tokenOf, USERS } from "../../test/browser/harness.ts";

const { values } = parseArgs({
  options: { writes: { type: "string", default: "100" }, runs: { type: "string", default: "3" }, before: { type: "string" }, browser: { type: "boolean", default: false } },
});
const WRITES = Number(values.writes);
const RUNS = Number(values.runs);
const REPO = path.resolve(import.meta.dirname, "../..");
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** The example app of this tree, and of `--before` (extracted from git). */
const variants: { name: string; app: string }[] = [{ name: "this tree", app: path.join(REPO, "examples/finance-tracker/app") }];
if (values.before) {
  const dir = path.join(REPO, ".cache/bench-drain", values.before.replace(/[^\w.-]/g, "_"));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  execFileSync("bash", ["-c", `git archive ${JSON.stringify(values.before)} examples/finance-tracker/app | tar -x -C ${JSON.stringify(dir)}`], { cwd: REPO });
  variants.unshift({ name: values.before, app: path.join(dir, "examples/finance-tracker/app") });
}

const server = await startPostgres();
// Every /api route needs a user: requests without a token (the Node writer's and the API floor's) act as Ada.
const backend = await createServer({ databaseUrl: server.url, defaultUser: USERS.ada, port: 0, host: "127.0.0.1", log: () => {} });
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, writes: WRITES, runs: RUNS };

interface Generated {
  createDatabase(options?: { dataDir?: string }): Promise<{ pg: { query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> }; close(): Promise<void> }>;
  ChangeWriter: new (options: Record<string, unknown>) => { start(): Promise<void>; flush(): Promise<void>; stop(): Promise<void> };
  /** The entity descriptions the writer takes (`ENTITIES`; `SYNC_ENTITIES` in older trees, for --before). */
  entities: unknown;
}

async function load(app: string): Promise<Generated> {
  const g = path.join(app, "src/generated");
  const init = (await import(path.join(g, "db/init.ts"))) as Pick<Generated, "createDatabase">;
  const writer = (await import(path.join(g, "sync/change-writer.ts"))) as Pick<Generated, "ChangeWriter">;
  const descriptions = (await import(path.join(g, "sync/entities.ts"))) as { ENTITIES?: unknown; SYNC_ENTITIES?: unknown };
  return { ...init, ...writer, entities: descriptions.ENTITIES ?? descriptions.SYNC_ENTITIES };
}

const QUEUE = `INSERT INTO contacts (first_name, last_name, email) SELECT 'Drain', 'N' || g, 'drain' || g || '-' || $1 || '@example.com' FROM generate_series(1, $2::int) g`;

async function nodeDrain(gen: Generated, storage: "memory" | "disk", tag: string): Promise<number> {
  const dataDir = storage === "disk" ? fs.mkdtempSync(path.join(os.tmpdir(), "bench-drain-")) : undefined;
  const db = await gen.createDatabase(dataDir ? { dataDir } : {});
  await db.pg.query(QUEUE, [tag, WRITES]);
  const writer = new gen.ChangeWriter({ pg: db.pg, entities: gen.entities, baseUrl: backend.url, backoff: { initialMs: 50, maxMs: 200 } });
  const t = performance.now();
  await writer.start();
  for (;;) {
    await writer.flush();
    const left = (await db.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM "_changes" WHERE "status" = 'pending'`)).rows[0]!.n;
    if (left === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = performance.now() - t;
  await writer.stop();
  await db.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  return ms;
}

/** The API alone: the same creates, one after another, no local database. */
async function apiFloor(tag: string): Promise<number> {
  const t = performance.now();
  for (let i = 1; i <= WRITES; i++) {
    const r = await fetch(`${backend.url}/api/contacts`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": crypto.randomUUID() },
      body: JSON.stringify({ id: crypto.randomUUID(), first_name: "Floor", last_name: `N${i}`, email: `floor${i}-${tag}@example.com` }),
    });
    if (!r.ok) throw new Error(`POST /api/contacts: ${r.status} ${await r.text()}`);
  }
  return performance.now() - t;
}

// Node ----------------------------------------------------------------------------------------------
const node: Record<string, Record<string, number>> = {};
const floor: number[] = [];
const gens = new Map<string, Generated>();
for (const v of variants) gens.set(v.name, await load(v.app));
const samples = new Map<string, number[]>();
// Run 0 warms up (JIT, the backend's pool) and is not counted; the variants take turns.
for (let run = 0; run <= RUNS; run++) {
  const f = await apiFloor(`f${run}`);
  if (run) floor.push(f);
  for (const v of variants) {
    for (const storage of ["memory", "disk"] as const) {
      const ms = await nodeDrain(gens.get(v.name)!, storage, `${v.name}-${storage}-${run}`.replace(/\W/g, ""));
      if (run) samples.set(`${v.name}|${storage}`, [...(samples.get(`${v.name}|${storage}`) ?? []), ms]);
    }
  }
}
console.log(`\n${WRITES} queued creates → local backend, Node ${process.version}, median of ${RUNS}`);
console.log(`  API alone (fetch, one after another)   ${s(median(floor))}`);
for (const v of variants) {
  node[v.name] = {};
  for (const storage of ["memory", "disk"] as const) {
    const m = median(samples.get(`${v.name}|${storage}`)!);
    node[v.name]![storage] = m;
    console.log(`  ${v.name.padEnd(12)} PGlite ${storage.padEnd(6)}          ${s(m)}   (${(m / median(floor)).toFixed(2)}× the API alone)`);
  }
}
results.node = { apiFloorMs: median(floor), ...node };

/** In the page (window.__financeTracker, set by test/browser/inspect.js): stop the writer, queue, time the drain. */
const IN_PAGE = `async ({ sql, n, tag, api, token }) => {
  const ft = window.__financeTracker;
  // The API alone from this page: the same creates with fetch, one after another (their rows
  // sync back into this database like the drained ones).
  const f = performance.now();
  for (let i = 1; i <= n; i++) {
    const r = await fetch(api + "/api/contacts", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer " + token, "idempotency-key": crypto.randomUUID(), "x-change-id": crypto.randomUUID() },
      body: JSON.stringify({ id: crypto.randomUUID(), first_name: "Floor", last_name: "N" + i, email: "floor" + i + "-" + tag + "@example.com" }),
    });
    if (!r.ok) throw new Error("POST /api/contacts: " + r.status + " " + (await r.text()));
    await r.text();
  }
  const floorMs = performance.now() - f;
  const pending = async () => (await ft.db.pg.query('SELECT count(*)::int AS n FROM "_changes" WHERE "status" = \\'pending\\'')).rows[0].n;
  await ft.engine.writer.stop();
  await ft.db.pg.query(sql, [tag, n]);
  // Time spent waiting for the API's answers (the writer calls the global fetch).
  const original = window.fetch;
  let apiMs = 0;
  let requests = 0;
  const gaps = [];
  let lastEnd = 0;
  window.fetch = async (...args) => {
    const url = String(args[0] instanceof Request ? args[0].url : args[0]);
    if (!url.includes("/api/")) return original(...args);
    const start = performance.now();
    if (lastEnd) gaps.push(start - lastEnd);
    try {
      const r = await original(...args);
      await r.clone().text();
      return r;
    } finally {
      lastEnd = performance.now();
      apiMs += lastEnd - start;
      requests++;
    }
  };
  const t = performance.now();
  await ft.engine.writer.start();
  for (;;) {
    await ft.engine.writer.flush();
    if ((await pending()) === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const acceptedMs = performance.now() - t;
  window.fetch = original;
  gaps.sort((a, b) => a - b);
  while ((await ft.engine.writer.status()).queued > 0 && performance.now() - t < 300000) await new Promise((r) => setTimeout(r, 100));
  return { storage: ft.db.storage, floorMs, acceptedMs, syncedMs: performance.now() - t, apiMs, requests, gapP50: gaps[Math.floor(gaps.length / 2)] ?? 0, gapMax: gaps[gaps.length - 1] ?? 0 };
}`;

// Chromium ------------------------------------------------------------------------------------------
if (values.browser) {
  const chromium: Record<string, { apiFloorMs: number; acceptedMs: number; syncedMs: number }> = {};
  const stack = await startStack(server.url);
  const browser = await launchChromium();
  console.log(`\n${WRITES} queued creates in Chromium (idb://, PGlite in its worker), median of ${RUNS}`);
  for (const v of variants) {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "bench-drain-app-"));
    await build({ root: v.app, configFile: path.join(v.app, "vite.config.ts"), logLevel: "error", build: { outDir: out, emptyOutDir: true, minify: true } });
    const site = await serveStatic(out);
    const accepted: number[] = [];
    const synced: number[] = [];
    const floors: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const context = await browser.newContext();
      await context.addInitScript({ path: INSPECT });
      const page = await context.newPage();
      // Signs in as Ada through the app's form; the app opens her database and the inspector exposes it.
      await openApp(page, appUrl(site.url, stack, `drain-${run}`, { storage: "idb" }));
      await page.waitForFunction(() => "__financeTracker" in window, undefined, { timeout: 60_000 });
      // Plain JavaScript text: tsx would wrap a function passed to page.evaluate in helpers the page lacks.
      const r = (await page.evaluate(`(${IN_PAGE})(${JSON.stringify({ sql: QUEUE, n: WRITES, tag: `c${run}${v.name.replace(/\W/g, "")}`, api: stack.backend.url, token: await tokenOf(stack) })})`)) as { storage: string; floorMs: number; acceptedMs: number; syncedMs: number; apiMs: number; requests: number; gapP50: number; gapMax: number };
      console.error(`    run ${run}: ${JSON.stringify(r)}`);
      if (r.storage !== "idb") throw new Error(`asked for idb, the app runs on ${r.storage}`);
      accepted.push(r.acceptedMs);
      floors.push(r.floorMs);
      synced.push(r.syncedMs);
      await context.close();
    }
    chromium[v.name] = { apiFloorMs: median(floors), acceptedMs: median(accepted), syncedMs: median(synced) };
    console.log(`  ${v.name.padEnd(12)} API alone from the page ${s(median(floors))}; drain: all accepted ${s(median(accepted))} (${(median(accepted) / median(floors)).toFixed(2)}× the API alone), all synced back ${s(median(synced))}`);
    await site.close();
    fs.rmSync(out, { recursive: true, force: true });
  }
  await browser.close();
  await stack.stop();
  results.chromium = chromium;
}

if (values.before) {
  const [before, after] = variants.map((v) => v.name);
  console.log(`\nbefore (${before}) / after (this tree):`);
  for (const storage of ["memory", "disk"]) console.log(`  Node ${storage.padEnd(6)}  ${(node[before!]![storage]! / node[after!]![storage]!).toFixed(2)}×`);
  const c = results.chromium as Record<string, { acceptedMs: number; syncedMs: number }> | undefined;
  if (c) console.log(`  Chromium accepted ${(c[before!]!.acceptedMs / c[after!]!.acceptedMs).toFixed(2)}×, synced ${(c[before!]!.syncedMs / c[after!]!.syncedMs).toFixed(2)}×`);
}
console.log(JSON.stringify(results));
await backend.close();
await server.stop();
