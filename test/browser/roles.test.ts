/**
 * Roles in the finance-tracker app (issue #15), in Chromium against real PostgreSQL, the example
 * backend (its shape proxy and `findRefusal` on every write) and the shape server. The Lovelace
 * household has an owner (Ada), an editor (Charles) and a viewer (Grace), each in a browser
 * profile of their own:
 *  - each role's controls: the viewer sees no Add, Edit or Delete; the editor edits but cannot
 *    change the credit limit and deletes nothing; the owner has every control;
 *  - a write forced past the hooks (SQL on the page's own local database) is refused by the
 *    server with 403, rolls back, and the server's reason is shown; the same writes sent to the
 *    API by hand get 403 problem+json and change nothing;
 *  - a role changed in Postgres reaches the open tab without a reload (editor → viewer → editor),
 *    and a revoked membership takes the household's rows out of the tab.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { BrowserContext, Page } from "playwright-core";
import type { PGliteInterface } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usePostgres } from "../support/postgres/index.js";
import { contactRow, expectAttr, expectCount } from "./app-page.js";
import { appUrl, buildApp, echoPageErrors, INSPECT, launchProfile, serveStatic, startStack, tokenOf, USERS, type Stack, type StaticServer } from "./harness.js";

const postgres = usePostgres();
let stack: Stack;
let web: StaticServer;
let remote: pg.Client;
const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-browser-roles-"));
const profiles: { dir: string; context: BrowserContext }[] = [];
const NAME = "Lovelace Shared";
let contactId = "";

const USER_ID = { charles: "00000000-0000-4000-8000-0000000000a2" } as const;

beforeAll(async () => {
  const databaseUrl = await postgres().createDatabase();
  [stack] = await Promise.all([startStack(databaseUrl), buildApp(buildDir)]);
  web = await serveStatic(buildDir);
  remote = new pg.Client(databaseUrl);
  await remote.connect();
  const token = await tokenOf(stack, USERS.ada);
  const response = await fetch(`${stack.backend.url}/api/contacts`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ first_name: "Lovelace", last_name: "Shared", company: "Engines", credit_limit: "1000" }),
  });
  if (!response.ok) throw new Error(`seed: ${response.status} ${await response.text()}`);
  contactId = ((await response.json()) as { id: string }).id;
  // An account, so that the transaction form has one to offer (to those who may add).
  const account = await fetch(`${stack.backend.url}/api/accounts`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ name: "Household account", kind: "checking", currency: "GBP" }),
  });
  if (!account.ok) throw new Error(`seed: ${account.status} ${await account.text()}`);
}, 180_000);

afterAll(async () => {
  for (const p of profiles) {
    await p.context.close().catch(() => {});
    fs.rmSync(p.dir, { recursive: true, force: true });
  }
  await web?.close();
  await stack?.stop();
  await remote?.end();
  fs.rmSync(buildDir, { recursive: true, force: true });
});

/** A fresh browser profile signed in as `email`, its tab showing the shared contact (and `window.__financeTracker`, from test/browser/inspect.js). */
async function openAs(email: string, role: string): Promise<Page> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-profile-roles-"));
  const context = await launchProfile(dir);
  profiles.push({ dir, context });
  await context.addInitScript({ path: INSPECT });
  const page = await context.newPage();
  echoPageErrors(page, email);
  await page.goto(appUrl(web.url, stack, "roles"));
  await page.getByTestId("signin-email").fill(email);
  await page.getByTestId("signin-password").fill("demo");
  await page.getByTestId("signin-submit").click();
  await page.locator(`[data-testid="signed-in"][data-user="${email}"]`).waitFor({ timeout: 120_000 });
  await expectAttr(page.getByTestId("role"), "data-role", role, 30_000);
  await contactRow(page, NAME).waitFor({ timeout: 30_000 });
  await page.locator('[data-testid="account-row"]').first().waitFor({ timeout: 30_000 });
  return page;
}

const pages: Partial<Record<"ada" | "charles" | "grace", Page>> = {};

/** The controls a tab shows for the shared contact and the lists. */
async function controls(page: Page) {
  const row = contactRow(page, NAME);
  return {
    addContact: await page.getByTestId("contact-form").count(),
    readOnlyNote: await page.getByTestId("contacts-read-only").count(),
    edit: await row.getByTestId("edit-contact").count(),
    delete: await row.getByTestId("delete-contact").count(),
    addAccount: await page.getByTestId("account-form").count(),
    addTransaction: await page.getByTestId("transaction-form").count(),
  };
}

const stored = async () => (await remote.query(`SELECT company, credit_limit::text AS credit_limit FROM contacts WHERE id = $1`, [contactId])).rows[0];

