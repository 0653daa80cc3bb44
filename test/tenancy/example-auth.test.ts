/**
 * The finance-tracker server's sign-in and household scoping beyond the shared scenarios
 * (parity.test.ts): wrong credentials, forged, expired and revoked tokens, a member removed, a
 * household sent in a body, references to another household's rows, reports and exports. Real
 * PostgreSQL, the example server (no default user: every request signs in).
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_HOUSEHOLDS, DEMO_USERS, signToken } from "../../examples/finance-tracker/server/auth.js";
import { createServer, type RunningServer } from "../../examples/finance-tracker/server/server.js";
import { usePostgres } from "../support/postgres/index.js";

const postgres = usePostgres();
let server: RunningServer;
let sql: pg.Client;
const [LOVELACE, TURING] = [DEMO_HOUSEHOLDS[0].id, DEMO_HOUSEHOLDS[1].id];
const token: Record<string, string> = {};

async function login(email: string, password = "demo") {
  const response = await fetch(`${server.url}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) });
  return { status: response.status, type: response.headers.get("content-type"), body: (await response.json()) as Record<string, unknown> };
}

async function call(method: string, path: string, as: string | null, body?: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(as !== null ? { authorization: `Bearer ${as}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

beforeAll(async () => {
  const databaseUrl = await postgres().createDatabase();
  // Electric is never reached in these tests: the proxy refuses before it asks.
  server = await createServer({ databaseUrl, electricUrl: "http://127.0.0.1:9/v1/shape", log: () => {} });
  sql = new pg.Client(databaseUrl);
  await sql.connect();
  for (const email of ["ada@example.com", "charles@example.com", "alan@example.com"]) token[email] = String((await login(email)).body.token);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await sql?.end();
});

describe("sign-in", () => {
  it("answers a session for the right password: user, household, role (stored, for issue #15)", async () => {
    const ok = await login("Ada@Example.com");
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ user: { email: "ada@example.com", name: "Ada" }, household: { id: LOVELACE, name: "Lovelace household" }, role: "owner", token: expect.any(String), expires_at: expect.any(String) });
    expect((await login("charles@example.com")).body.role).toBe("editor");
    expect((await sql.query(`SELECT count(*)::int AS n FROM household_members`)).rows).toEqual([{ n: DEMO_USERS.length }]);
  });

  it("refuses a wrong password and an unknown email alike (401, problem+json), and a body without them (422)", async () => {
    const wrong = await login("ada@example.com", "guess");
    const unknown = await login("nobody@example.com");
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(wrong.type).toBe("application/problem+json");
    expect(wrong.body.detail).toBe(unknown.body.detail);
    const empty = await fetch(`${server.url}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(empty.status).toBe(422);
  });

  it("refuses requests without a token, with a forged, expired or revoked one, and after the member left the household", async () => {
    expect((await call("GET", "/api/contacts", null)).status).toBe(401);
    expect((await call("GET", "/api/contacts", "nonsense")).status).toBe(401);
    const [body, signature] = token["ada@example.com"]!.split(".");
    // Ada's token claiming Turing's household: the signature no longer matches.
    const claims = JSON.parse(Buffer.from(body!, "base64url").toString()) as Record<string, unknown>;
    const forged = `${Buffer.from(JSON.stringify({ ...claims, hh: TURING })).toString("base64url")}.${signature}`;
    expect((await call("GET", "/api/contacts", forged)).status).toBe(401);
    // Signed with the server's own secret, but expired.
    const secret = Buffer.from((await sql.query<{ secret: string }>(`SELECT secret FROM server_secret`)).rows[0]!.secret, "base64url");
    const expired = signToken(secret, { sub: DEMO_USERS[0].id, hh: LOVELACE, iat: Date.now() - 10_000, exp: Math.floor(Date.now() / 1000) - 1 });
    expect((await call("GET", "/api/contacts", expired)).status).toBe(401);
    // Correctly signed for a household Ada is not a member of.
    const foreign = signToken(secret, { sub: DEMO_USERS[0].id, hh: TURING, iat: Date.now(), exp: Math.floor(Date.now() / 1000) + 60 });
    expect((await call("GET", "/api/contacts", foreign)).status).toBe(401);
    expect((await call("GET", `/v1/shape?table=contacts&offset=-1`, foreign)).status).toBe(401);

    // Charles: revoked ("sign out everywhere"), then signed in again; then removed from the household.
    const charles = token["charles@example.com"]!;
    expect((await call("GET", "/api/contacts", charles)).status).toBe(200);
    await sql.query(`UPDATE users SET tokens_valid_after = now() WHERE email = 'charles@example.com'`);
    expect((await call("GET", "/api/contacts", charles)).status).toBe(401);
    const again = String((await login("charles@example.com")).body.token);
    expect((await call("GET", "/api/contacts", again)).status).toBe(200);
    await sql.query(`DELETE FROM household_members WHERE user_id = (SELECT id FROM users WHERE email = 'charles@example.com')`);
    expect((await call("GET", "/api/contacts", again)).status).toBe(401);
    expect((await login("charles@example.com")).status).toBe(403);
  });
});

describe("household scope of the REST API", () => {
  it("a new row gets the signed-in user's household, whatever the body says", async () => {
    const created = await call("POST", "/api/contacts", token["ada@example.com"]!, { first_name: "Scoped", last_name: "Row", household_id: TURING });
    expect(created.status).toBe(201);
    expect(created.body!.household_id).toBe(LOVELACE);
    const changed = await call("PATCH", `/api/contacts/${created.body!.id as string}`, token["ada@example.com"]!, { household_id: TURING, last_name: "Still mine" });
    expect(changed.status).toBe(200);
    expect((await sql.query(`SELECT household_id::text AS h, last_name FROM contacts WHERE id = $1`, [created.body!.id])).rows).toEqual([{ h: LOVELACE, last_name: "Still mine" }]);
  });

  it("a reference to another household's row is refused as if it did not exist (422)", async () => {
    const alans = await call("POST", "/api/accounts", token["alan@example.com"]!, { name: "Alan's", kind: "cash", currency: "GBP" });
    const alansContact = await call("POST", "/api/contacts", token["alan@example.com"]!, { first_name: "Alan", last_name: "Contact" });
    const tx = await call("POST", "/api/transactions", token["ada@example.com"]!, { account_id: alans.body!.id, amount: "-1.00", occurred_on: "2026-12-01" });
    expect(tx.status).toBe(422);
    expect(tx.body!.errors).toEqual({ account_id: ["does not exist"] });
    const account = await call("POST", "/api/accounts", token["ada@example.com"]!, { name: "Ada's", kind: "cash", currency: "GBP", contact_id: alansContact.body!.id });
    expect(account.status).toBe(422);
    expect((await sql.query(`SELECT count(*)::int AS n FROM transactions WHERE account_id = $1`, [alans.body!.id])).rows).toEqual([{ n: 0 }]);
  });

  it("get, reports and exports see the user's household only", async () => {
    const adas = await call("POST", "/api/accounts", token["ada@example.com"]!, { name: "Ada main", kind: "checking", currency: "GBP" });
    const alans = await call("POST", "/api/accounts", token["alan@example.com"]!, { name: "Alan main", kind: "checking", currency: "GBP" });
    await call("POST", "/api/transactions", token["ada@example.com"]!, { account_id: adas.body!.id, amount: "10.00", occurred_on: "2026-11-05" });
    await call("POST", "/api/transactions", token["alan@example.com"]!, { account_id: alans.body!.id, amount: "1000.00", occurred_on: "2026-11-05" });
    expect((await call("GET", `/api/accounts/${alans.body!.id as string}`, token["ada@example.com"]!)).status).toBe(404);
    const summary = await call("GET", "/api/reports/monthly-summary?year=2026&month=11", token["ada@example.com"]!);
    expect(summary.body).toMatchObject({ income: "10.00" });
    expect((await call("GET", `/api/reports/balance-history?account_id=${alans.body!.id as string}`, token["ada@example.com"]!)).status).toBe(404);
    const exported = await call("POST", "/api/reports/export", token["ada@example.com"]!, { format: "json", from: "2026-11-01", to: "2026-11-30" });
    expect(exported.status).toBe(202);
    const content = (await sql.query<{ content: string }>(`SELECT content FROM export_jobs WHERE job_id = $1`, [exported.body!.job_id])).rows[0]!.content;
    expect((JSON.parse(content) as { amount: number }[]).map((t) => t.amount)).toEqual([10]);
  });

  it("idempotency keys are per user: another user's request under the same key is its own", async () => {
    const key = crypto.randomUUID();
    const headers = (who: string) => ({ authorization: `Bearer ${token[who]}`, "content-type": "application/json", "idempotency-key": key });
    const a = await fetch(`${server.url}/api/contacts`, { method: "POST", headers: headers("ada@example.com"), body: JSON.stringify({ first_name: "Key", last_name: "Ada" }) });
    const b = await fetch(`${server.url}/api/contacts`, { method: "POST", headers: headers("alan@example.com"), body: JSON.stringify({ first_name: "Key", last_name: "Ada" }) });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.headers.get("idempotent-replayed")).toBeNull();
    const [ra, rb] = [(await a.json()) as { id: string; household_id: string }, (await b.json()) as { id: string; household_id: string }];
    expect(ra.id).not.toBe(rb.id);
    expect([ra.household_id, rb.household_id]).toEqual([LOVELACE, TURING]);
  });
});
