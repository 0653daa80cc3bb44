/**
 * `sync-patterns doctor` against real services: PostgreSQL, the example Hono backend and the
 * shape-protocol double. The healthy backend passes; each deliberately broken variant (a small
 * proxy around the backend or the double, test/support/broken-backend.ts) is reported with its
 * own code and hint, and doctor's test rows never stay in the database.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type RunningServer } from "../../examples/finance-tracker/server/server.js";
import { main } from "../../src/cli/main.js";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";
import { MARKER } from "../../src/doctor/sample.js";
import { brokenApi, requireHeader, scopingShapeProxy, type ApiFault, type Proxy } from "../support/broken-backend.js";
import { freePort, usePostgres } from "../support/postgres/index.js";
import { startShapeServer, type ShapeServer } from "../../packages/shape-server/src/index.js";

const EXAMPLE_SPEC = path.resolve(import.meta.dirname, "../../examples/finance-tracker/openapi.yaml");
const postgres = usePostgres();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
interface JsonRun {
  code: number;
  ok: boolean;
  entities: { entity: string; passed: string[] }[];
  diagnostics: Diagnostic[];
}

function project(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-doctor-"));
  fs.writeFileSync(path.join(dir, "sync-patterns.config.yaml"), `spec: ${JSON.stringify(EXAMPLE_SPEC)}\noutput: src/generated\n`);
  return dir;
}

async function doctor(cwd: string, ...args: string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(["doctor", ...args], { cwd, interactive: false, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

async function doctorJson(cwd: string, ...args: string[]): Promise<JsonRun> {
  const r = await doctor(cwd, ...args, "--json");
  return { code: r.code, ...(JSON.parse(r.stdout) as Omit<JsonRun, "code">) };
}

const codes = (r: JsonRun) => r.diagnostics.map((d) => d.code);
const errors = (r: JsonRun) => r.diagnostics.filter((d) => d.severity === "error");

let databaseUrl: string;
let backend: RunningServer;
let shapes: ShapeServer;
let db: pg.Pool;
let dir: string;

/** Rows of the synced tables, and how many carry doctor's marker anywhere. */
async function leftovers(): Promise<{ rows: number; marked: number }> {
  let rows = 0;
  let marked = 0;
  for (const table of ["contacts", "accounts", "transactions"]) {
    const r = await db.query<{ n: string; m: string }>(`SELECT count(*) AS n, count(*) FILTER (WHERE t::text LIKE $1) AS m FROM ${table} t`, [`%${MARKER}%`]);
    rows += Number(r.rows[0]!.n);
    marked += Number(r.rows[0]!.m);
  }
  return { rows, marked };
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(r.status, await r.clone().text()).toBe(201);
  return (await r.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  databaseUrl = await postgres().createDatabase();
  backend = await createServer({ databaseUrl, defaultUser: "ada@example.com", log: () => {} });
  shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 1500 });
  db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const contact = await post(`${backend.url}/api/contacts`, { first_name: "Ada", last_name: "Lovelace" });
  await post(`${backend.url}/api/contacts`, { first_name: "Eve", last_name: "Other tenant" });
  const account = await post(`${backend.url}/api/accounts`, { name: "Main", kind: "checking", contact_id: contact.id });
  await post(`${backend.url}/api/transactions`, { account_id: account.id, amount: "12.50", occurred_on: "2026-01-02" });
  dir = project();
}, 120_000);

afterAll(async () => {
  await db?.end();
  await shapes?.stop();
  await backend?.close();
});

