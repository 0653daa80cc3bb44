/**
 * Driving the finance-tracker app like a user, for the browser tests: the rows, the forms, and
 * vitest polls for what the page shows (playwright-core has no web-first assertions).
 */
import type { Locator, Page } from "playwright-core";
import { expect } from "vitest";

export const contactRow = (page: Page, name: string) => page.locator(`[data-testid="contact-row"][data-name="${name}"]`);
export const accountRow = (page: Page, name: string) => page.locator(`[data-testid="account-row"][data-name="${name}"]`);

export async function addContact(page: Page, first: string, last: string, extra: { email?: string; company?: string } = {}): Promise<void> {
  await page.getByTestId("contact-first").fill(first);
  await page.getByTestId("contact-last").fill(last);
  await page.getByTestId("contact-email").fill(extra.email ?? "");
  await page.getByTestId("contact-company").fill(extra.company ?? "");
  await page.getByTestId("add-contact").click();
  await contactRow(page, `${first} ${last}`).waitFor();
}

export async function addAccount(page: Page, name: string, currency = "EUR"): Promise<void> {
  await page.getByTestId("account-name").fill(name);
  await page.getByTestId("account-currency").fill(currency);
  await page.getByTestId("add-account").click();
}

export async function editContact(page: Page, name: string, changes: { last?: string; company?: string }): Promise<void> {
  const row = contactRow(page, name);
  await row.getByTestId("edit-contact").click();
  if (changes.last !== undefined) await row.getByTestId("edit-last").fill(changes.last);
  if (changes.company !== undefined) await row.getByTestId("edit-company").fill(changes.company);
  await row.getByTestId("save-contact").click();
}

export const attr = async (loc: Locator, name: string) => ((await loc.count()) > 0 ? loc.first().getAttribute(name) : null);
export const expectAttr = (loc: Locator, name: string, value: string, timeout = 5_000) => expect.poll(() => attr(loc, name), { timeout }).toBe(value);
export const expectCount = (loc: Locator, n: number, timeout = 5_000) => expect.poll(() => loc.count(), { timeout }).toBe(n);
export const expectText = (loc: Locator, text: string, timeout = 5_000) =>
  expect.poll(async () => ((await loc.count()) > 0 ? await loc.first().textContent() : ""), { timeout }).toContain(text);
export const synced = (page: Page, name: string) => expectAttr(contactRow(page, name), "data-status", "synced", 15_000);
