/**
 * The finance-tracker example app in Debian's Chromium, against real parts: PostgreSQL, the
 * example backend, the shape server, and the app's production build served over HTTP. The app
 * uses only the generated client; each test opens its own browser context (its own IndexedDB).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { PGliteInterface } from "@electric-sql/pglite";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { usePostgres } from "../support/postgres/index.js";
import { accountRow, addAccount, addContact, attr, contactRow, editContact, expectAttr, expectCount, expectText, synced } from "./app-page.js";
import {
  HOUSEHOLD,
  appUrl,
  buildApp,
  echoPageErrors,
  INSPECT,
  launchChromium,
  openApp,
  probe,
  PROBES,
  REPO,
  reported,
  rowState,
  serveStatic,
  startStack,
  type Stack,
  type StaticServer,
} from "./harness.js";

const postgres = usePostgres();
let stack: Stack;
let web: StaticServer;
let browser: Browser;
let remote: pg.Client;
const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-browser-app-"));
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  const databaseUrl = await postgres().createDatabase();
  [stack] = await Promise.all([startStack(databaseUrl), buildApp(buildDir)]);
  web = await serveStatic(buildDir);
  browser = await launchChromium();
  remote = new pg.Client(databaseUrl);
  await remote.connect();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
  await stack?.stop();
  await remote?.end();
  fs.rmSync(buildDir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
  expect(pageErrors.splice(0)).toEqual([]);
  stack.backend.faults?.reset();
});

/** A new browser context (its own IndexedDB) with the app open on the local database `db`. */
async function open(db: string, extra: Record<string, string> = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  contexts.push(context);
  await context.addInitScript({ path: PROBES });
  await context.addInitScript({ path: INSPECT });
  const page = await context.newPage();
  echoPageErrors(page, db);
  page.on("pageerror", (e) => pageErrors.push(`${db}: ${e.message}`));
  await openApp(page, appUrl(web.url, stack, db, extra));
  return page;
}

const query = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => (await remote.query<T>(sql, params)).rows;