describe("doctor against the healthy example backend", () => {
  it("passes every check, reads and writes, and leaves nothing behind", async () => {
    const before = await leftovers();
    const r = await doctorJson(dir, "--api", backend.url, "--electric", shapes.shapeUrl, "--write");
    expect(errors(r), JSON.stringify(r.diagnostics, null, 2)).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.entities.map((e) => e.entity).sort()).toEqual(["account", "contact", "household_member", "transaction"]);
    // The memberships are read-only (x-rbac.roles): no write to check.
    for (const e of r.entities.filter((x) => x.entity !== "household_member")) {
      expect(e.passed, e.entity).toEqual(expect.arrayContaining(["api", "shape", "headers", "columns", "key", "where", "client key kept", "create txid", "idempotency", "problem+json", "update txid", "delete txid", "cleanup"]));
    }
    expect(await leftovers()).toEqual(before);
  });

  it("prints a line per entity and the findings in the diagnostic format; --entity limits the run", async () => {
    const r = await doctor(dir, "--api", backend.url, "--electric", shapes.shapeUrl, "--entity", "contacts");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/contact \(table contacts\): ok: api, shape, headers, key, columns, where/);
    expect(r.stdout).not.toMatch(/account/);
    // The double serves any table: fine in development, a warning for production.
    expect(r.stderr).toMatch(/^warning {2}.*table=categories.*\[doctor\/shape-table-not-forced\]\n {4}hint: /m);
  });

  it("reports an unknown --entity with a suggestion, and a missing shape URL", async () => {
    const r = await doctorJson(dir, "--api", backend.url, "--electric", shapes.shapeUrl, "--entity", "contcat");
    expect(r.code).toBe(1);
    expect(r.diagnostics[0]).toMatchObject({ code: "doctor/unknown-entity", hint: expect.stringMatching(/Did you mean contact\?/) });
    const none = await doctorJson(dir, "--api", backend.url);
    expect(codes(none)).toEqual(["doctor/no-shape-url"]);
  });

  it("reports services that do not answer, with what came back", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const r = await doctorJson(dir, "--api", closed, "--electric", `${backend.url}/v1/shape`, "--entity", "contacts", "--write");
    expect(r.code).toBe(1);
    expect(codes(r)).toEqual(["doctor/api-unreachable", "doctor/shape-unreachable"]);
    expect(r.diagnostics[0]!.message).toMatch(/ECONNREFUSED/);
    // The backend was started without an Electric URL: its /v1/shape answers a 503 problem, quoted.
    expect(r.diagnostics[1]!.message).toMatch(/503 application\/problem\+json/);
  });

  it("--auth headers reach the API and the shape endpoint; without them the 401 is quoted with a hint", async () => {
    // A real token of the example server (it checks it too), required by the proxies in front.
    const login = await fetch(`${backend.url}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "ada@example.com", password: "demo" }) });
    const secret = `Bearer ${((await login.json()) as { token: string }).token}`;
    const api = await requireHeader(backend.url, "authorization", secret);
    const shape = await requireHeader(new URL(shapes.shapeUrl).origin, "authorization", secret);
    try {
      const args = ["--api", api.url, "--electric", `${shape.url}/v1/shape`, "--entity", "contacts"];
      const without = await doctorJson(dir, ...args);
      expect(codes(without)).toEqual(["doctor/api-error", "doctor/shape-unreachable"]);
      expect(without.diagnostics[1]).toMatchObject({ message: expect.stringMatching(/401 application\/problem\+json/), hint: expect.stringMatching(/--auth HEADER=VALUE/) });
      const withAuth = await doctorJson(dir, ...args, "--write", "--auth", `Authorization=${secret}`);
      expect(errors(withAuth)).toEqual([]);
      expect(withAuth.entities[0]!.passed).toContain("delete txid");
    } finally {
      await api.close();
      await shape.close();
    }
  });

  it("--help describes the command; --auth must be HEADER=VALUE", async () => {
    const help = await doctor(dir, "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--write[\s\S]*--json/);
    const bad = await doctor(dir, "--auth", "Bearer-only");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected HEADER=VALUE/);
  });
});

describe("doctor against broken backends", () => {
  const cases: [ApiFault, string, RegExp][] = [
    ["no-txid", "doctor/write-no-txid", /pg_current_xact_id\(\)::xid::text/],
    ["other-txid", "doctor/write-txid-mismatch", /inside the transaction that writes the row/],
    ["xid8-txid", "doctor/write-txid-mismatch", /the 32-bit xid Electric reports/],
    ["no-idempotency", "doctor/write-not-idempotent", /Idempotency-Key/],
    ["replace-key", "doctor/write-key-replaced", /Keep the id the client sends/],
    // The test row is deleted at the end even though the check of the delete failed.
    ["first-delete-fails", "doctor/write-delete-failed", /must remove the row named by id/],
  ];
  for (const [fault, code, hint] of cases) {
    it(`${fault}: reported as ${code}, and doctor's rows are gone`, async () => {
      const before = await leftovers();
      const api: Proxy = await brokenApi(backend.url, fault, databaseUrl);
      try {
        const r = await doctorJson(dir, "--api", api.url, "--electric", shapes.shapeUrl, "--entity", "contacts", "--write");
        expect(r.code).toBe(1);
        const found = r.diagnostics.find((d) => d.code === code);
        expect(found, JSON.stringify(r.diagnostics, null, 2)).toBeDefined();
        expect(found!.hint).toMatch(hint);
        expect(codes(r)).not.toContain("doctor/write-cleanup-failed");
      } finally {
        await api.close();
      }
      expect(await leftovers()).toEqual(before);
    });
  }

  it("a txid in the JSON body instead of the header passes", async () => {
    const api = await brokenApi(backend.url, "txid-in-body", databaseUrl);
    try {
      const r = await doctorJson(dir, "--api", api.url, "--electric", shapes.shapeUrl, "--entity", "contacts", "--write");
      expect(errors(r)).toEqual([]);
      expect(r.entities[0]!.passed).toEqual(expect.arrayContaining(["create txid", "idempotency", "update txid", "delete txid"]));
    } finally {
      await api.close();
    }
  });

  it("a shape proxy that forwards the client's where: doctor/shape-where-not-forced; one that forces its own passes", async () => {
    const mine = (row: Record<string, unknown>) => row.last_name !== "Other tenant";
    const leaky = await scopingShapeProxy(shapes.shapeUrl, mine, true);
    const strict = await scopingShapeProxy(shapes.shapeUrl, mine, false);
    try {
      const bad = await doctorJson(dir, "--api", backend.url, "--electric", `${leaky.url}/v1/shape`, "--entity", "contacts");
      expect(bad.code).toBe(1);
      const found = bad.diagnostics.find((d) => d.code === "doctor/shape-where-not-forced");
      expect(found?.message).toMatch(/1 row the client's own request does not see/);
      expect(found?.hint).toMatch(/Let the proxy set `where`/);
      const good = await doctorJson(dir, "--api", backend.url, "--electric", `${strict.url}/v1/shape`, "--entity", "contacts");
      expect(errors(good)).toEqual([]);
      expect(good.entities[0]!.passed).toContain("where");
    } finally {
      await leaky.close();
      await strict.close();
    }
  });

  it("a shape proxy that drops electric-schema: doctor/shape-headers", async () => {
    const stripping = await scopingShapeProxy(shapes.shapeUrl, () => true, false, ["electric-schema"]);
    try {
      const r = await doctorJson(dir, "--api", backend.url, "--electric", `${stripping.url}/v1/shape`, "--entity", "contacts");
      expect(r.code).toBe(1);
      expect(r.diagnostics.find((d) => d.code === "doctor/shape-headers")).toMatchObject({ message: expect.stringMatching(/lacks electric-schema/), hint: expect.stringMatching(/forward Electric's electric-\* headers/) });
    } finally {
      await stripping.close();
    }
  });

  it("a renamed column: doctor/shape-column-missing names both names", async () => {
    const url = await postgres().createDatabase();
    const server = await createServer({ databaseUrl: url, defaultUser: "ada@example.com", log: () => {} });
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    await pool.query(`ALTER TABLE contacts RENAME COLUMN phone TO phone_number`);
    const double = await startShapeServer({ databaseUrl: url, longPollTimeoutMs: 1500 });
    try {
      const r = await doctorJson(dir, "--api", server.url, "--electric", double.shapeUrl, "--entity", "contacts");
      expect(r.code).toBe(1);
      const found = r.diagnostics.filter((d) => d.code === "doctor/shape-column-missing");
      expect(found).toHaveLength(1);
      expect(found[0]!.message).toMatch(/no column "phone".*phone_number/);
      expect(found[0]!.hint).toMatch(/Name the column exactly like the spec's property/);
      // An empty database: a transaction's test row has no account to refer to, so --write skips it (a warning).
      const empty = await doctorJson(dir, "--api", server.url, "--electric", double.shapeUrl, "--entity", "transaction", "--write");
      expect(errors(empty)).toEqual([]);
      expect(empty.diagnostics.find((d) => d.code === "doctor/write-skipped")?.message).toMatch(/needs account_id \(a account\)/);
      // With an account there (and only --entity transaction), doctor reads the accounts shape to refer to it.
      await post(`${server.url}/api/accounts`, { name: "Main", kind: "cash" });
      const seeded = await doctorJson(dir, "--api", server.url, "--electric", double.shapeUrl, "--entity", "transaction", "--write");
      expect(errors(seeded)).toEqual([]);
      expect(seeded.entities[0]!.passed).toEqual(expect.arrayContaining(["create txid", "idempotency", "delete txid", "cleanup"]));
      expect(Number((await pool.query("SELECT count(*) AS n FROM transactions")).rows[0].n)).toBe(0);
    } finally {
      await double.stop();
      await pool.end();
      await server.close();
    }
  });
});
