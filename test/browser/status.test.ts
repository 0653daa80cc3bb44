/**
 * Honest status in the finance-tracker app, in Debian's Chromium against real parts
 * (PostgreSQL, the example backend, the shape server, the app's production build): what a row's
 * marker, the badge, the toasts and the lists say while the server is slow, down, or rejects a
 * write. Only what a user would notice is asserted; no timings.
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { usePostgres } from "../support/postgres/index.js";
import { accountRow, addAccount, addContact, attr, contactRow, editContact, expectAttr, expectCount, expectText, synced } from "./app-page.js";
import { appUrl, buildApp, echoPageErrors, HOUSEHOLD, INSPECT, launchChromium, openApp, reported, rowState, serveStatic, startStack, USERS, type Stack, type StaticServer } from "./harness.js";

const postgres = usePostgres();
let stack: Stack;
let web: StaticServer;
let browser: Browser;
let remote: pg.Client;
let shapes: HoldingProxy;
const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-browser-status-"));
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

/**
 * A pass-through proxy in front of the backend's shape proxy that can hold its answers: while held, the
 * server's rows do not reach the app (as on a slow sync service), and nothing else changes.
 */
interface HoldingProxy {
  shapeUrl: string;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

async function holdingProxy(target: string): Promise<HoldingProxy> {
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  const server = http.createServer((req, res) => {
    const upstream = http.request(new URL(req.url ?? "/", target), { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, async (answer) => {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of answer) chunks.push(chunk as Buffer);
      } catch {
        res.destroy();
        return;
      }
      while (gate) await gate.promise;
      if (res.destroyed) return;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      res.end(Buffer.concat(chunks));
    });
    upstream.on("error", () => res.destroy());
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    shapeUrl: `${url}/v1/shape`,
    hold() {
      if (gate) return;
      let open!: () => void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      gate = { promise, open };
    },
    release() {
      const g = gate;
      gate = undefined;
      g?.open();
    },
    close: () =>
      new Promise<void>((resolve) => {
        gate?.open();
        gate = undefined;
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

beforeAll(async () => {
  const databaseUrl = await postgres().createDatabase();
  [stack] = await Promise.all([startStack(databaseUrl), buildApp(buildDir)]);
  // In front of the backend's shape proxy (which scopes each shape to the signed-in user's household).
  shapes = await holdingProxy(stack.backend.url);
  web = await serveStatic(buildDir);
  browser = await launchChromium();
  remote = new pg.Client(databaseUrl);
  await remote.connect();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
  await shapes?.close();
  await stack?.stop();
  await remote?.end();
  fs.rmSync(buildDir, { recursive: true, force: true });
});

afterEach(async () => {
  shapes.release();
  for (const c of contexts.splice(0)) await c.close();
  expect(pageErrors.splice(0)).toEqual([]);
  stack.backend.faults?.reset();
});

/** A new browser context (its own IndexedDB) with the app open on the local database `db`, shapes through the holding proxy. */
async function open(db: string, options: { viewport?: { width: number; height: number }; init?: () => void; form?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 760 } });
  contexts.push(context);
  await context.addInitScript({ path: INSPECT });
  if (options.init) await context.addInitScript(options.init);
  const page = await context.newPage();
  echoPageErrors(page, db);
  page.on("pageerror", (e) => pageErrors.push(`${db}: ${e.message}`));
  // A fresh profile downloads and compiles PGlite: on a loaded machine that can take a while.
  await openApp(page, appUrl(web.url, stack, db, { electric: shapes.shapeUrl }), USERS.ada, 90_000, options.form);
  return page;
}

const query = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => (await remote.query<T>(sql, params)).rows;

/** The open changes in the page's local database (pending + sent), read through the page. */
const localOpen = (page: Page) =>
  page.evaluate(async () => {
    const handle = (globalThis as unknown as { __financeTracker: { db: { pg: { query<T>(sql: string): Promise<{ rows: T[] }> } } } }).__financeTracker;
    return (await handle.db.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM "_changes" WHERE "status" IN ('pending', 'sent')`)).rows[0]!.n;
  });

const badge = (page: Page) => page.getByTestId("sync-badge");
const queued = async (page: Page) => Number(await attr(badge(page), "data-queued"));
/** The badge's count and the local database's open changes, read together. */
const counts = async (page: Page) => ({ badge: await queued(page), open: await localOpen(page) });

describe("honest status in Chromium", () => {
  it("an edit is pending until the server confirmed it, then synced; a delete queued while the server is slow is counted", async () => {
    const page = await open("edit-pending");
    await addContact(page, "Slow", "Server");
    await addContact(page, "Slow", "Delete");
    await synced(page, "Slow Server");
    await synced(page, "Slow Delete");

    stack.backend.faults!.delayResponses(1_500);
    await editContact(page, "Slow Server", { last: "Server (edited)" });
    const edited = contactRow(page, "Slow Server (edited)");
    await expectAttr(edited, "data-status", "pending");
    await expect.poll(() => counts(page)).toEqual({ badge: 1, open: 1 });
    await expectAttr(edited, "data-status", "synced", 15_000);
    expect(await query(`SELECT last_name FROM contacts WHERE first_name = 'Slow' ORDER BY last_name`)).toEqual([{ last_name: "Delete" }, { last_name: "Server (edited)" }]);
    await expect.poll(() => counts(page)).toEqual({ badge: 0, open: 0 });

    await contactRow(page, "Slow Delete").getByTestId("delete-contact").click();
    await expectCount(contactRow(page, "Slow Delete"), 0);
    await expect.poll(() => counts(page)).toEqual({ badge: 1, open: 1 });
    await expectAttr(badge(page), "data-state", "syncing");
    await expect.poll(() => counts(page), { timeout: 15_000 }).toEqual({ badge: 0, open: 0 });
    expect(await query(`SELECT count(*)::int AS n FROM contacts WHERE last_name = 'Delete'`)).toEqual([{ n: 0 }]);
  }, 180_000);

  it("the badge counts exactly the open changes through a burst of creates, edits and deletes", async () => {
    const page = await open("burst");
    for (const n of ["A", "B", "C", "D"]) await addContact(page, "Burst", n);
    for (const n of ["A", "B", "C", "D"]) await synced(page, `Burst ${n}`);
    await expect.poll(() => counts(page)).toEqual({ badge: 0, open: 0 });

    // The server refuses every write for now (503): nothing leaves the queue.
    stack.backend.faults!.failNextWrites(1_000_000, 1);
    let done = 0;
    for (const n of ["E", "F", "G"]) {
      await addContact(page, "Burst", n);
      done++;
      await expect.poll(() => counts(page)).toEqual({ badge: done, open: done });
    }
    for (const n of ["A", "E"]) {
      await editContact(page, `Burst ${n}`, { last: `${n}2` });
      done++;
      await expect.poll(() => counts(page)).toEqual({ badge: done, open: done });
    }
    for (const n of ["B", "F"]) {
      await contactRow(page, `Burst ${n}`).getByTestId("delete-contact").click();
      done++;
      await expect.poll(() => counts(page)).toEqual({ badge: done, open: done });
    }
    expect(done).toBe(7);
    for (const name of ["Burst A2", "Burst E2", "Burst G"]) await expectAttr(contactRow(page, name), "data-status", "pending");

    // Slow, no longer refusing: the queue drains one by one; the badge follows it to 0.
    stack.backend.faults!.reset();
    stack.backend.faults!.delayResponses(300);
    const seen = new Set<number>();
    await expect
      .poll(
        async () => {
          const c = await counts(page);
          seen.add(c.badge);
          return c;
        },
        { timeout: 30_000 },
      )
      .toEqual({ badge: 0, open: 0 });
    expect([...seen].every((n) => n >= 0 && n <= 7)).toBe(true);
    await expectAttr(badge(page), "data-state", "synced");
    expect(await query(`SELECT last_name FROM contacts WHERE first_name = 'Burst' ORDER BY last_name`)).toEqual(
      ["A2", "C", "D", "E2", "G"].map((last_name) => ({ last_name })),
    );
    for (const name of ["Burst A2", "Burst E2", "Burst G"]) await synced(page, name);
  }, 180_000);

  it("a confirmed write is pending, then syncing once the server accepted it, then synced when its row is back", async () => {
    const page = await open("confirmed-syncing");
    // The server's rows are held back (a slow sync service): the API answers, the row cannot come back.
    shapes.hold();
    await addAccount(page, "Held account");
    const row = accountRow(page, "Held account");
    await expectAttr(row, "data-status", "syncing", 15_000);
    expect(await query(`SELECT name FROM accounts WHERE name = 'Held account'`)).toEqual([{ name: "Held account" }]);
    await row.getByTestId("spinner").waitFor({ state: "visible" });
    // Still waiting for the server's version: the write is open, the form busy.
    expect(await page.getByTestId("add-account").isDisabled()).toBe(true);
    expect(await counts(page)).toEqual({ badge: 1, open: 1 });
    await expectAttr(badge(page), "data-state", "syncing");

    shapes.release();
    await expectAttr(row, "data-status", "synced", 15_000);
    await expectCount(row.getByTestId("spinner"), 0);
    await expect.poll(() => page.getByTestId("add-account").isDisabled()).toBe(false);
    await expect.poll(() => counts(page)).toEqual({ badge: 0, open: 0 });
  }, 180_000);

  it("a 422 reads as text in the toast and the errors panel; errors clear once their cause is gone", async () => {
    const page = await open("readable");
    await addAccount(page, "Readable");
    await expectAttr(accountRow(page, "Readable"), "data-status", "synced", 15_000);

    await page.getByTestId("transaction-account").selectOption({ label: "Readable" });
    await page.getByTestId("transaction-amount").fill("0");
    await page.getByTestId("transaction-description").fill("Zero");
    await page.getByTestId("add-transaction").click();
    const toast = page.getByTestId("toast").filter({ hasText: "rejected the new transaction" });
    await expectCount(toast, 1, 15_000);
    const error = page.getByTestId("error-item");
    await expectCount(error, 1);
    for (const text of [await toast.textContent(), await error.locator(".error-text").textContent()]) {
      expect(text).toMatch(/422 Unprocessable content: .*amount: /);
      expect(text).not.toMatch(/[{}"[\]]/); // no raw JSON
    }
    await expectAttr(badge(page), "data-failed", "1");
    expect(await attr(badge(page), "title")).toBeNull(); // the server answered: nothing stands in the queue's way
    await error.getByTestId("discard").click();
    await expectCount(page.getByTestId("error-item"), 0);
    await expectAttr(badge(page), "data-failed", "0");

    // The backend goes away: offline, with the network error in the tooltip; back: both gone.
    await stack.backend.close();
    await addContact(page, "While", "Down");
    await expectAttr(badge(page), "data-state", "offline", 15_000);
    expect(await attr(badge(page), "title")).toMatch(/Network error/);
    await stack.restartBackend();
    await expectAttr(badge(page), "data-state", "synced", 20_000);
    expect(await attr(badge(page), "title")).toBeNull();
    await synced(page, "While Down");
  }, 180_000);

  it("toasts never cover a button: at 1280×760 and at a phone's width, scrolled to the top and to the errors panel", async () => {
    const page = await open("toasts");
    for (const n of ["One", "Two", "Three", "Four", "Five", "Six"]) await addContact(page, "Toast", n);
    await addAccount(page, "Toasty");
    await expectAttr(accountRow(page, "Toasty"), "data-status", "synced", 15_000);
    const shots = process.env.TOAST_SHOTS;
    const check = async (label: string) => {
      const toast = page.getByTestId("toast").first();
      await toast.waitFor({ state: "visible" });
      if (shots) await page.screenshot({ path: path.join(shots, `${label}.png`) });
      // Every button whose visible part (its box clipped by the boxes it scrolls in) meets a toast's box.
      const covered = await page.evaluate(() => {
        type Box = { left: number; top: number; right: number; bottom: number };
        const toasts = [...document.querySelectorAll('[data-testid="toast"]')].map((t) => t.getBoundingClientRect());
        const meets = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        const visiblePart = (el: Element): Box | null => {
          let box: Box = el.getBoundingClientRect();
          for (let p = el.parentElement; p; p = p.parentElement) {
            if (getComputedStyle(p).overflowY === "visible" && getComputedStyle(p).overflowX === "visible") continue;
            const c = p.getBoundingClientRect();
            box = { left: Math.max(box.left, c.left), top: Math.max(box.top, c.top), right: Math.min(box.right, c.right), bottom: Math.min(box.bottom, c.bottom) };
          }
          box = { left: Math.max(box.left, 0), top: Math.max(box.top, 0), right: Math.min(box.right, innerWidth), bottom: Math.min(box.bottom, innerHeight) };
          return box.left < box.right && box.top < box.bottom ? box : null;
        };
        return [...document.querySelectorAll("button")]
          .filter((b) => !b.closest('[data-testid="toast"]'))
          .filter((b) => {
            const part = visiblePart(b);
            return part !== null && toasts.some((t) => meets(t, part));
          })
          .map((b) => b.getAttribute("data-testid") ?? b.textContent);
      });
      expect(covered, label).toEqual([]);
    };
    const reject = async (description: string) => {
      await page.getByTestId("transaction-account").selectOption({ label: "Toasty" });
      await page.getByTestId("transaction-amount").fill("0");
      await page.getByTestId("transaction-description").fill(description);
      await page.getByTestId("add-transaction").click();
      await expectCount(page.getByTestId("error-item"), 1, 15_000);
    };

    await reject("Wide");
    await check("1280-top");
    await page.getByTestId("error-item").getByTestId("discard").scrollIntoViewIfNeeded();
    await check("1280-errors");
    await page.getByTestId("error-item").getByTestId("discard").click();
    await expectCount(page.getByTestId("error-item"), 0);

    await page.setViewportSize({ width: 390, height: 760 });
    await page.getByTestId("transaction-form").scrollIntoViewIfNeeded();
    await reject("Narrow");
    await check("390-form");
    await page.getByTestId("add-contact").scrollIntoViewIfNeeded();
    await check("390-top");
    await page.getByTestId("error-item").getByTestId("discard").scrollIntoViewIfNeeded();
    await check("390-errors");
  }, 180_000);

  it("a fresh profile says Loading… until its first sync, never 'No accounts yet' while the server's accounts are on their way", async () => {
    await remote.query(`INSERT INTO accounts (name, kind, household_id) VALUES ('On the server', 'cash', $1)`, [HOUSEHOLD.lovelace]);
    shapes.hold();
    const page = await open("first-sync", {
      form: false,
      init: () => {
        const states: string[] = [];
        (globalThis as unknown as { __accountStates: string[] }).__accountStates = states;
        const look = () => {
          const panel = document.querySelector('[data-testid="accounts"]');
          if (!panel) return;
          const state = panel.querySelector('[data-testid="account-row"]') ? "rows" : (panel.querySelector(".empty")?.textContent ?? "none");
          if (states.at(-1) !== state) states.push(state);
        };
        new MutationObserver(look).observe(document, { childList: true, subtree: true, characterData: true });
      },
    });
    // The local database is open and read (the form works), the server's rows are held back.
    await page.getByTestId("accounts").waitFor();
    await page.waitForTimeout(1_500);
    const held = await page.evaluate(() => (globalThis as unknown as { __accountStates: string[] }).__accountStates);
    expect(held).toEqual(["Loading…"]);
    // The user's role has not arrived either: the app says it is checking, not that changes are not allowed.
    await page.getByTestId("contacts-role-pending").waitFor();
    expect(await page.getByTestId("contacts-read-only").count()).toBe(0);
    shapes.release();
    await page.getByTestId("contact-form").waitFor({ timeout: 30_000 });
    await accountRow(page, "On the server").waitFor({ timeout: 30_000 });
    const states = await page.evaluate(() => (globalThis as unknown as { __accountStates: string[] }).__accountStates);
    expect(states).toEqual(["Loading…", "rows"]);
    // An entity the server has none of says so once its first (empty) batch is stored, in every list.
    const { rows } = await remote.query<{ n: number }>(`SELECT count(*)::int AS n FROM transactions WHERE household_id = $1`, [HOUSEHOLD.lovelace]);
    const transactions = page.getByTestId("transactions");
    if (rows[0]!.n === 0) await expectText(transactions.locator(".empty"), "No transactions yet", 15_000);
    else await transactions.locator('[data-testid="transaction-row"]').first().waitFor({ timeout: 15_000 });
  }, 180_000);

  it("lists say Loading… while the local database reads, never 'No accounts yet' when there are accounts", async () => {
    const page = await open("loading", {
      // Records what the accounts panel shows, from the first paint on: loading, empty or rows.
      init: () => {
        const states: string[] = [];
        (globalThis as unknown as { __accountStates: string[] }).__accountStates = states;
        const look = () => {
          const panel = document.querySelector('[data-testid="accounts"]');
          if (!panel) return;
          const state = panel.querySelector('[data-testid="account-row"]') ? "rows" : (panel.querySelector(".empty")?.textContent ?? "none");
          if (states.at(-1) !== state) states.push(state);
        };
        new MutationObserver(look).observe(document, { childList: true, subtree: true, characterData: true });
      },
    });
    await addAccount(page, "Listed");
    await reported(
      () => expectAttr(accountRow(page, "Listed"), "data-status", "synced", 15_000),
      () => rowState(page, "accounts", "name", "Listed"),
    );
    await page.reload();
    await page.getByTestId("contact-form").waitFor({ timeout: 30_000 });
    await accountRow(page, "Listed").waitFor();
    const states = await page.evaluate(() => (globalThis as unknown as { __accountStates: string[] }).__accountStates);
    expect(states).toEqual(["Loading…", "rows"]);
  }, 180_000);
});
