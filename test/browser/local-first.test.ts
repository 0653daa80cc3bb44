/**
 * Local-first where users are: the finance-tracker app in Debian's Chromium with the network
 * really off (`context.setOffline`), and several tabs of ONE browser profile (a persistent
 * context: one IndexedDB, one PGlite leader, one service worker), against real PostgreSQL, the
 * example backend and the shape server. Only what a user would notice is asserted; no timings.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { usePostgres } from "../support/postgres/index.js";
import { addContact, contactRow, editContact, expectAttr, expectCount } from "./app-page.js";
import { appUrl, buildApp, reported as reportedWith, rowState, echoPageErrors, INSPECT, launchProfile, openApp, serveStatic, signedIn, startStack, type Stack, type StaticServer } from "./harness.js";

const postgres = usePostgres();
let stack: Stack;
let web: StaticServer;
let remote: pg.Client;
const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-browser-lf-"));
const profiles: { context: BrowserContext; dir: string }[] = [];
const pageErrors: string[] = [];
/** What the tabs' database workers logged (printed with a failure's report). */
const workerLog: string[] = [];

beforeAll(async () => {
  const databaseUrl = await postgres().createDatabase();
  [stack] = await Promise.all([startStack(databaseUrl), buildApp(buildDir)]);
  web = await serveStatic(buildDir);
  remote = new pg.Client(databaseUrl);
  await remote.connect();
}, 120_000);

afterAll(async () => {
  await web?.close();
  await stack?.stop();
  await remote?.end();
  fs.rmSync(buildDir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const p of profiles.splice(0)) {
    await p.context.close();
    fs.rmSync(p.dir, { recursive: true, force: true });
  }
  workerLog.splice(0);
  expect(pageErrors.splice(0)).toEqual([]);
  stack.backend.faults?.reset();
  if (!(await backendUp())) await stack.restartBackend();
});

async function backendUp(): Promise<boolean> {
  return fetch(stack.backend.url).then(
    () => true,
    () => false,
  );
}

async function profile(): Promise<BrowserContext> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-profile-"));
  const context = await launchProfile(dir);
  await context.addInitScript({ path: INSPECT });
  profiles.push({ context, dir });
  return context;
}

/** A new tab of `context` with the app open on the local database `db`. */
async function tab(context: BrowserContext, db: string, label: string): Promise<Page> {
  const page = await context.newPage();
  echoPageErrors(page, label);
  page.on("worker", (worker) => worker.on("console", (m) => workerLog.push(`${label} worker ${m.type()}: ${m.text()}`)));
  page.on("pageerror", (e) => pageErrors.push(`${label}: ${e.message}`));
  await openApp(page, appUrl(web.url, stack, db));
  return page;
}

/** How long to wait for what a tab shows (not a goal: tabs on a loaded machine take their time). */
const WAIT = { timeout: 30_000 };
/** How long a queue may take to drain: the browser confirms about one write a second today (docs/performance.md). */
const DRAIN = 90_000;

const query = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => (await remote.query<T>(sql, params)).rows;
/** An element of the page (this project is type-checked without the DOM library). */
type Attributed = { getAttribute(name: string): string | null };
const badge = (page: Page) => page.getByTestId("sync-badge");
const names = async (page: Page, first: string) =>
  (await page.locator(`[data-testid="contact-row"][data-name^="${first} "]`).evaluateAll((rows) => rows.map((r) => (r as unknown as Attributed).getAttribute("data-name") ?? ""))).sort();
const serverNames = async (first: string) =>
  (await query<{ name: string }>(`SELECT first_name || ' ' || last_name AS name FROM contacts WHERE first_name = $1`, [first])).map((r) => r.name).sort();
/** Runs `check`; if it fails, the failure shows what each tab of `pages` holds of the contacts `first …`, and what their database workers logged. */
const reported = (pages: Page[], first: string, check: () => Promise<unknown>) =>
  reportedWith(check, () => Promise.all(pages.map((p) => rowState(p, "contacts", "first_name", first))), workerLog);

/** Every row of `first` in every tab of `pages` settles on "synced". */
async function allSynced(pages: Page[], first: string): Promise<void> {
  for (const page of pages) await reported(pages, first, () => expect.poll(() => statuses(page, first), WAIT).toEqual(["synced"]));
}
const statuses = async (page: Page, first: string) =>
  [...new Set(await page.locator(`[data-testid="contact-row"][data-name^="${first} "]`).evaluateAll((rows) => rows.map((r) => (r as unknown as Attributed).getAttribute("data-status"))))];