describe("roles in the finance-tracker app", () => {
  it("each role sees its controls: the viewer none, the editor no credit limit and no delete, the owner all", async () => {
    pages.grace = await openAs(USERS.grace, "viewer");
    expect(await controls(pages.grace)).toEqual({ addContact: 0, readOnlyNote: 1, edit: 0, delete: 0, addAccount: 0, addTransaction: 0 });

    pages.ada = await openAs(USERS.ada, "owner");
    expect(await controls(pages.ada)).toEqual({ addContact: 1, readOnlyNote: 0, edit: 1, delete: 1, addAccount: 1, addTransaction: 1 });
    await contactRow(pages.ada, NAME).getByTestId("edit-contact").click();
    expect(await pages.ada.getByTestId("edit-credit").isDisabled()).toBe(false);
    await pages.ada.getByRole("button", { name: "Cancel" }).click();

    const page = (pages.charles = await openAs(USERS.charles, "editor"));
    expect(await controls(page)).toEqual({ addContact: 1, readOnlyNote: 0, edit: 1, delete: 0, addAccount: 1, addTransaction: 1 });
    // The editor edits the basic fields; the credit limit input is there but disabled, and the save leaves it alone.
    await contactRow(page, NAME).getByTestId("edit-contact").click();
    const credit = page.getByTestId("edit-credit");
    expect(await credit.isDisabled()).toBe(true);
    expect(await credit.inputValue()).toBe("1000");
    await page.getByTestId("edit-company").fill("Analytical Engines");
    await page.getByTestId("save-contact").click();
    await expect.poll(stored, { timeout: 20_000 }).toEqual({ company: "Analytical Engines", credit_limit: "1000" });
    await expectAttr(contactRow(page, NAME), "data-status", "synced", 15_000);
    expect(await page.getByTestId("toast").count()).toBe(0);
  }, 300_000);

  it("a write forced past the hooks is refused by the server with 403, rolls back, and the reason is shown; the API refuses the same by hand", async () => {
    const page = pages.charles!;
    // What a tampered app does: its own SQL on the local database, past the hooks' checks.
    await page.evaluate(async (id) => {
      const db = (globalThis as unknown as { __financeTracker: { db: { pg: PGliteInterface } } }).__financeTracker.db.pg;
      await db.query(`UPDATE contacts SET credit_limit = '5' WHERE id = $1`, [id]);
    }, contactId);
    const toast = page.getByTestId("toast").filter({ hasText: "Forbidden" });
    await toast.first().waitFor({ timeout: 20_000 });
    const message = await toast.first().innerText();
    expect(message).toContain('"editor"');
    expect(message).toContain("credit_limit");
    expect(message).toContain("owner");
    // Rolled back: the tab shows the server's value again, and the errors panel lists the change.
    await expect.poll(() => contactRow(page, NAME).innerText(), { timeout: 15_000 }).toContain("credit 1000");
    await expectCount(page.getByTestId("error-item"), 1, 15_000);
    expect(await stored()).toEqual({ company: "Analytical Engines", credit_limit: "1000" });

    const send = async (email: string, method: string, url: string, body?: unknown) => {
      const token = await tokenOf(stack, email);
      const response = await fetch(`${stack.backend.url}${url}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return { status: response.status, type: response.headers.get("content-type"), body: (await response.json()) as Record<string, unknown> };
    };
    for (const [email, method, url, body, expected] of [
      [USERS.charles, "PATCH", `/api/contacts/${contactId}`, { credit_limit: "5" }, { entity: "contact", op: "update", field: "credit_limit", role: "editor", reason: "owner-only" }],
      [USERS.charles, "DELETE", `/api/contacts/${contactId}`, undefined, { op: "delete", role: "editor", reason: "op" }],
      [USERS.grace, "PATCH", `/api/contacts/${contactId}`, { company: "x" }, { role: "viewer", reason: "read-only" }],
      [USERS.grace, "POST", `/api/contacts`, { first_name: "Not", last_name: "Allowed" }, { op: "create", role: "viewer", reason: "read-only" }],
      [USERS.grace, "POST", `/api/accounts`, { name: "Not allowed", kind: "cash", currency: "EUR" }, { entity: "account", role: "viewer", reason: "read-only" }],
    ] as const) {
      const answer = await send(email, method, url, body);
      expect(answer.status, `${email} ${method} ${url}`).toBe(403);
      expect(answer.type).toBe("application/problem+json");
      expect(answer.body).toMatchObject({ status: 403, title: "Forbidden", ...expected });
    }
    expect(await stored()).toEqual({ company: "Analytical Engines", credit_limit: "1000" });
    expect((await remote.query(`SELECT count(*)::int AS n FROM contacts WHERE first_name = 'Not'`)).rows[0].n).toBe(0);
    // The owner may do what the editor may not.
    expect((await send(USERS.ada, "PATCH", `/api/contacts/${contactId}`, { credit_limit: "2000" })).status).toBe(200);
    await expect.poll(() => contactRow(page, NAME).innerText(), { timeout: 15_000 }).toContain("credit 2000");
  }, 120_000);

  it("a role changed in Postgres reaches the open tab without a reload; a revoked membership takes the household's rows out of the tab", async () => {
    const page = pages.charles!;
    const setRole = (role: string) => remote.query(`UPDATE household_members SET role = $2 WHERE user_id = $1`, [USER_ID.charles, role]);
    await setRole("viewer");
    await expectAttr(page.getByTestId("role"), "data-role", "viewer", 20_000);
    await expect.poll(() => controls(page), { timeout: 10_000 }).toEqual({ addContact: 0, readOnlyNote: 1, edit: 0, delete: 0, addAccount: 0, addTransaction: 0 });
    await setRole("owner");
    await expectAttr(page.getByTestId("role"), "data-role", "owner", 20_000);
    await expect.poll(() => controls(page), { timeout: 10_000 }).toEqual({ addContact: 1, readOnlyNote: 0, edit: 1, delete: 1, addAccount: 1, addTransaction: 1 });
    await setRole("editor");
    await expectAttr(page.getByTestId("role"), "data-role", "editor", 20_000);
    await expect.poll(() => controls(page), { timeout: 10_000 }).toEqual({ addContact: 1, readOnlyNote: 0, edit: 1, delete: 0, addAccount: 1, addTransaction: 1 });

    // Revoked: the membership row leaves the device and the household's rows with it (no reload).
    const before = page.url();
    await remote.query(`DELETE FROM household_members WHERE user_id = $1`, [USER_ID.charles]);
    await expectCount(page.locator('[data-testid="contact-row"]'), 0, 20_000);
    expect(page.url()).toBe(before);
    // The other members' tabs keep the rows.
    expect(await contactRow(pages.ada!, NAME).count()).toBe(1);
  }, 120_000);
});
