/**
 * bench/ui/storage: PGlite's browser storages side by side, through the generated createDatabase
 * with PGlite in its Web Worker (the way the app opens it), in Debian's Chromium. Each run uses a
 * fresh browser profile:
 *   fresh open     createDatabase on an empty profile (initdb or the prebuilt data directory, then the schema)
 *   first query    SELECT count(*) FROM contacts right after
 *   seed           100k rows into contacts_synced in one statement (stored when it resolves)
 *   write→stored   one INSERT through the contacts view (the triggers queue the change), median of 20
 *   reopen         reload the page, createDatabase again (the rows and the schema are there)
 *   first 50 rows  the list's query: ORDER BY created_at DESC NULLS FIRST, id DESC LIMIT 50
 *   all rows       SELECT * FROM contacts (what a collection that loads everything reads)
 *
 * Run: npx tsx bench/ui/storage.mts [--rows 100000] [--runs 3] [--storages idb,opfs-ahp] [--prebuilt]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { build } from "vite";
import { launchProfile, serveStatic } from "../../test/browser/harness.ts";

const { values } = parseArgs({
  options: { rows: { type: "string", default: "100000" }, runs: { type: "string", default: "3" }, storages: { type: "string", default: "idb,opfs-ahp" }, prebuilt: { type: "boolean", default: false } },
});
const ROWS = Number(values.rows);
const RUNS = Number(values.runs);
const STORAGES = values.storages.split(",");

const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-bench-storage-"));
const root = path.join(import.meta.dirname, "storage");
await build({
  root,
  configFile: false,
  logLevel: "error",
  optimizeDeps: { exclude: ["@electric-sql/pglite"] },
  build: { outDir, emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 4000 },
  worker: { format: "es" },
});
if (values.prebuilt) {
  const { buildDataDir } = await import("../../examples/finance-tracker/app/src/generated/db/init.ts");
  fs.writeFileSync(path.join(outDir, "prebuilt"), new Uint8Array(await (await buildDataDir()).arrayBuffer()));
}
const web = await serveStatic(outDir);

type Bench = { open(d: string, prebuilt?: string): Promise<number>; query(sql: string, params?: unknown[]): Promise<[number, number]>; close(): Promise<number> };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

const results: Record<string, Record<string, number[]>> = {};
try {
  for (let run = 0; run < RUNS; run++) {
    for (const storage of STORAGES) {
      const profile = fs.mkdtempSync(path.join(os.tmpdir(), "sp-bench-storage-profile-"));
      const context = await launchProfile(profile);
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        page.on("pageerror", (e) => console.error(`[${storage}] page error:`, e.message));
        const b = <T,>(fn: (bench: Bench, arg: any) => Promise<T>, arg?: unknown) => page.evaluate(([f, a]) => (new Function("b", "a", `return (${f})(b, a)`))((globalThis as any).__storageBench, a), [fn.toString(), arg] as const) as Promise<T>;
        await page.goto(`${web.url}/`);
        await page.waitForFunction(() => (globalThis as any).__storageBench !== undefined);
        const dataDir = storage.includes("://") ? storage : `${storage}://bench`;
        const r: Record<string, number> = {};
        r.freshOpen = await b((x, a) => x.open(a.dataDir, a.prebuilt), { dataDir, prebuilt: values.prebuilt ? "/prebuilt" : undefined });
        r.firstQuery = (await b((x) => x.query(`SELECT count(*) FROM contacts`)))[0];
        r.seed = (await b((x, n) => x.query(
          `INSERT INTO contacts_synced (id, first_name, last_name, email, company, created_at, updated_at)
           SELECT gen_random_uuid(), 'First' || i, 'Last' || i, 'user' || i || '@example.com', 'Company ' || (i % 500), now() - i * interval '1 second', now() FROM generate_series(1, $1::int) AS i`, [n]), ROWS))[0];
        const writes: number[] = [];
        for (let i = 0; i < 20; i++) writes.push((await b((x, k) => x.query(`INSERT INTO contacts (id, first_name, last_name) VALUES (gen_random_uuid(), 'W', $1)`, [String(k)]), i))[0]);
        r.writeStored = median(writes);
        await page.reload();
        await page.waitForFunction(() => (globalThis as any).__storageBench !== undefined);
        r.reopen = await b((x, a) => x.open(a), dataDir);
        r.first50 = (await b((x) => x.query(`SELECT * FROM contacts ORDER BY created_at DESC NULLS FIRST, id DESC LIMIT 50`)))[0];
        const all = await b((x) => x.query(`SELECT * FROM contacts`));
        r.allRows = all[0];
        if (all[1] !== ROWS + 20) throw new Error(`${storage}: ${all[1]} rows after reopen, expected ${ROWS + 20}`);
        await b((x) => x.close());
        for (const [k, v] of Object.entries(r)) ((results[storage] ??= {})[k] ??= []).push(v);
        console.log(`run ${run + 1} ${storage}: ${Object.entries(r).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
      } finally {
        await context.close();
        fs.rmSync(profile, { recursive: true, force: true });
      }
    }
  }
  const keys = Object.keys(results[STORAGES[0]!] ?? {});
  console.log(`\nmedians of ${RUNS} runs, ${ROWS} rows, ms   ${STORAGES.map((s) => s.padStart(12)).join("")}${STORAGES.length > 1 ? `   ${STORAGES[1]}/${STORAGES[0]}` : ""}`);
  for (const k of keys) {
    const m = STORAGES.map((s) => median(results[s]![k]!));
    console.log(`${k.padEnd(38)}${m.map((v) => v.toFixed(1).padStart(12)).join("")}${m.length > 1 ? `   ${(m[1]! / m[0]!).toFixed(2)}×` : ""}`);
  }
  console.log(JSON.stringify({ date: new Date().toISOString(), rows: ROWS, runs: RUNS, load: os.loadavg(), medians: Object.fromEntries(STORAGES.map((s) => [s, Object.fromEntries(keys.map((k) => [k, median(results[s]![k]!)]))])) }));
} finally {
  await web.close();
  fs.rmSync(outDir, { recursive: true, force: true });
}
