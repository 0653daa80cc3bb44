/**
 * The finance-tracker example backend against a real PostgreSQL: routes, validation, txids,
 * idempotency, fault hooks and reports.
 */
import { execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type RunningServer } from "../../examples/finance-tracker/server/server.js";
import { usePostgres } from "../support/postgres/index.js";

type Body = Record<string, unknown>;
interface Res {
  status: number;
  headers: Headers;
  body: unknown;
}

const postgres = usePostgres();
let databaseUrl: string;
let server: RunningServer;
let sql: pg.Client;

beforeAll(async () => {
  databaseUrl = await postgres().createDatabase();
  server = await createServer({ databaseUrl, defaultUser: "ada@example.com", port: 0, host: "127.0.0.1", faults: true, log: () => {} });
  sql = new pg.Client(databaseUrl);
  await sql.connect();
});

afterAll(async () => {
  await sql?.end();
  await server?.close();
});

async function api(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const res = await fetch(server.url + url, {
    method,
    headers: { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === "" ? undefined : JSON.parse(text) };
}

const obj = (r: Res): Body => r.body as Body;
const txidOf = (r: Res): string => {
  const txid = r.headers.get("x-txid");
  expect(txid).toMatch(/^\d+$/);
  return txid ?? "";
};

async function scalar(query: string, params: unknown[] = []): Promise<string | null> {
  const { rows } = await sql.query<{ v: string | null }>(query, params);
  return rows[0]?.v ?? null;
}

async function newAccount(extra: Body = {}): Promise<string> {
  const r = await api("POST", "/api/accounts", { name: "Checking", kind: "checking", ...extra });
  expect(r.status).toBe(201);
  return String(obj(r).id);
}

describe("routes", () => {
  it("contacts: create, get, list, patch, delete", async () => {
    const id = randomUUID();
    const created = await api("POST", "/api/contacts", {
      id,
      first_name: "Ada",
      last_name: "Lovelace",
      email: "ada@example.com",
      credit_limit: "1500.50",
      local_notes: "device only",
      created_at: "1999-01-01T00:00:00Z",
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("content-type")).toBe("application/json");
    expect(obj(created)).toMatchObject({ id, first_name: "Ada", email: "ada@example.com", credit_limit: "1500.50", phone: null });
    expect(obj(created)).not.toHaveProperty("local_notes");
    expect(obj(created)).not.toHaveProperty("write_id");
    expect(String(obj(created).created_at)).not.toBe("1999-01-01T00:00:00Z");
    expect(String(obj(created).created_at)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    expect(obj(await api("GET", `/api/contacts/${id}`))).toEqual(obj(created));
    const list = await api("GET", "/api/contacts");
    expect(list.status).toBe(200);
    expect((list.body as Body[]).map((c) => c.id)).toContain(id);

    const patched = await api("PATCH", `/api/contacts/${id}`, { phone: "+44 1", email: null, id: "ignored" });
    expect(patched.status).toBe(200);
    expect(obj(patched)).toMatchObject({ id, first_name: "Ada", phone: "+44 1", email: null });
    expect(Date.parse(String(obj(patched).updated_at))).toBeGreaterThanOrEqual(Date.parse(String(obj(created).updated_at)));

    const deleted = await api("DELETE", `/api/contacts/${id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    txidOf(deleted);
    expect((await api("GET", `/api/contacts/${id}`)).status).toBe(404);
    expect((await api("DELETE", `/api/contacts/${id}`)).status).toBe(404);
    expect((await api("PATCH", `/api/contacts/${id}`, { phone: "1" })).status).toBe(404);
  });

  it("accounts: defaults, read-only balance, patch, delete", async () => {
    const created = await api("POST", "/api/accounts", { name: "Wallet", kind: "cash", balance: "999" });
    expect(created.status).toBe(201);
    const id = String(obj(created).id);
    expect(obj(created)).toMatchObject({ name: "Wallet", kind: "cash", currency: "EUR", balance: "0", archived: false, contact_id: null });
    const patched = await api("PATCH", `/api/accounts/${id}`, { archived: true, currency: "USD" });
    expect(obj(patched)).toMatchObject({ id, archived: true, currency: "USD", name: "Wallet" });
    expect((await api("GET", "/api/accounts")).body).toContainEqual(obj(patched));
    expect((await api("DELETE", `/api/accounts/${id}`)).status).toBe(204);
    expect((await api("GET", `/api/accounts/${id}`)).status).toBe(404);
  });

  it("transactions: create, get, patch, delete, and the account balance follows", async () => {
    const account = await newAccount();
    const created = await api("POST", "/api/transactions", {
      account_id: account,
      amount: "-12.30",
      occurred_on: "2024-05-06",
      description: "Lunch */ </script>",
      tags: ["food", "work"],
      metadata: { receipt: "r-1" },
    });
    expect(created.status).toBe(201);
    const id = String(obj(created).id);
    expect(obj(created)).toMatchObject({
      account_id: account,
      amount: "-12.30",
      occurred_on: "2024-05-06",
      description: "Lunch */ </script>",
      tags: ["food", "work"],
      metadata: { receipt: "r-1" },
      category_id: null,
    });
    expect(obj(await api("GET", `/api/transactions/${id}`))).toEqual(obj(created));
    expect(obj(await api("GET", `/api/accounts/${account}`)).balance).toBe("-12.30");

    const patched = await api("PATCH", `/api/transactions/${id}`, { amount: "20.00", tags: [] });
    expect(obj(patched)).toMatchObject({ amount: "20.00", tags: [], description: "Lunch */ </script>" });
    expect(obj(await api("GET", `/api/accounts/${account}`)).balance).toBe("20.00");
    expect(((await api("GET", "/api/transactions")).body as Body[]).map((t) => t.id)).toContain(id);

    // Optional, non-nullable properties left unset are absent rather than null.
    const bare = await api("POST", "/api/transactions", { account_id: account, amount: "1", occurred_on: "2024-05-07" });
    expect(obj(bare)).not.toHaveProperty("description");
    expect(obj(bare)).not.toHaveProperty("tags");

    expect((await api("DELETE", `/api/transactions/${id}`)).status).toBe(204);
    expect((await api("DELETE", `/api/transactions/${obj(bare).id}`)).status).toBe(204);
    expect(obj(await api("GET", `/api/accounts/${account}`)).balance).toBe("0.00");
  });

  it("categories: list, create, get; no update or delete route", async () => {
    const parent = await api("POST", "/api/categories", { name: "Living", kind: "expense" });
    expect(parent.status).toBe(201);
    const child = await api("POST", "/api/categories", { name: "Rent", kind: "expense", parent_id: obj(parent).id });
    expect(obj(child)).toMatchObject({ name: "Rent", kind: "expense", parent_id: obj(parent).id });
    txidOf(child);
    expect(obj(await api("GET", `/api/categories/${obj(child).id}`))).toEqual(obj(child));
    expect((await api("GET", "/api/categories")).body).toContainEqual(obj(child));
    expect((await api("PATCH", `/api/categories/${obj(child).id}`, { name: "x" })).status).toBe(404);
    expect((await api("DELETE", `/api/categories/${obj(child).id}`)).status).toBe(404);
  });

  it("unknown routes and malformed ids are 404 problems", async () => {
    for (const url of ["/api/nothing", "/api/contacts/not-a-uuid"]) {
      const r = await api("GET", url);
      expect(r.status).toBe(404);
      expect(r.headers.get("content-type")).toBe("application/problem+json");
      expect(obj(r)).toMatchObject({ status: 404, title: "Not found" });
    }
  });

  it("listens on 127.0.0.1", () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe("validation and rejections", () => {
  it("422 problem with errors per field", async () => {
    const r = await api("POST", "/api/contacts", { first_name: 7, email: "not-an-email", nickname: "x", credit_limit: "1,5" });
    expect(r.status).toBe(422);
    expect(r.headers.get("content-type")).toBe("application/problem+json");
    const problem = obj(r);
    expect(problem).toMatchObject({ type: "/problems/validation", title: expect.any(String), status: 422, detail: expect.any(String) });
    const errors = problem.errors as Record<string, string[]>;
    expect(Object.keys(errors).sort()).toEqual(["credit_limit", "email", "first_name", "last_name", "nickname"]);
    expect(errors.last_name).toEqual(["is required"]);
    expect(errors.nickname).toEqual(["is not a known property"]);
    for (const messages of Object.values(errors)) expect(messages.every((m) => typeof m === "string")).toBe(true);
  });

  it("checks PATCH bodies without requiring fields, nested values, enums", async () => {
    const account = await newAccount();
    const t = await api("POST", "/api/transactions", { account_id: account, amount: "3", occurred_on: "2024-01-01" });
    const r = await api("PATCH", `/api/transactions/${obj(t).id}`, { amount: null, metadata: { n: 1 }, occurred_on: "2024-13-01" });
    expect(r.status).toBe(422);
    expect(Object.keys(obj(r).errors as Body).sort()).toEqual(["amount", "metadata.n", "occurred_on"]);
    const kind = await api("PATCH", `/api/accounts/${account}`, { kind: "crypto" });
    expect(obj(kind).errors).toHaveProperty("kind");
  });

  it("400 for a body that is not JSON, 422 for one that is not an object", async () => {
    expect((await api("POST", "/api/contacts", "{nope")).status).toBe(400);
    const r = await api("POST", "/api/contacts", [1]);
    expect(r.status).toBe(422);
    expect(obj(r).errors).toEqual({ body: ["must be a JSON object"] });
  });

  it("business rules: zero amount, bad currency, unknown account", async () => {
    const account = await newAccount();
    const zero = await api("POST", "/api/transactions", { account_id: account, amount: "0.00", occurred_on: "2024-01-01" });
    expect(zero.status).toBe(422);
    expect(obj(zero).errors).toEqual({ amount: ["must not be zero"] });
    const currency = await api("POST", "/api/accounts", { name: "X", kind: "cash", currency: "eu1" });
    expect(currency.status).toBe(422);
    expect(obj(currency).errors).toHaveProperty("currency");
    const dangling = await api("POST", "/api/transactions", { account_id: randomUUID(), amount: "1", occurred_on: "2024-01-01" });
    expect(dangling.status).toBe(422);
    expect(obj(dangling).errors).toEqual({ account_id: ["does not exist"] });
  });

  it("409 when deleting an account that has transactions", async () => {
    const account = await newAccount();
    await api("POST", "/api/transactions", { account_id: account, amount: "5", occurred_on: "2024-01-01" });
    const r = await api("DELETE", `/api/accounts/${account}`);
    expect(r.status).toBe(409);
    expect(obj(r)).toMatchObject({ status: 409, type: "/problems/conflict" });
    expect((await api("GET", `/api/accounts/${account}`)).status).toBe(200);
  });

  it("409 on a duplicate id at create", async () => {
    const id = randomUUID();
    expect((await api("POST", "/api/contacts", { id, first_name: "A", last_name: "B" })).status).toBe(201);
    const again = await api("POST", "/api/contacts", { id, first_name: "C", last_name: "D" });
    expect(again.status).toBe(409);
    expect(again.headers.get("content-type")).toBe("application/problem+json");
    expect(obj(await api("GET", `/api/contacts/${id}`)).first_name).toBe("A");
  });
});

describe("txid", () => {
  it("X-Txid is the xid that wrote the row (xmin), on create and update", async () => {
    const created = await api("POST", "/api/contacts", { first_name: "T", last_name: "X" });
    const id = obj(created).id;
    const xmin = () => scalar("SELECT xmin::text AS v FROM contacts WHERE id = $1", [id]);
    expect(txidOf(created)).toBe(await xmin());
    const updated = await api("PATCH", `/api/contacts/${id}`, {});
    expect(txidOf(updated)).toBe(await xmin());
    expect(txidOf(updated)).not.toBe(txidOf(created));
  });

  it("a delete's txid is the one that updated the account balance in the same transaction", async () => {
    const account = await newAccount();
    const t = await api("POST", "/api/transactions", { account_id: account, amount: "4", occurred_on: "2024-01-01" });
    const deleted = await api("DELETE", `/api/transactions/${obj(t).id}`);
    expect(txidOf(deleted)).toBe(await scalar("SELECT xmin::text AS v FROM accounts WHERE id = $1", [account]));
  });

  it("stores the client's change id in write_id (X-Change-Id, else a uuid Idempotency-Key)", async () => {
    const change = randomUUID();
    const a = await api("POST", "/api/contacts", { first_name: "W", last_name: "I" }, { "X-Change-Id": change });
    expect(await scalar("SELECT write_id::text AS v FROM contacts WHERE id = $1", [obj(a).id])).toBe(change);
    const key = randomUUID();
    await api("PATCH", `/api/contacts/${obj(a).id}`, { phone: "1" }, { "Idempotency-Key": key });
    expect(await scalar("SELECT write_id::text AS v FROM contacts WHERE id = $1", [obj(a).id])).toBe(key);
    await api("PATCH", `/api/contacts/${obj(a).id}`, { phone: "2" });
    expect(await scalar("SELECT write_id::text AS v FROM contacts WHERE id = $1", [obj(a).id])).toBeNull();
    expect((await api("POST", "/api/contacts", { first_name: "W", last_name: "I" }, { "X-Change-Id": "nope" })).status).toBe(400);
  });
});

describe("idempotency", () => {
  const countTransactions = (description: string) =>
    scalar("SELECT count(*)::text AS v FROM transactions WHERE description = $1", [description]);

  it("a retry with the same key returns the stored response and applies once", async () => {
    const account = await newAccount();
    const body = { account_id: account, amount: "7.00", occurred_on: "2024-02-02", description: "once" };
    const key = randomUUID();
    const first = await api("POST", "/api/transactions", body, { "Idempotency-Key": key });
    const second = await api("POST", "/api/transactions", body, { "Idempotency-Key": key });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get("x-txid")).toBe(first.headers.get("x-txid"));
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(await countTransactions("once")).toBe("1");
    expect(obj(await api("GET", `/api/accounts/${account}`)).balance).toBe("7.00");

    const del = { "Idempotency-Key": randomUUID() };
    const d1 = await api("DELETE", `/api/transactions/${obj(first).id}`, undefined, del);
    const d2 = await api("DELETE", `/api/transactions/${obj(first).id}`, undefined, del);
    expect([d1.status, d2.status]).toEqual([204, 204]);
    expect(d2.headers.get("x-txid")).toBe(d1.headers.get("x-txid"));
  });

  it("concurrent duplicates apply once", async () => {
    const account = await newAccount();
    const body = { account_id: account, amount: "1.25", occurred_on: "2024-02-03", description: "concurrent" };
    const key = `concurrent-${randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 6 }, () => api("POST", "/api/transactions", body, { "Idempotency-Key": key })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(6).fill(201));
    expect(new Set(results.map((r) => obj(r).id)).size).toBe(1);
    expect(new Set(results.map((r) => r.headers.get("x-txid"))).size).toBe(1);
    expect(await countTransactions("concurrent")).toBe("1");
    expect(obj(await api("GET", `/api/accounts/${account}`)).balance).toBe("1.25");
  });

  it("a connection dropped after commit, then a retry, returns the original result without a duplicate", async () => {
    const account = await newAccount();
    const body = { account_id: account, amount: "9", occurred_on: "2024-02-04", description: "dropped" };
    const key = randomUUID();
    server.faults?.dropNextAfterCommit(1);
    await expect(api("POST", "/api/transactions", body, { "Idempotency-Key": key })).rejects.toThrow();
    expect(await countTransactions("dropped")).toBe("1");
    const retry = await api("POST", "/api/transactions", body, { "Idempotency-Key": key });
    expect(retry.status).toBe(201);
    expect(await countTransactions("dropped")).toBe("1");
    const row = await sql.query<{ id: string; xmin: string }>(
      "SELECT id::text, xmin::text FROM transactions WHERE description = 'dropped'",
    );
    expect(obj(retry).id).toBe(row.rows[0]?.id);
    expect(retry.headers.get("x-txid")).toBe(row.rows[0]?.xmin);
    expect(await scalar("SELECT write_id::text AS v FROM transactions WHERE description = 'dropped'")).toBe(key);
  });

  it("a key lives 24 hours: replayed before, a new request after", async () => {
    const key = randomUUID();
    const first = await api("POST", "/api/contacts", { first_name: "T", last_name: "1" }, { "Idempotency-Key": key });
    await sql.query("UPDATE idempotency_keys SET created_at = now() - interval '23 hours' WHERE key = '00000000-0000-4000-8000-0000000000a1:' || $1", [key]);
    const replay = await api("POST", "/api/contacts", { first_name: "T", last_name: "1" }, { "Idempotency-Key": key });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(obj(replay).id).toBe(obj(first).id);
    await sql.query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = '00000000-0000-4000-8000-0000000000a1:' || $1", [key]);
    // Expired: the key is free again, even for another body (no 422), and the request runs.
    const fresh = await api("POST", "/api/contacts", { first_name: "T", last_name: "2" }, { "Idempotency-Key": key });
    expect(fresh.status).toBe(201);
    expect(fresh.headers.get("idempotent-replayed")).toBeNull();
    expect(obj(fresh).id).not.toBe(obj(first).id);
    const again = await api("POST", "/api/contacts", { first_name: "T", last_name: "2" }, { "Idempotency-Key": key });
    expect(obj(again).id).toBe(obj(fresh).id);
  });

  it("a key reused with a different request is a 422", async () => {
    const key = randomUUID();
    expect((await api("POST", "/api/contacts", { first_name: "K", last_name: "1" }, { "Idempotency-Key": key })).status).toBe(201);
    const reused = await api("POST", "/api/contacts", { first_name: "K", last_name: "2" }, { "Idempotency-Key": key });
    expect(reused.status).toBe(422);
    expect(obj(reused).errors).toHaveProperty("Idempotency-Key");
  });

  it("a rejected request stores nothing: the retry runs again", async () => {
    const key = randomUUID();
    const body = { name: "Bad", kind: "cash", currency: "xx1" };
    expect((await api("POST", "/api/accounts", body, { "Idempotency-Key": key })).status).toBe(422);
    expect(await scalar("SELECT count(*)::text AS v FROM idempotency_keys WHERE key LIKE '%:' || $1", [key])).toBe("0");
  });
});

describe("fault hooks", () => {
  it("fails the next N writes with 503 and Retry-After, without applying them", async () => {
    server.faults?.failNextWrites(2, 3);
    const body = { first_name: "F", last_name: "503" };
    const a = await api("POST", "/api/contacts", body);
    const b = await api("POST", "/api/contacts", body);
    expect([a.status, b.status]).toEqual([503, 503]);
    expect(a.headers.get("retry-after")).toBe("3");
    expect(a.headers.get("content-type")).toBe("application/problem+json");
    expect((await api("GET", "/api/contacts")).status).toBe(200); // reads are not affected
    expect(await scalar("SELECT count(*)::text AS v FROM contacts WHERE last_name = '503'")).toBe("0");
    expect((await api("POST", "/api/contacts", body)).status).toBe(201);
  });

  it("delays responses", async () => {
    server.faults?.delayResponses(300);
    const started = Date.now();
    expect((await api("GET", "/api/categories")).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    server.faults?.reset();
  });

  it("has an admin endpoint, only with faults: true", async () => {
    const set = await api("POST", "/__faults", { failWrites: 1, retryAfter: 5 });
    expect(obj(set)).toMatchObject({ failWrites: 1, retryAfter: 5 });
    const refused = await api("POST", "/api/categories", { name: "n" });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    await api("POST", "/__faults", { failWrites: 1, retryAfter: 5, retryAfterAsDate: true });
    const dated = await api("POST", "/api/categories", { name: "n" });
    const ahead = Date.parse(dated.headers.get("retry-after")!) - Date.parse(dated.headers.get("date")!);
    expect(ahead).toBeGreaterThanOrEqual(4000); // both headers have one-second resolution
    expect(ahead).toBeLessThanOrEqual(6000);
    expect((await api("POST", "/__faults", { delayMs: -1 })).status).toBe(422);
    expect(obj(await api("DELETE", "/__faults"))).toEqual({ failWrites: 0, retryAfter: 1, retryAfterAsDate: false, dropAfterCommit: 0, delayMs: 0 });

    const plain = await createServer({ databaseUrl, defaultUser: "ada@example.com", log: () => {} });
    try {
      expect(plain.faults).toBeNull();
      expect((await fetch(`${plain.url}/__faults`)).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

describe("reports", () => {
  it("monthly summary: income, expense and per-category totals, optionally per account", async () => {
    const a = await newAccount();
    const b = await newAccount();
    const food = String(obj(await api("POST", "/api/categories", { name: "Food", kind: "expense" })).id);
    const salary = String(obj(await api("POST", "/api/categories", { name: "Salary", kind: "income" })).id);
    const rows = [
      { account_id: a, amount: "2500.00", occurred_on: "2031-03-01", category_id: salary },
      { account_id: a, amount: "-40.10", occurred_on: "2031-03-05", category_id: food },
      { account_id: b, amount: "-9.90", occurred_on: "2031-03-31", category_id: food },
      { account_id: b, amount: "-5", occurred_on: "2031-03-20" },
      { account_id: a, amount: "-1000", occurred_on: "2031-04-01", category_id: food },
      { account_id: a, amount: "12", occurred_on: "2031-02-28" },
    ];
    for (const row of rows) expect((await api("POST", "/api/transactions", row)).status).toBe(201);

    const all = await api("GET", "/api/reports/monthly-summary?year=2031&month=3");
    expect(all.status).toBe(200);
    expect(obj(all)).toMatchObject({ year: 2031, month: 3, income: "2500.00", expense: "55.00" });
    const byCategory = obj(all).by_category as { category_id: string | null; total: string }[];
    expect(byCategory).toHaveLength(3);
    expect(byCategory).toEqual(
      expect.arrayContaining([
        { category_id: salary, total: "2500.00" },
        { category_id: food, total: "-50.00" },
        { category_id: null, total: "-5" },
      ]),
    );
    const onlyB = await api("GET", `/api/reports/monthly-summary?year=2031&month=3&account_id=${b}`);
    expect(obj(onlyB)).toMatchObject({ income: "0", expense: "14.90" });
    const empty = await api("GET", "/api/reports/monthly-summary?year=2031&month=5");
    expect(obj(empty)).toEqual({ year: 2031, month: 5, income: "0", expense: "0", by_category: [] });

    expect((await api("GET", "/api/reports/monthly-summary?year=2031")).status).toBe(422);
    expect((await api("GET", "/api/reports/monthly-summary?year=2031&month=13")).status).toBe(422);
    expect((await api("GET", `/api/reports/monthly-summary?year=2031&month=3&account_id=${randomUUID()}`)).status).toBe(404);
  });

  it("balance history: end-of-day balances in date order", async () => {
    const a = await newAccount();
    for (const [amount, occurred_on] of [["100", "2032-01-01"], ["-30.5", "2032-01-03"], ["10", "2032-01-03"]]) {
      await api("POST", "/api/transactions", { account_id: a, amount, occurred_on });
    }
    const full = await api("GET", `/api/reports/balance-history?account_id=${a}`);
    expect(full.body).toEqual([
      { date: "2032-01-01", balance: "100" },
      { date: "2032-01-02", balance: "100" },
      { date: "2032-01-03", balance: "79.5" },
    ]);
    const window = await api("GET", `/api/reports/balance-history?account_id=${a}&from=2032-01-02&to=2032-01-04`);
    expect(window.body).toEqual([
      { date: "2032-01-02", balance: "100" },
      { date: "2032-01-03", balance: "79.5" },
      { date: "2032-01-04", balance: "79.5" },
    ]);
    expect(obj(await api("GET", `/api/accounts/${a}`)).balance).toBe("79.5");
    expect((await api("GET", `/api/reports/balance-history?account_id=${randomUUID()}`)).status).toBe(404);
    expect((await api("GET", "/api/reports/balance-history?account_id=x")).status).toBe(422);
  });

  it("export: 202 with a job, computed from the transactions in range", async () => {
    const a = await newAccount();
    await api("POST", "/api/transactions", { account_id: a, amount: "1", occurred_on: "2033-06-01", description: 'say "hi", ok' });
    const r = await api("POST", "/api/reports/export", { format: "csv", from: "2033-06-01", to: "2033-06-30" });
    expect(r.status).toBe(202);
    expect(obj(r)).toEqual({ job_id: expect.any(String), status: "done" });
    const job = await sql.query<{ row_count: number; content: string }>(
      "SELECT row_count, content FROM export_jobs WHERE job_id = $1",
      [obj(r).job_id],
    );
    expect(job.rows[0]?.row_count).toBe(1);
    expect(job.rows[0]?.content).toContain('"say ""hi"", ok"');
    expect((await api("POST", "/api/reports/export", { format: "xml", from: "2033-06-01", to: "2033-06-30" })).status).toBe(422);
  });
});

describe("CLI", () => {
  it("main.ts serves on PORT with DATABASE_URL", async () => {
    const main = path.resolve("examples/finance-tracker/server/main.ts");
    const child = spawn(process.execPath, ["--import", "tsx", main], {
      env: { ...process.env, DATABASE_URL: databaseUrl, PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m?.[1]) resolve(m[1]);
        });
        child.once("exit", (code) => reject(new Error(`main.ts exited with ${code}`)));
      });
      // Signed out: 401; signed in (POST /api/login): the user's household's accounts.
      expect((await fetch(`${url}/api/accounts`)).status).toBe(401);
      const login = await fetch(`${url}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "ada@example.com", password: "demo" }) });
      const { token } = (await login.json()) as { token: string };
      const res = await fetch(`${url}/api/accounts`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    const missing = await promisify(execFile)(process.execPath, ["--import", "tsx", main], {
      env: { ...process.env, DATABASE_URL: "" },
    }).catch((err: { code: number }) => err);
    expect((missing as { code: number }).code).toBe(2);
  });
});
