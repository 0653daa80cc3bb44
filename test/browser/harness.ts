/**
 * What the browser test and bench/ui need around the example app: a production build of it,
 * a static file server for the build, the backend and the shape server on free loopback ports,
 * and Debian's Chromium through playwright-core.
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { build } from "vite";
import { createServer, type RunningServer } from "../../examples/finance-tracker/server/server.js";
import { startShapeServer, type ShapeServer } from "../../packages/shape-server/src/index.js";

// Not from ../support/project.js: that module registers vitest hooks, and bench/ui runs outside vitest.
export const REPO = path.resolve(import.meta.dirname, "../..");
export const APP_DIR = path.join(REPO, "examples/finance-tracker/app");

/** Builds the example app once into `outDir` (vite build, quiet). */
export async function buildApp(outDir: string): Promise<void> {
  await build({
    root: APP_DIR,
    configFile: path.join(APP_DIR, "vite.config.ts"),
    logLevel: "error",
    build: { outDir, emptyOutDir: true, minify: true },
  });
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".data": "application/octet-stream",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** Serves a built app from `dir` on 127.0.0.1 (index.html for `/`). */
export async function serveStatic(dir: string): Promise<StaticServer> {
  const root = path.resolve(dir);
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = path.join(root, pathname === "/" ? "index.html" : pathname);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, {
      "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
      "cache-control": pathname.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
    });
    fs.createReadStream(file).pipe(res);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface Stack {
  backend: RunningServer;
  backendPort: number;
  shapes: ShapeServer;
  /** Restarts the backend on the same port (after `backend.close()`). */
  restartBackend(): Promise<RunningServer>;
  stop(): Promise<void>;
}

/** The backend (with its shape proxy in front of the shape server) and the shape server over one database. */
export async function startStack(databaseUrl: string): Promise<Stack> {
  const shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 2_000 });
  const start = (port: number) => createServer({ databaseUrl, electricUrl: shapes.shapeUrl, port, host: "127.0.0.1", faults: true, log: () => {} });
  const backend = await start(0);
  const stack: Stack = {
    backend,
    backendPort: Number(new URL(backend.url).port),
    shapes,
    async restartBackend() {
      stack.backend = await start(stack.backendPort);
      return stack.backend;
    },
    async stop() {
      await stack.backend.close().catch(() => {});
      await shapes.stop();
    },
  };
  return stack;
}

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

const CHROMIUM = () => process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM(), args: CHROMIUM_ARGS });
}

/** One browser profile (a persistent context in `userDataDir`): its tabs share IndexedDB, Web Locks and the service worker. */
export function launchProfile(userDataDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM(), args: CHROMIUM_ARGS, viewport: { width: 1280, height: 760 } });
}

/** The app's URL for a stack: API (its shape proxy is `<api>/v1/shape`), the IndexedDB name as query parameters. */
export function appUrl(base: string, stack: Stack, db: string, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams({ api: stack.backend.url, db, retryMax: "500", ...extra });
  return `${base}/?${params}`;
}

/** The demo users the example server creates (server/auth.ts; password "demo"). */
export const USERS = {
  /** Lovelace household, owner. */
  ada: "ada@example.com",
  /** Lovelace household, editor. */
  charles: "charles@example.com",
  /** Lovelace household, viewer. */
  grace: "grace@example.com",
  /** Turing household, owner. */
  alan: "alan@example.com",
} as const;

/** Signs in through the app's own form (the page shows it) and waits for the app. */
export async function signIn(page: Page, email: string = USERS.ada): Promise<void> {
  await page.getByTestId("signin-email").fill(email);
  await page.getByTestId("signin-password").fill("demo");
  await page.getByTestId("signin-submit").click();
  // Opening a fresh profile's database (PGlite's WebAssembly, initdb) can take a while on a loaded machine.
  await page.locator(`[data-testid="signed-in"][data-user="${email}"]`).waitFor({ timeout: 60_000 });
}

