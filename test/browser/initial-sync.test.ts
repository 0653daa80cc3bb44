/**
 * A write made while a large table is still arriving (the initial sync of 50,000 contacts), in
 * a tab that is closed a second later: the write must survive. Chromium, one persistent profile,
 * real PostgreSQL, the example backend and the shape server. No timings are asserted.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usePostgres } from "../support/postgres/index.js";
import { contactRow, expectAttr } from "./app-page.js";
import { appUrl, buildApp, echoPageErrors, HOUSEHOLD, INSPECT, launchProfile, openApp, serveStatic, startStack, USERS, type Stack, type StaticServer } from "./harness.js";

const ROWS = 50_000;
const postgres = usePostgres();
let stack: Stack;
let web: StaticServer;
let remote: pg.Client;
let context: BrowserContext | undefined;
const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-browser-initial-"));
const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-profile-"));

beforeAll(async () => {
  const databaseUrl = await postgres().createDatabase();
  [stack] = await Promise.all([startStack(databaseUrl), buildApp(buildDir)]);
  web = await serveStatic(buildDir);
  remote = new pg.Client(databaseUrl);
  await remote.connect();
  await remote.query(
    `INSERT INTO contacts (id, first_name, last_name, created_at, updated_at, household_id)
     SELECT gen_random_uuid(), 'Bulk', 'Row ' || i, now(), now(), '${HOUSEHOLD.lovelace}' FROM generate_series(1, ${ROWS}) AS i`,
  );
}, 180_000);

afterAll(async () => {
  await context?.close();
  await web?.close();
  await stack?.stop();
  await remote?.end();
  fs.rmSync(buildDir, { recursive: true, force: true });
  fs.rmSync(profileDir, { recursive: true, force: true });
});

// SPEC L6: the write journal.
describe("a write during the initial sync", () => {
  // A second later (the case), and at once: the row was on screen, so it must not vanish.
  it.each([1_000, 0])(`survives its tab being closed %i ms after the click, while ${ROWS} rows are still arriving`, async (closeAfterMs) => {
    const name = `After ${closeAfterMs}`;
    if (!context) {
      context = await launchProfile(profileDir);
      await context.addInitScript({ path: INSPECT });
      // How many contacts the tab had when the Add button was clicked (read in the click's own task).
      await context.addInitScript(() =>
        document.addEventListener(
          "click",
          (event) => {
            if (!(event.target as Element | null)?.closest?.('[data-testid="add-contact"]')) return;
            const handle = (globalThis as unknown as { __financeTracker?: { collections: { contacts: { size: number } } } }).__financeTracker;
            (globalThis as unknown as { __sizeAtClick: number }).__sizeAtClick = handle?.collections.contacts.size ?? 0;
          },
          true,
        ),
      );
    }
    const errors: string[] = [];
    const page = await context.newPage();
    echoPageErrors(page, "first");
    page.on("pageerror", (e) => errors.push(e.message));
    const url = appUrl(web.url, stack, `initial-${closeAfterMs}`);
    await openApp(page, url, USERS.ada, 60_000);
    await page.getByTestId("contact-first").fill("During");
    await page.getByTestId("contact-last").fill(name);
    await page.getByTestId("add-contact").click();
    await new Promise((r) => setTimeout(r, closeAfterMs));
    // The initial sync was still running at the click (or the write would not be at risk).
    const loaded = await page.evaluate(() => (globalThis as unknown as { __sizeAtClick: number }).__sizeAtClick);
    expect(loaded).toBeLessThan(ROWS);
    await page.close({ runBeforeUnload: false });

    const again = await context.newPage();
    echoPageErrors(again, "again");
    again.on("pageerror", (e) => errors.push(e.message));
    await openApp(again, url, USERS.ada, 120_000);
    await expectAttr(contactRow(again, `During ${name}`), "data-status", "synced", 180_000);
    expect(await remote.query(`SELECT count(*)::int AS n FROM contacts WHERE first_name = 'During' AND last_name = $1`, [name]).then((r) => r.rows)).toEqual([{ n: 1 }]);
    expect(errors).toEqual([]);
    await again.close();
  }, 420_000);
});
