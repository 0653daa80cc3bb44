/**
 * `sync-patterns doctor` against the FastAPI example (examples/fastapi): its API and its own
 * shape proxy in front of the shape-protocol double, with the example's bearer token via --auth.
 * It passes, read-only and with --write, and doctor's test rows are gone afterwards.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";
import { MARKER } from "../../src/doctor/sample.js";
import { FASTAPI_EXAMPLE, fastApiAvailable, startFastApi, type FastApi } from "../support/fastapi.js";
import { generateClient } from "../support/generated.js";
import { usePostgres } from "../support/postgres/index.js";
import { startShapeServer, type ShapeServer } from "../../packages/shape-server/src/index.js";

const SPEC = path.join(FASTAPI_EXAMPLE, "openapi.yaml");
const postgres = usePostgres();

interface JsonRun {
  code: number;
  ok: boolean;
  entities: { entity: string; passed: string[] }[];
  diagnostics: Diagnostic[];
}

let db: pg.Pool;
let shapes: ShapeServer;
let app: FastApi;
let dir: string;

async function doctor(...args: string[]): Promise<JsonRun> {
  let stdout = "";
  const code = await main(["doctor", ...args, "--json"], { cwd: dir, interactive: false, stdout: (t) => (stdout += t), stderr: () => {} });
  return { code, ...(JSON.parse(stdout) as Omit<JsonRun, "code">) };
}

const errors = (r: JsonRun) => r.diagnostics.filter((d) => d.severity === "error");

/** The todos rows by household, and how many carry doctor's marker. */
async function todos(): Promise<{ rows: Record<string, number>; marked: number }> {
  const r = await db.query<{ household_id: string; n: number; m: number }>(`SELECT household_id, count(*)::int AS n, count(*) FILTER (WHERE t::text LIKE $1)::int AS m FROM todos t GROUP BY household_id ORDER BY household_id`, [`%${MARKER}%`]);
  return { rows: Object.fromEntries(r.rows.map((x) => [x.household_id, x.n])), marked: r.rows.reduce((s, x) => s + x.m, 0) };
}

describe.skipIf(!fastApiAvailable)("doctor against the FastAPI example", () => {
  beforeAll(async () => {
    const databaseUrl = await postgres().createDatabase();
    shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 1000 });
    const out = await generateClient("fastapi-doctor", fs.readFileSync(SPEC, "utf8"));
    app = await startFastApi({ databaseUrl, shapeUrl: shapes.shapeUrl, shapesJson: path.join(out, "server/shapes.json") });
    db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    await db.query(`INSERT INTO users (id, household_id, token) VALUES ('ann', 'h1', 'token-ann'), ('cat', 'h2', 'token-cat')`);
    await db.query(`INSERT INTO household_members (user_id, household_id, role) VALUES ('ann', 'h1', 'owner'), ('cat', 'h2', 'owner')`);
    await db.query(`INSERT INTO todos (id, household_id, title) VALUES (gen_random_uuid(), 'h1', 'ann''s'), (gen_random_uuid(), 'h2', 'cat''s')`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-doctor-fastapi-"));
    fs.writeFileSync(path.join(dir, "sync-patterns.config.yaml"), `spec: ${JSON.stringify(SPEC)}\noutput: src/generated\n`);
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await db?.end();
    await shapes?.stop();
  });

  const args = () => ["--api", app.url, "--electric", `${app.url}/v1/shape`, "--auth", "Authorization=Bearer token-ann"];

  it("passes the read-only checks through the example's shape proxy", async () => {
    const r = await doctor(...args());
    expect(r.diagnostics, JSON.stringify(r.diagnostics, null, 2)).toEqual([]);
    expect(r.code).toBe(0);
    // household_members: the users' roles (x-rbac.roles), synced read-only through the same proxy.
    expect(r.entities).toEqual([
      { entity: "household_member", table: "household_members", passed: ["api", "shape", "headers", "key", "columns", "where"] },
      { entity: "todo", table: "todos", passed: ["api", "shape", "headers", "key", "columns", "where"] },
    ]);
  });

  it("passes every --write check and leaves no test row behind", async () => {
    const before = await todos();
    const r = await doctor(...args(), "--write");
    // The membership table has no create endpoint (roles are granted by the server): nothing to write.
    expect(r.diagnostics, JSON.stringify(r.diagnostics, null, 2)).toEqual([expect.objectContaining({ code: "doctor/write-skipped", severity: "warning", location: { file: "/api/household_members" } })]);
    expect(r.code).toBe(0);
    expect(r.entities.find((e) => e.entity === "todo")!.passed).toEqual(["api", "shape", "headers", "key", "columns", "where", "client key kept", "create txid", "idempotency", "problem+json", "update txid", "delete txid", "cleanup"]);
    expect(await todos()).toEqual(before);
    expect(before).toEqual({ rows: { h1: 1, h2: 1 }, marked: 0 });
  });

  it("without --auth, the API's and the proxy's 401 are reported with the --auth hint", async () => {
    const r = await doctor("--api", app.url, "--electric", `${app.url}/v1/shape`, "--write");
    expect(r.code).toBe(1);
    // For each entity (household_members, todos).
    expect(errors(r).map((d) => d.code)).toEqual(["doctor/api-error", "doctor/shape-unreachable", "doctor/api-error", "doctor/shape-unreachable"]);
    for (const d of errors(r)) expect(d).toMatchObject({ message: expect.stringMatching(/401 application\/problem\+json/), hint: expect.stringMatching(/--auth HEADER=VALUE/) });
    expect((await todos()).marked).toBe(0);
  });
});