/** A bearer token of a demo user, for requests a test makes itself (POST /api/login). */
export async function tokenOf(stack: Stack, email: string = USERS.ada): Promise<string> {
  const response = await fetch(`${stack.backend.url}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: "demo" }) });
  if (!response.ok) throw new Error(`login ${email}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

/** The household id of a demo user's rows (for rows a test inserts into Postgres itself). */
export const HOUSEHOLD = { lovelace: "00000000-0000-4000-8000-00000000aa01", turing: "00000000-0000-4000-8000-00000000bb02" } as const;

/**
 * Opens the app and waits until the local database is open and the lists have loaded; signs in
 * as `as` (default Ada) when the profile is signed out. `form: false`: do not wait for the contact
 * form (it shows once the user's role has synced; a test that holds the shapes back never gets it).
 */
export async function openApp(page: Page, url: string, as: string = USERS.ada, timeout = 90_000, form = true): Promise<void> {
  await page.goto(url);
  await signedIn(page, as, timeout, form);
}

/** Signs in as `as` if the page shows the sign-in form; then waits for the app. */
export async function signedIn(page: Page, as: string = USERS.ada, timeout = 90_000, form = true): Promise<void> {
  // A fresh profile downloads and compiles PGlite and creates its OPFS files: on a loaded machine that takes a while.
  const signInForm = page.getByTestId("signin-form");
  const contacts = page.getByTestId("contacts");
  await signInForm.or(contacts).first().waitFor({ timeout });
  if (await signInForm.isVisible()) await signIn(page, as);
  await contacts.waitFor({ timeout });
  if (form) await page.getByTestId("contact-form").waitFor();
}

/** Forwards the page's console errors and uncaught exceptions to the test output. */
export function echoPageErrors(page: Page, label: string): void {
  page.on("pageerror", (e) => console.error(`[${label}] page error:`, e));
  page.on("console", (m) => {
    // Failed requests while a test has the backend down are expected; the app shows them itself.
    if (m.type() === "error" && !/Failed to load resource|ERR_CONNECTION_REFUSED|Failed to fetch/.test(m.text())) console.error(`[${label}] console:`, m.text());
  });
}

/** Exposes the app's database, sync engine and collections as window.__financeTracker: `context.addInitScript({ path: INSPECT })`. */
export const INSPECT = path.join(REPO, "test/browser/inspect.js");

/** The in-page helpers of probes.js; add them to a context with `context.addInitScript({ path: PROBES })`. */
export const PROBES = path.join(REPO, "test/browser/probes.js");

export interface UiTiming {
  /** click → the change is in the DOM (MutationObserver), ms. */
  dom: number;
  /** click → the next frame after that has been painted, ms. */
  paint: number;
  /** The row's sync status when it appeared. */
  status: string;
  /** Durations (ms) of main-thread long tasks around the click (create only). */
  blockedBy?: number[];
  /** With INSPECT: click → the row in the collection / in the list's live query, ms. */
  stages?: { collection?: number; liveQuery?: number };
  /** Epoch ms of the click (performance.timeOrigin + now: comparable across tabs). */
  clickedAt: number;
}

export interface DataPathSample {
  /** The synchronous collection.insert(): every live query on the collection updated. */
  insert: number;
  /** insert → the list's live query reported the row. */
  live: number;
  /** insert → written to PGlite and delivered back by the change feed. */
  durable: number;
}

interface Probes {
  firstRows(): { dom?: number; paint?: number };
  seenAt(name: string): Promise<number>;
  createContact(first: string, last: string): Promise<UiTiming>;
  editContact(id: string, last: string): Promise<UiTiming>;
  dataPath(n: number, prefix: string): Promise<DataPathSample[]>;
  longTasks(since?: number): { start: number; duration: number }[];
}
type ProbeGlobal = { __probes: Probes };

export const probe = {
  createContact: (page: Page, first: string, last: string) =>
    page.evaluate(([f, l]) => (globalThis as unknown as ProbeGlobal).__probes.createContact(f, l), [first, last] as const),
  editContact: (page: Page, id: string, last: string) =>
    page.evaluate(([i, l]) => (globalThis as unknown as ProbeGlobal).__probes.editContact(i, l), [id, last] as const),
  firstRows: (page: Page) => page.evaluate(() => (globalThis as unknown as ProbeGlobal).__probes.firstRows()),
  seenAt: (page: Page, name: string) => page.evaluate((n) => (globalThis as unknown as ProbeGlobal).__probes.seenAt(n), name),
  longTasks: (page: Page) => page.evaluate(() => (globalThis as unknown as ProbeGlobal).__probes.longTasks()),
  dataPath: (page: Page, n: number, prefix: string) =>
    page.evaluate(([count, p]) => (globalThis as unknown as ProbeGlobal).__probes.dataPath(count, p), [n, prefix] as const),
};

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/**
 * What a tab knows about the rows of an entity's `table` whose `column` equals `value` (needs
 * INSPECT): the database's view, overlay and synced rows, the queued changes, the collection's
 * rows and TanStack DB's state of it, and whether this tab leads the sync engine. Printed when a
 * test's check fails, so a flaky failure says where a row or its status stuck.
 */
export async function rowState(page: Page, table: string, column: string, value: string): Promise<unknown> {
  return page
    .evaluate(
      async ({ table, column, value }) => {
        // TanStack DB's own state of the collection (0.15: not public API, read only for this report).
        type CollectionInternals = {
          transactions: Map<string, { id: string; state: string; mutations: Array<{ key: unknown; type: string }> }>;
          pendingSyncedTransactions: Array<{ committed: boolean; operations: unknown[] }>;
          optimisticUpserts: Map<unknown, unknown>;
          syncedData: Map<unknown, Record<string, unknown>>;
        };
        type Collection = { toArray: Array<Record<string, unknown>>; _state?: CollectionInternals };
        type Inspected = {
          db: { pg: { query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }> } };
          engine: { leading?(): boolean };
          collections: Record<string, Collection>;
        };
        const t = (globalThis as unknown as { __financeTracker?: Inspected }).__financeTracker;
        if (!t) return "no __financeTracker (INSPECT not loaded, or the app did not open)";
        // A query the database never answers is reported as such, not waited for.
        const unanswered = () => new Promise<{ rows: unknown[] }>((resolve) => setTimeout(() => resolve({ rows: ["no answer in 5 s"] }), 5_000));
        const q = async (sql: string, params: unknown[] = []) => (await Promise.race([t.db.pg.query(sql, params).catch((e: Error) => ({ rows: [e.message] })), unanswered()])).rows;
        const c = `"${column}"`;
        const collection = Object.values(t.collections).find((x) => (x as unknown as { id?: string }).id === table);
        const mine = (r: Record<string, unknown>) => r[column] === value;
        return {
          leading: t.engine.leading?.(),
          view: await q(`SELECT * FROM "${table}" WHERE ${c} = $1`, [value]),
          local: await q(`SELECT * FROM "${table}_local" WHERE ${c} = $1`, [value]),
          synced: await q(`SELECT * FROM "${table}_synced" WHERE ${c} = $1`, [value]),
          changes: await q(`SELECT "seq", "entity", "op", "row_key", "status", "attempts", "txid", "last_error" FROM "_changes" ORDER BY 1 DESC LIMIT 20`),
          collection: collection?.toArray.filter(mine),
          internals:
            collection?._state &&
            ((state: CollectionInternals) => ({
              transactions: [...state.transactions.values()].map((tx) => ({ id: tx.id, state: tx.state, keys: tx.mutations.map((m) => `${m.type} ${String(m.key)}`) })),
              pendingSynced: state.pendingSyncedTransactions.map((tx) => ({ committed: tx.committed, operations: tx.operations.length })),
              optimistic: [...state.optimisticUpserts.keys()].map(String),
              synced: [...state.syncedData.values()].filter(mine),
            }))(collection._state),
        };
      },
      { table, column, value },
    )
    .catch((e: Error) => `unreadable: ${e.message}`);
}

/** Runs `check`; if it fails, the failure also shows `state()` (e.g. rowState of each tab) and `log`. */
export async function reported(check: () => Promise<unknown>, state: () => Promise<unknown>, log: readonly string[] = []): Promise<void> {
  try {
    await check();
  } catch (error) {
    throw new Error(`${(error as Error).message}\nwhat the tabs hold: ${JSON.stringify(await state(), null, 1)}${log.length ? `\nlog:\n${log.slice(-40).join("\n")}` : ""}`);
  }
}