describe("offline: the network really off", () => {
  it("writes made offline show at once as pending, survive a reload while offline (the app opens from its service worker), and land exactly once", async () => {
    const context = await profile();
    const page = await tab(context, "offline", "offline");
    // The first visit installs the service worker (app shell, PGlite's files, the database worker).
    await page.waitForFunction(() => (globalThis as unknown as { navigator: { serviceWorker?: { controller: unknown } } }).navigator.serviceWorker?.controller != null, undefined, { timeout: 180_000 });
    for (let i = 1; i <= 5; i++) await addContact(page, "Edit", `E${i}`);
    for (let i = 1; i <= 3; i++) await addContact(page, "Drop", `D${i}`);
    await expectAttr(badge(page), "data-queued", "0", DRAIN);
    await expect.poll(() => statuses(page, "Edit"), WAIT).toEqual(["synced"]);

    await context.setOffline(true);
    for (let i = 1; i <= 10; i++) await addContact(page, "Away", `A${String(i).padStart(2, "0")}`);
    for (let i = 1; i <= 5; i++) await editContact(page, `Edit E${i}`, { last: `E${i} offline` });
    for (let i = 1; i <= 3; i++) await contactRow(page, `Drop D${i}`).getByTestId("delete-contact").click();

    const expectOfflineState = async () => {
      await expect.poll(() => names(page, "Away"), WAIT).toHaveLength(10);
      expect(await statuses(page, "Away")).toEqual(["pending"]);
      await expect.poll(() => names(page, "Edit"), WAIT).toEqual([1, 2, 3, 4, 5].map((i) => `Edit E${i} offline`));
      await expect.poll(() => statuses(page, "Edit"), WAIT).toEqual(["pending"]);
      await expectCount(page.locator('[data-testid="contact-row"][data-name^="Drop "]'), 0);
      await expectAttr(badge(page), "data-queued", "18");
      await expectAttr(badge(page), "data-state", "offline");
    };
    await reported([page], "Away", expectOfflineState);

    await page.reload();
    await page.getByTestId("contact-form").waitFor({ timeout: 30_000 });
    await reported([page], "Away", expectOfflineState);
    expect(await serverNames("Away")).toEqual([]);

    await context.setOffline(false);
    await expectAttr(badge(page), "data-queued", "0", DRAIN);
    await expectAttr(badge(page), "data-state", "synced");
    expect(await serverNames("Away")).toEqual(Array.from({ length: 10 }, (_, i) => `Away A${String(i + 1).padStart(2, "0")}`));
    expect(await serverNames("Edit")).toEqual([1, 2, 3, 4, 5].map((i) => `Edit E${i} offline`));
    expect(await serverNames("Drop")).toEqual([]);
    await expect.poll(() => statuses(page, "Away"), WAIT).toEqual(["synced"]);
    await expect.poll(() => statuses(page, "Edit"), WAIT).toEqual(["synced"]);
  }, 300_000);
});

