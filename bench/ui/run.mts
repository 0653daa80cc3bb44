/**
 * bench/ui: the finance-tracker app in Debian's Chromium with 100k contacts on the server, PGlite
 * in its Web Worker on OPFS (`opfs-ahp://`) and on IndexedDB (`idb://`, the app's `?storage=idb`)
 * side by side. Each run and storage uses a fresh browser profile (one persistent context, as a
 * user's browser):
 *
 *   fresh profile → first rows   open the app in the new profile: the prebuilt data directory,
 *                                the initial sync of every contact (Electric's protocol, through
 *                                the shape server), first contact rows painted (ms since navigation)
 *   fresh profile → all loaded   every contact in the collection
 *   warm reload → first rows     reload: the database is there, first rows painted
 *   click → painted (1 tab)      click "Add" → the new row painted (p99 over --clicks clicks)
 *   data path (1 tab)            collection.insert() → the list's live query has the row (p99)
 *   … (3 tabs)                   the same with two more tabs of the profile open
 *   tab A → in tab B             the API stopped: a create in tab A → the row in tab B's DOM (p99; B is
 *                                in the background, where Chromium paints about once a second)
 *   drain                        100 writes queued while the API is stopped; the API back → all confirmed
 *   heap                         the page's JS heap (CDP Runtime.getHeapUsage) after all that
 *
 * Every profile signs in as Ada (the demo user, through the app's own form, filled by Playwright
 * right away): the fresh-profile figures count from navigation and so include the sign-in form.
 * The contacts belong to Ada's household (the shape proxy serves a user their household's rows).
 *
 * The app carries no bench code: test/browser/inspect.js (through the generated client's
 * SyncInspector hook) and test/browser/probes.js are added to the profile with addInitScript.
 * Medians over runs; p99 within a run. No pass/fail: goals are printed next to the figures.
 *
 * Collections load on demand (the app's default for contacts and transactions: each list reads its
 * window as SQL) or whole (`?load=eager`), side by side with `--loads`. "All rows loaded" means every
 * contact stored in the local database, and with eager loading also in the collection.
 *
 * Run: npx tsx bench/ui/run.mts [--rows 100000] [--runs 3] [--clicks 30] [--storages opfs-ahp,idb] [--loads on-demand,eager]
 * Prints a table and one JSON line at the end.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import type { BrowserContext, Page } from "playwright-core";
import { startPostgres } from "../../test/support/postgres/index.ts";
import { appUrl, buildApp, HOUSEHOLD, INSPECT, launchProfile, percentile, probe, PROBES, serveStatic, signedIn, startStack } from "../../test/browser/harness.ts";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "100000" },
    runs: { type: "string", default: "3" },
    clicks: { type: "string", default: "30" },
    storages: { type: "string", default: "opfs-ahp,idb" },
    loads: { type: "string", default: "on-demand,eager" },
  },
});
const ROWS = Number(values.rows);
const RUNS = Number(values.runs);
const CLICKS = Number(values.clicks);
const STORAGES = values.storages.split(",");
const LOADS = values.loads.split(",");
/** Each storage with each way of loading: `opfs-ahp/on-demand`, … */
const CONFIGS = STORAGES.flatMap((storage) => LOADS.map((load) => ({ storage, load, name: `${storage}/${load}` })));
const WARMUP = 3;
const QUEUED = 100;

type Ft = {
  engine: { writer: { status(): Promise<{ queued: number }> } };
  collections: { contacts: { size: number } };
  db: { storage: string; pg: { query<T>(sql: string): Promise<{ rows: T[] }> } };
};
const ft = () => (globalThis as unknown as { __financeTracker?: Ft }).__financeTracker;

const postgres = await startPostgres();
const databaseUrl = await postgres.createDatabase();
const stack = await startStack(databaseUrl);
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-bench-ui-"));
await buildApp(outDir);
const web = await serveStatic(outDir);

const client = new pg.Client(databaseUrl);
await client.connect();
await client.query(
  `INSERT INTO contacts (id, household_id, first_name, last_name, email, company, created_at, updated_at)
   SELECT gen_random_uuid(), $2::uuid, 'First' || i, 'Last' || i, 'user' || i || '@example.com', 'Company ' || (i % 500),
          now() - i * interval '1 second', now() FROM generate_series(1, $1::int) AS i`,
  [ROWS, HOUSEHOLD.lovelace],
);
await client.end();