// A fresh profile opens slowly on a loaded machine (PGlite compiles, OPFS files are made): generous timeouts, no timing assertion.
describe("the finance-tracker app in Chromium", { timeout: 240_000 }, () => {
  // First, while the database is still small: a realistic state for docs/screenshot.png.
  it("screenshot: a few contacts, an account, one change waiting for the server", async () => {
    const page = await open("screenshot");
    await addContact(page, "Ada", "Lovelace", { email: "ada@example.com", company: "Analytical Engines" });
    await addContact(page, "Alan", "Turing", { email: "alan@example.org", company: "Bletchley Park" });
    await addContact(page, "Katherine", "Johnson", { company: "NASA" });
    await addAccount(page, "Main account");
    await expectAttr(accountRow(page, "Main account"), "data-status", "synced", 15_000);
    for (const name of ["Ada Lovelace", "Alan Turing", "Katherine Johnson"]) await synced(page, name);
    // The server answers 503 for a while: the next contact stays pending, queued.
    stack.backend.faults!.failNextWrites(1000, 1);
    await addContact(page, "Grace", "Hopper", { email: "grace@example.com", company: "US Navy" });
    await expectAttr(page.getByTestId("sync-badge"), "data-queued", "1");
    await expectAttr(contactRow(page, "Grace Hopper"), "data-status", "pending");
    // docs/screenshot.png is written when missing or with UPDATE_SCREENSHOT=1 (so that a test
    // run leaves the work tree clean); otherwise the shot goes to the build folder.
    const docsShot = path.join(REPO, "docs/screenshot.png");
    const target = process.env.UPDATE_SCREENSHOT || !fs.existsSync(docsShot) ? docsShot : path.join(buildDir, "screenshot.png");
    await page.screenshot({ path: target });
    stack.backend.faults!.reset();
    await synced(page, "Grace Hopper");
  }, 240_000);

  // How fast is measured in bench/ui (docs/performance.md), not asserted here: a shared machine under load is no place for a threshold.
  it("a: a new contact is in the list right after the click, pending, and later synced", async () => {
    const page = await open("create");
    const runs = [];
    for (let i = 0; i < 12; i++) runs.push(await probe.createContact(page, "Perf", `N${i}`));
    expect(runs.map((r) => r.status)).toEqual(runs.map(() => "pending"));
    await expectCount(page.locator('[data-testid="contact-row"][data-name^="Perf N"][data-status="synced"]'), 12, 20_000);
    expect(await query(`SELECT count(*)::int AS n FROM contacts WHERE first_name = 'Perf'`)).toEqual([{ n: 12 }]);
    await expectAttr(page.getByTestId("sync-badge"), "data-state", "synced");
  }, 240_000);

  it("b: with the backend down, edits queue, survive a reload (IndexedDB), then sync once the backend is back, without duplicates", async () => {
    const page = await open("offline");
    await addContact(page, "Offline", "Edited");
    await addContact(page, "Offline", "Deleted");
    await synced(page, "Offline Edited");
    await synced(page, "Offline Deleted");

    await stack.backend.close();
    await editContact(page, "Offline Edited", { last: "Edited v2" });
    await contactRow(page, "Offline Deleted").getByTestId("delete-contact").click();
    await addContact(page, "Offline", "New One");
    await addContact(page, "Offline", "New Two");
    const badge = page.getByTestId("sync-badge");
    await expectAttr(badge, "data-state", "offline", 10_000);
    await expectAttr(badge, "data-queued", "4");
    await expectCount(contactRow(page, "Offline Deleted"), 0);

    await page.reload();
    await page.getByTestId("contact-form").waitFor({ timeout: 30_000 });
    for (const name of ["Offline Edited v2", "Offline New One", "Offline New Two"]) {
      await expectAttr(contactRow(page, name), "data-status", "pending");
    }
    await expectCount(contactRow(page, "Offline Deleted"), 0);
    await expectCount(contactRow(page, "Offline Edited"), 0);
    await expectAttr(badge, "data-queued", "4");
    await expectAttr(badge, "data-state", "offline", 10_000);

    await stack.restartBackend();
    await expectAttr(badge, "data-state", "synced", 20_000);
    await expectAttr(badge, "data-queued", "0");
    for (const name of ["Offline Edited v2", "Offline New One", "Offline New Two"]) await synced(page, name);
    expect(await query(`SELECT last_name FROM contacts WHERE first_name = 'Offline' ORDER BY last_name`)).toEqual([
      { last_name: "Edited v2" },
      { last_name: "New One" },
      { last_name: "New Two" },
    ]);
    await expectCount(page.locator('[data-testid="contact-row"][data-name^="Offline "]'), 3);
  }, 240_000);

  it("c: writes the server rejects roll back in the UI and show a toast and the errors panel", async () => {
    const page = await open("rejected");
    await addAccount(page, "Wallet");
    await expectAttr(accountRow(page, "Wallet"), "data-status", "synced", 15_000);

    // Optimistic (transactions): the row shows at once, then the 422 takes it away.
    stack.backend.faults!.delayResponses(400);
    await page.getByTestId("transaction-account").selectOption({ label: "Wallet" });
    await page.getByTestId("transaction-amount").fill("0");
    await page.getByTestId("transaction-description").fill("Nothing at all");
    await page.getByTestId("add-transaction").click();
    const zero = page.locator('[data-testid="transaction-row"]', { hasText: "Nothing at all" });
    await expectAttr(zero, "data-status", "pending");
    await expectCount(zero, 0, 10_000);
    await expectCount(page.getByTestId("toast").filter({ hasText: /rejected the new transaction: 422/ }), 1);
    const error = page.getByTestId("error-item");
    await expectCount(error, 1);
    await expectAttr(error, "data-entity", "transactions");
    await expectText(error, "amount");
    expect(await query(`SELECT count(*)::int AS n FROM transactions WHERE description = 'Nothing at all'`)).toEqual([{ n: 0 }]);
    await error.getByTestId("discard").click();
    await expectCount(page.getByTestId("error-item"), 0);

    // Confirmed (accounts): the mutation rejects with the server's error; one toast, no row.
    await addAccount(page, "Bad currency", "euro");
    await expectCount(accountRow(page, "Bad currency"), 1);
    // One toast, from the mutation's error or from the error store, whichever comes first (same change id).
    await expectCount(page.getByTestId("toast").filter({ hasText: /(Bad currency.*failed|rejected the new account): 422/ }), 1, 10_000);
    await expectCount(accountRow(page, "Bad currency"), 0);
    await expectCount(page.getByTestId("error-item"), 1);
    await expectAttr(page.getByTestId("error-item"), "data-entity", "accounts");
    expect(await query(`SELECT count(*)::int AS n FROM accounts WHERE name = 'Bad currency'`)).toEqual([{ n: 0 }]);
  }, 240_000);

  it("d: a confirmed account shows a spinner until the server confirmed it", async () => {
    const page = await open("confirmed");
    stack.backend.faults!.delayResponses(800);
    await addAccount(page, "Savings");
    const row = accountRow(page, "Savings");
    await expectAttr(row, "data-status", "pending");
    await row.getByTestId("spinner").waitFor({ state: "visible" });
    await expect.poll(() => page.getByTestId("add-account").isDisabled()).toBe(true);
    await expectAttr(row, "data-status", "synced", 15_000);
    await expectCount(row.getByTestId("spinner"), 0);
    await expectText(row.getByTestId("account-balance"), "0.00");
    await expect.poll(() => page.getByTestId("add-account").isDisabled()).toBe(false);
    expect(await query(`SELECT name, currency FROM accounts WHERE name = 'Savings'`)).toEqual([{ name: "Savings", currency: "EUR" }]);
  });

  it("e: two browser contexts see each other's changes", async () => {
    const [a, b] = await Promise.all([open("two-a"), open("two-b")]);
    await addContact(a, "Shared", "Person");
    await expectAttr(contactRow(b, "Shared Person"), "data-status", "synced", 15_000);
    await editContact(b, "Shared Person", { last: "Person (edited in B)" });
    await expectAttr(contactRow(a, "Shared Person (edited in B)"), "data-status", "synced", 15_000);
    await contactRow(a, "Shared Person (edited in B)").getByTestId("delete-contact").click();
    await expectCount(contactRow(b, "Shared Person (edited in B)"), 0, 15_000);
    await expectAttr(b.getByTestId("sync-badge"), "data-state", "synced");
    expect(await query(`SELECT count(*)::int AS n FROM contacts WHERE first_name = 'Shared'`)).toEqual([{ n: 0 }]);
  }, 240_000);

  // A decimal string (Transaction.amount "-42.50") must reach the API as a string, not a JSON number.
  it("f: a valid transaction syncs with its decimal amount and updates the balance", async () => {
    const page = await open("transaction");
    await addAccount(page, "Groceries card");
    await reported(
      () => expectAttr(accountRow(page, "Groceries card"), "data-status", "synced", 15_000),
      () => rowState(page, "accounts", "name", "Groceries card"),
    );
    await page.getByTestId("transaction-account").selectOption({ label: "Groceries card" });
    await page.getByTestId("transaction-amount").fill("-42.50");
    await page.getByTestId("transaction-description").fill("Groceries");
    await page.getByTestId("add-transaction").click();
    const row = page.locator('[data-testid="transaction-row"]', { hasText: "Groceries" });
    const settled = async () => ((await page.getByTestId("error-item").count()) > 0 ? "rejected" : await attr(row, "data-status"));
    await expect.poll(settled, { timeout: 15_000 }).toMatch(/^(synced|rejected)$/);
    expect(await page.getByTestId("error-item").allTextContents()).toEqual([]);
    await expectAttr(row, "data-status", "synced");
    expect(await query(`SELECT amount::text FROM transactions WHERE description = 'Groceries'`)).toEqual([{ amount: "-42.50" }]);
    await expectText(accountRow(page, "Groceries card").getByTestId("account-balance"), "42.50", 10_000);
  });

  // PGlite runs in a Web Worker (PGliteWorker on the page); everything built on db.pg goes through it.
  it("g: the local database runs in a worker: the initial shape load (COPY from a Blob), transactions, LISTEN; ?mainthread keeps it on the page", async () => {
    await query(
      `INSERT INTO contacts (id, first_name, last_name, email, company, created_at, updated_at, household_id)
       SELECT gen_random_uuid(), 'Bulk', 'Row ' || i, NULL, NULL, now(), now(), '${HOUSEHOLD.lovelace}' FROM generate_series(1, 1500) AS i`,
    );
    const page = await open("worker");
    // The initial shape load stored every row (the contacts collection loads on demand: only what the list shows).
    await expect
      .poll(() => page.evaluate(async () => (await (globalThis as unknown as { __financeTracker: { db: { pg: PGliteInterface } } }).__financeTracker.db.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM contacts_synced WHERE first_name = 'Bulk'`)).rows[0]!.n), { timeout: 30_000 })
      .toBe(1500);
    const result = await page.evaluate(async () => {
      const pg = (globalThis as unknown as { __financeTracker: { db: { pg: PGliteInterface } } }).__financeTracker.db.pg;
      const inWorker = typeof (pg as unknown as { onLeaderChange?: unknown }).onLeaderChange === "function"; // PGliteWorker
      const bulk = (await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM contacts_synced WHERE first_name = 'Bulk'`)).rows[0]!.n;
      await pg.exec(`CREATE TABLE g_copy (id int, name text)`);
      await pg.query(`COPY g_copy FROM '/dev/blob' WITH (FORMAT csv)`, [], { blob: new Blob(["1,a\n2,b\n3,c"]) });
      const copied = (await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM g_copy`)).rows[0]!.n;
      await pg.transaction(async (tx) => {
        await tx.query(`INSERT INTO g_copy VALUES (4, 'd')`);
        await tx.rollback();
      });
      await pg.transaction(async (tx) => tx.query(`INSERT INTO g_copy VALUES (5, 'e')`));
      const afterTx = (await pg.query<{ id: number }>(`SELECT id FROM g_copy ORDER BY id`)).rows.map((r) => r.id);
      const payloads: string[] = [];
      const unlisten = await pg.listen("g_chan", (payload) => payloads.push(payload));
      await pg.exec(`NOTIFY g_chan, 'hello'`);
      for (let i = 0; i < 50 && payloads.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      await unlisten();
      const error = await pg.query(`SELECT * FROM no_such_table`).then(() => "", (e: Error) => e.message);
      const storage = (globalThis as unknown as { __financeTracker: { db: { storage: string } } }).__financeTracker.db.storage;
      // A new database starts from the prebuilt data directory: initdb's and migrate's work is in it already.
      const schema = (await pg.query<{ entity: string }>(`SELECT "entity" FROM "_sync_schema" ORDER BY 1`)).rows.map((r) => r.entity);
      const created = (globalThis as unknown as { __financeTracker: { db: { migration: { created: string[] } } } }).__financeTracker.db.migration.created;
      return { inWorker, bulk, copied, afterTx, payloads, error, storage, schema, created };
    });
    expect(result).toEqual({
      inWorker: true,
      bulk: 1500,
      copied: 3,
      afterTx: [1, 2, 3, 5],
      payloads: ["hello"],
      error: expect.stringContaining("no_such_table"),
      // In a worker, OPFS through access handles.
      storage: "opfs-ahp",
      schema: ["accounts", "contacts", "household_members", "transactions"],
      created: [],
    });
    await query(`DELETE FROM contacts WHERE first_name = 'Bulk'`);

    const fallback = await open("main-thread", { mainthread: "" });
    await fallback.waitForFunction(() => (globalThis as unknown as { __financeTracker?: unknown }).__financeTracker !== undefined);
    expect(await fallback.evaluate(() => "onLeaderChange" in (globalThis as unknown as { __financeTracker: { db: { pg: object } } }).__financeTracker.db.pg)).toBe(false);
    // OPFS access handles exist only in workers: on the page the same opfs-ahp:// dataDir falls back to IndexedDB.
    expect(await fallback.evaluate(() => (globalThis as unknown as { __financeTracker: { db: { storage: string } } }).__financeTracker.db.storage)).toBe("idb");
  }, 240_000);

  it("h: a database kept in IndexedDB stays there when the app moves to OPFS; its rows and queued writes are kept", async () => {
    // Signed in and the user's role synced first (both need the backend); then the backend goes down.
    const page = await open("moved", { storage: "idb" });
    await stack.backend.close();
    try {
      await addContact(page, "Kept", "In IndexedDB");
      await expectAttr(contactRow(page, "Kept In IndexedDB"), "data-status", "pending");
      // The next version of the app asks for opfs-ahp:// (the default): the IndexedDB database is found and used.
      await page.goto(appUrl(web.url, stack, "moved"));
      await contactRow(page, "Kept In IndexedDB").waitFor({ timeout: 90_000 });
      expect(await page.evaluate(() => (globalThis as unknown as { __financeTracker: { db: { storage: string } } }).__financeTracker.db.storage)).toBe("idb");
    } finally {
      await stack.restartBackend();
    }
  }, 240_000);
});