// SPEC W9, L5, L7, L8: one engine per profile, every tab reads the feed, writes cut off by a hand-over.
describe("tabs of one browser profile", () => {
  it("share one database and one sync engine: writes reach the other tabs with the server stopped, offline writes of every tab land once, and closing the leading tab mid-drain loses nothing", async () => {
    const context = await profile();
    const a = await tab(context, "tabs", "tab A");
    await expectAttr(badge(a), "data-leading", "true", 30_000);
    const b = await tab(context, "tabs", "tab B");
    await expectAttr(badge(b), "data-leading", "false");

    // The API is down: a write in one tab still reaches the other, through the shared database.
    await stack.backend.close();
    await addContact(a, "Tab", "From A");
    await expectAttr(contactRow(b, "Tab From A"), "data-status", "pending");
    await addContact(b, "Tab", "From B");
    await expectAttr(contactRow(a, "Tab From B"), "data-status", "pending");
    for (const page of [a, b]) await expectAttr(badge(page), "data-queued", "2");

    // A third tab; then the network goes away and every tab writes.
    const c = await tab(context, "tabs", "tab C");
    await expect.poll(() => names(c, "Tab"), WAIT).toEqual(["Tab From A", "Tab From B"]);
    await context.setOffline(true);
    await addContact(c, "Tab", "From C");
    await editContact(a, "Tab From B", { last: "From B, edited in A" });
    await addContact(b, "Tab", "From B again");
    const expected = ["Tab From A", "Tab From B again", "Tab From B, edited in A", "Tab From C"];
    for (const page of [a, b, c]) {
      await expect.poll(() => names(page, "Tab"), WAIT).toEqual(expected);
      await expectAttr(badge(page), "data-queued", "5");
    }

    await context.setOffline(false);
    await stack.restartBackend();
    for (const page of [a, b, c]) {
      await expectAttr(badge(page), "data-queued", "0", DRAIN);
      await expectAttr(badge(page), "data-state", "synced");
    }
    expect(await serverNames("Tab")).toEqual(expected);
    for (const page of [a, b, c]) await expect.poll(() => names(page, "Tab"), WAIT).toEqual(expected);
    await allSynced([a, b, c], "Tab");

    // Writes queue behind a slow API; the leading tab closes while they drain. SPEC L16: every call of
    // the other tabs ends across the change of PGlite's leader (a write made just before it stayed
    // pending in its tab for good), L7, L8.
    stack.backend.faults!.delayResponses(400);
    for (let i = 1; i <= 6; i++) await addContact(b, "Drain", `N${i}`);
    await expect.poll(async () => (await serverNames("Drain")).length, { timeout: 20_000 }).toBeGreaterThan(0);
    await a.close();
    await reported([b, c], "Drain", () =>
      expect.poll(async () => [await badge(b).getAttribute("data-leading"), await badge(c).getAttribute("data-leading")].sort(), { timeout: 30_000 }).toEqual(["false", "true"]),
    );
    const drained = Array.from({ length: 6 }, (_, i) => `Drain N${i + 1}`);
    await expect.poll(() => serverNames("Drain"), { timeout: 60_000 }).toEqual(drained);
    for (const page of [b, c]) await expectAttr(badge(page), "data-queued", "0", DRAIN);
    await allSynced([b, c], "Drain");
    // And the new leader keeps syncing: a write after the hand-over lands too.
    await addContact(c, "Drain", "After");
    await expect.poll(() => serverNames("Drain"), { timeout: 30_000 }).toEqual([...drained, "Drain After"].sort());
    await allSynced([b, c], "Drain");
  }, 240_000);
  it("a tab that opens while a closed tab's worker still holds the database's files waits for them, then shows its rows and writes", async () => {
    const context = await profile();
    const a = await tab(context, "held", "tab A");
    await addContact(a, "Held", "Before");
    await expectAttr(contactRow(a, "Held Before"), "data-status", "synced", 30_000);
    await a.close();

    // A worker of another tab holds every file of the database but its state file, as a closed
    // tab's worker still can for a moment while the next tab is already elected.
    const holder = await tab(context, "holder", "holder");
    expect(await holder.evaluate(holdFiles, "held")).toBeGreaterThan(100);
    const b = await context.newPage();
    // Not echoPageErrors: PGlite logs every file it could not open (a few hundred lines, expected here).
    b.on("pageerror", (e) => console.error("[tab B] page error:", e));
    b.on("pageerror", (e) => pageErrors.push(`tab B: ${e.message}`));
    const waiting = new Promise<string>((resolve) =>
      b.on("worker", (worker) => worker.on("console", (m) => /is still held by another worker/.test(m.text()) && resolve(m.text()))),
    );
    await b.goto(appUrl(web.url, stack, "held"));
    expect(await waiting).toContain("held@");
    expect(await holder.evaluate(() => (globalThis as unknown as { __release(): Promise<number> }).__release())).toBeGreaterThan(100);

    await signedIn(b);
    await expectAttr(contactRow(b, "Held Before"), "data-status", "synced");
    await addContact(b, "Held", "After");
    await expectAttr(contactRow(b, "Held After"), "data-status", "synced", 30_000);
    expect(await serverNames("Held")).toEqual(["Held After", "Held Before"]);
  }, 240_000);
});

/**
 * In the page: a worker opens an access handle on every file in `data/` of the OPFS databases
 * named `db` (or `db@<user>`), waiting for any another worker still holds; `__release()` closes
 * them. Returns how many it holds.
 */
function holdFiles(db: string): Promise<number> {
  const source = `
    const handles = [];
    onmessage = async (event) => {
      if (event.data === "release") {
        for (const handle of handles.splice(0)) handle.close();
        postMessage(-1);
        return;
      }
      const root = await navigator.storage.getDirectory();
      for await (const [name, dir] of root.entries()) {
        if (dir.kind !== "directory" || (name !== event.data && !name.startsWith(event.data + "@"))) continue;
        const data = await dir.getDirectoryHandle("data");
        for await (const [, file] of data.entries()) {
          for (let tries = 0; ; tries++) {
            try { handles.push(await file.createSyncAccessHandle()); break; }
            catch (error) { if (tries > 300) throw error; await new Promise((resolve) => setTimeout(resolve, 50)); }
          }
        }
      }
      postMessage(handles.length);
    };`;
  type Holder = { postMessage(message: unknown): void; onmessage: ((event: { data: number }) => void) | null };
  const scope = globalThis as unknown as { Worker: new (url: string) => Holder; URL: { createObjectURL(blob: unknown): string }; Blob: new (parts: string[], options: object) => unknown; __release(): Promise<number> };
  const worker = new scope.Worker(scope.URL.createObjectURL(new scope.Blob([source], { type: "text/javascript" })));
  const answer = (message: unknown) =>
    new Promise<number>((resolve) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.postMessage(message);
    });
  let count = 0;
  scope.__release = async () => ((await answer("release")), count);
  return answer(db).then((n) => (count = n));
}