/** Every contact stored in the local database (and, loading eagerly, in the collection). */
async function waitLoaded(page: Page, n: number, load: string): Promise<void> {
  await page.waitForFunction(
    async ([count, eager]) => {
      const f = (globalThis as unknown as { __financeTracker?: Ft }).__financeTracker;
      if (!f || (eager && f.collections.contacts.size < count)) return false;
      const r = await f.db.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM contacts_synced`).catch(() => ({ rows: [{ n: 0 }] }));
      return r.rows[0]!.n >= count;
    },
    [n, load === "eager"] as const,
    { timeout: 900_000, polling: 250 },
  );
}

async function firstRowsPainted(page: Page): Promise<number> {
  await page.waitForFunction(() => (globalThis as unknown as { __probes: { firstRows(): { paint?: number } } }).__probes.firstRows().paint !== undefined, undefined, {
    timeout: 900_000,
    polling: 50,
  });
  return (await probe.firstRows(page)).paint!;
}

const queued = (page: Page) => page.evaluate(async () => (await (globalThis as unknown as { __financeTracker: Ft }).__financeTracker.engine.writer.status()).queued);

async function clicks(page: Page, label: string): Promise<{ paint: number; live: number }> {
  const runs = [];
  for (let i = 0; i < CLICKS + WARMUP; i++) runs.push(await probe.createContact(page, label, `C${i}`));
  const data = (await probe.dataPath(page, CLICKS + WARMUP, `${label}Data`)).slice(WARMUP);
  return { paint: percentile(runs.slice(WARMUP).map((r) => r.paint), 99), live: percentile(data.map((r) => r.live), 99) };
}

async function openTab(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(url);
  await signedIn(page, undefined, 900_000);
  await firstRowsPainted(page);
  return page;
}

type Figures = Record<string, number>;
const results: Record<string, Figures[]> = {};

try {
  for (let run = 1; run <= RUNS; run++) {
    for (const { storage, load, name } of CONFIGS) {
      const profile = fs.mkdtempSync(path.join(os.tmpdir(), "sp-bench-ui-profile-"));
      const context = await launchProfile(profile);
      await context.addInitScript({ path: PROBES });
      await context.addInitScript({ path: INSPECT });
      const f: Figures = {};
      try {
        const url = appUrl(web.url, stack, "bench-ui", { ...(storage === "idb" ? { storage: "idb" } : {}), ...(load === "eager" ? { load: "eager" } : {}) });
        const a = context.pages()[0] ?? (await context.newPage());
        a.on("pageerror", (e) => console.error("page error:", e.message));
        let t = performance.now();
        await a.goto(url);
        await signedIn(a, undefined, 900_000);
        f.freshFirstRows = await firstRowsPainted(a);
        await waitLoaded(a, ROWS, load);
        f.freshAllLoaded = performance.now() - t;
        const used = await a.evaluate(() => (globalThis as unknown as { __financeTracker: Ft }).__financeTracker.db.storage);
        if (used !== storage) throw new Error(`asked for ${storage}, the app runs on ${used}`);
        await a.waitForTimeout(1000);

        t = performance.now();
        await a.reload();
        await signedIn(a, undefined, 900_000);
        f.warmFirstRows = await firstRowsPainted(a);
        f.warmOpened = await a.evaluate(() => (globalThis as unknown as { __financeTracker: { openedAt: number } }).__financeTracker.openedAt);
        await waitLoaded(a, ROWS, load);
        f.warmAllLoaded = performance.now() - t;
        await a.waitForTimeout(500);

        const one = await clicks(a, "One");
        f.clickPaint1 = one.paint;
        f.dataPath1 = one.live;

        const b = await openTab(context, url);
        const c = await openTab(context, url);
        await waitLoaded(b, ROWS, load);
        await waitLoaded(c, ROWS, load);
        // Tab A in front again: Chromium paints a background tab about once a second.
        await a.bringToFront();
        const three = await clicks(a, "Three");
        f.clickPaint3 = three.paint;
        f.dataPath3 = three.live;

        // The API stopped: tab A's writes reach tab B through the shared database alone.
        await stack.backend.close();
        const cross: number[] = [];
        for (let i = 0; i < CLICKS + WARMUP; i++) {
          const name = `Cross C${i}`;
          // Tab B is in the background (tab A has the click): the row in its DOM, not its next paint.
          const seen = probe.seenAt(b, name);
          const click = await probe.createContact(a, "Cross", `C${i}`);
          cross.push((await seen) - click.clickedAt);
        }
        f.crossTab = percentile(cross.slice(WARMUP), 99);

        // 100 more writes queued while the API is down; then the API comes back.
        await probe.dataPath(a, QUEUED, "Queued");
        await a.waitForFunction(async (n) => (await (globalThis as unknown as { __financeTracker: Ft }).__financeTracker.engine.writer.status()).queued >= n, QUEUED, { timeout: 120_000, polling: 200 });
        f.drainWrites = await queued(a);
        await stack.restartBackend();
        t = performance.now();
        while ((await queued(a)) > 0 && performance.now() - t < 600_000) await a.waitForTimeout(50);
        f.drainMs = performance.now() - t;

        const cdp = await context.newCDPSession(a);
        await cdp.send("HeapProfiler.collectGarbage");
        f.heapMB = (await cdp.send("Runtime.getHeapUsage")).usedSize / 1024 / 1024;
        await cdp.detach();
      } catch (error) {
        console.error(`run ${run} ${name} failed after ${JSON.stringify(f)}:`, error);
        continue;
      } finally {
        await context.close().catch(() => {});
        fs.rmSync(profile, { recursive: true, force: true });
      }
      (results[name] ??= []).push(f);
      console.log(`run ${run} ${name}: ${Object.entries(f).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ")}`);
    }
  }

  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]!;
  const done = CONFIGS.map((c) => c.name).filter((s) => results[s]?.length);
  const medians = Object.fromEntries(done.map((s) => [s, Object.fromEntries(Object.keys(results[s]![0]!).map((k) => [k, median(results[s]!.map((r) => r[k]!))]))]));
  const rows: [string, string, string][] = [
    ["fresh profile → first rows painted", "freshFirstRows", "< 3000 ms"],
    ["fresh profile → all rows loaded", "freshAllLoaded", ""],
    ["warm reload → first rows painted", "warmFirstRows", "< 1000 ms"],
    ["  of which: database open, sync engine started", "warmOpened", ""],
    ["warm reload → all rows loaded", "warmAllLoaded", ""],
    ["click → painted p99, 1 tab", "clickPaint1", "< 50 ms"],
    ["data path p99, 1 tab", "dataPath1", "< 16 ms"],
    ["click → painted p99, 3 tabs", "clickPaint3", "< 50 ms"],
    ["data path p99, 3 tabs", "dataPath3", "< 16 ms"],
    ["tab A write → in tab B's DOM p99, API down", "crossTab", "< 50 ms"],
    ["queued writes drained (count)", "drainWrites", ""],
    ["drain after the API is back", "drainMs", "< 5000 ms (100)"],
    ["page JS heap, MB", "heapMB", "< 150"],
  ];
  console.log(`\n${ROWS} contacts, medians of ${RUNS} runs (p99 within each run over ${CLICKS} clicks); load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  console.log(`${"".padEnd(46)}${done.map((s) => s.padStart(20)).join("")}${done.length >= 2 ? `  ${done[0]}/${done[1]}` : ""}   goal`);
  for (const [label, key, goal] of rows) {
    const m = done.map((s) => medians[s]![key]!);
    console.log(`${label.padEnd(46)}${m.map((v) => v.toFixed(1).padStart(20)).join("")}${m.length >= 2 ? `  ${(m[0]! / m[1]!).toFixed(2)}×`.padEnd(12) : ""}   ${goal}`);
  }
  console.log(JSON.stringify({ date: new Date().toISOString(), rows: ROWS, runs: RUNS, clicks: CLICKS, load: os.loadavg(), medians, results }));
} finally {
  await web.close();
  await stack.stop();
  await postgres.stop();
  fs.rmSync(outDir, { recursive: true, force: true });
}
