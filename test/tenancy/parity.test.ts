/**
 * One list of tenancy scenarios, run against both example backends (backends.ts): the Hono
 * finance-tracker server and the FastAPI example. Real parts: PostgreSQL, the shape-protocol
 * double behind each backend's own shape proxy, the client generated from each backend's spec.
 *
 *  1. user A never receives a row of household B through the proxy, whatever they send (tampered
 *     where, table, columns, params, handle, offset);
 *  2. a write to B's row by A is refused by the API and rolled back locally;
 *  3. a row moved from household A to B leaves A's device and appears on B's;
 *  4. a token that stops being valid mid-stream (the server revokes it, as it refuses an expired
 *     one) is refreshed and the stream resumes from its offset, nothing downloaded again.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fastApiAvailable } from "../support/fastapi.js";
import { usePostgres } from "../support/postgres/index.js";
import { startFastApiBackend, startHono, type TenancyBackend, type Who } from "./backends.js";
import { eventually } from "../support/eventually.js";

const postgres = usePostgres();

const BACKENDS = [
  { name: "Hono", start: startHono, available: true },
  { name: "FastAPI", start: startFastApiBackend, available: fastApiAvailable },
];

describe.each(BACKENDS)("tenancy scenarios: $name backend", ({ start, available }) => {
  let backend: TenancyBackend;
  const tokens = {} as Record<Who, string>;

  beforeAll(async () => {
    if (!available) return;
    backend = await start(postgres());
    tokens.a = await backend.token("a");
    tokens.b = await backend.token("b");
  }, 180_000);

  afterAll(async () => {
    await backend?.stop();
  });

  interface Page {
    status: number;
    handle: string | null;
    offset: string | null;
    rows: Record<string, unknown>[];
    upToDate: boolean;
  }

  async function page(token: string, query: Record<string, string>): Promise<Page> {
    const response = await fetch(`${backend.api}/v1/shape?${new URLSearchParams(query)}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await response.text();
    const messages = response.ok && text ? (JSON.parse(text) as { headers: Record<string, unknown>; value?: Record<string, unknown> }[]) : [];
    return {
      status: response.status,
      handle: response.headers.get("electric-handle"),
      offset: response.headers.get("electric-offset"),
      rows: messages.filter((m) => m.value).map((m) => m.value!),
      upToDate: messages.some((m) => m.headers.control === "up-to-date"),
    };
  }

  /** Reads as a raw client would from `first`, following handles and offsets until up to date. */
  async function readAll(token: string, first: Record<string, string>): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    let query = first;
    for (let i = 0; i < 8; i++) {
      const p = await page(token, query);
      rows.push(...p.rows);
      if (p.upToDate || !p.handle || !p.offset) break;
      query = p.status === 409 ? { table: backend.table, offset: "-1", handle: p.handle } : { ...first, handle: p.handle, offset: p.offset };
    }
    return rows;
  }

  it.skipIf(!available)("1: user A never receives a row of household B through the proxy, whatever they send", async () => {
    const { table, household, label } = backend;
    await backend.sql.query(backend.serverInsert, [household.a, "a-row"]);
    await backend.sql.query(backend.serverInsert, [household.b, "b-row"]);
    const ownRows = async () => {
      const rows = await readAll(tokens.a, { table, offset: "-1" });
      expect(rows.map((r) => r[label])).toContain("a-row");
      return rows;
    };
    expect((await eventually(ownRows)).every((r) => r.household_id === household.a)).toBe(true);
    const b = await page(tokens.b, { table, offset: "-1" });
    expect(b.status).toBe(200);
    const bLive = await page(tokens.b, { table, offset: b.offset!, handle: b.handle! });
    const tampered: Record<string, string>[] = [
      { table, offset: "-1", where: "true" },
      { table, offset: "-1", where: `household_id = '${household.b}'` },
      { table, offset: "-1", where: "household_id = $1", "params[1]": household.b },
      { table, offset: "-1", "params[1]": household.b },
      { table, offset: "-1", params: JSON.stringify({ 1: household.b }) },
      { table, offset: "-1", columns: "id,household_id" },
      { table, offset: "-1", where: `1=1) OR (household_id = '${household.b}'` },
      // B's handle and offsets: A's shape is another shape, so they never open B's log.
      { table, offset: b.offset!, handle: b.handle! },
      { table, offset: bLive.offset ?? b.offset!, handle: b.handle! },
      { table, offset: "0_inf", handle: b.handle! },
      { table, offset: "-1", handle: b.handle! },
    ];
    for (const query of tampered) {
      const rows = await readAll(tokens.a, query);
      expect(rows.filter((r) => r.household_id !== undefined && r.household_id !== household.a), JSON.stringify(query)).toEqual([]);
      expect(rows.filter((r) => r[label] === "b-row"), JSON.stringify(query)).toEqual([]);
    }
    // Other tables and made-up shape names: refused before Electric is asked. No token: 401.
    for (const name of ["pg_catalog.pg_authid", "users", `${table}_b`, `public.${table}`]) {
      expect((await page(tokens.a, { table: name, offset: "-1" })).status, name).toBe(404);
    }
    expect((await page("not-a-token", { table, offset: "-1" })).status).toBe(401);
    // The REST side: B's rows are not in A's list.
    const list = (await (await fetch(`${backend.api}${backend.path}`, { headers: { authorization: `Bearer ${tokens.a}` } })).json()) as Record<string, unknown>[];
    expect(list.map((r) => r[label])).toContain("a-row");
    expect(list.filter((r) => r[label] === "b-row" || (r.household_id !== undefined && r.household_id !== household.a))).toEqual([]);
  });

  it.skipIf(!available)("2: a write to B's row by A is refused by the API and rolled back locally", async () => {
    const { id: theirs } = (await backend.sql.query<{ id: string }>(backend.serverInsert, [backend.household.b, "b's own"])).rows[0]!;
    // Straight to the API: not found for A (no hint that the row exists), and unchanged.
    for (const method of ["PATCH", "DELETE"]) {
      const response = await fetch(`${backend.api}${backend.path}/${theirs}`, {
        method,
        headers: { authorization: `Bearer ${tokens.a}`, "content-type": "application/json" },
        ...(method === "PATCH" ? { body: JSON.stringify({ [backend.label]: "mine now" }) } : {}),
      });
      expect(response.status, method).toBe(404);
      expect(response.headers.get("content-type")).toMatch(/problem\+json/);
    }
    // Through the generated client: A writes a row under B's key; the API refuses, the row goes.
    const db = await backend.client.createDatabase();
    const engine = await backend.client.startSync({ db, apiUrl: backend.api, electricUrl: `${backend.api}/v1/shape`, headers: () => ({ authorization: `Bearer ${tokens.a}` }), backoff: { initialMs: 50, maxMs: 400 } });
    const local = async (sql: string, params: unknown[] = []) => (await db.pg.query(sql, params)).rows;
    try {
      await engine.ready;
      await local(backend.localInsert, [theirs, "mine now"]);
      expect(await local(`SELECT "${backend.label}" AS label FROM ${backend.table} WHERE id = $1`, [theirs])).toEqual([{ label: "mine now" }]);
      await eventually(async () => expect(await local(`SELECT status FROM "_changes" WHERE row_key = $1`, [theirs])).toEqual([{ status: "failed" }]));
      expect(await local(`SELECT * FROM ${backend.table} WHERE id = $1`, [theirs])).toEqual([]);
      expect((await backend.sql.query(`SELECT household_id::text AS h, "${backend.label}" AS label FROM ${backend.table} WHERE id = $1`, [theirs])).rows).toEqual([{ h: backend.household.b, label: "b's own" }]);
    } finally {
      await engine.stop();
      await db.close();
    }
  });

  it.skipIf(!available)("3: a row moved from household A to B leaves A's device and appears on B's", async () => {
    const open = async (who: Who) => {
      const db = await backend.client.createDatabase();
      const engine = await backend.client.startSync({ db, apiUrl: backend.api, electricUrl: `${backend.api}/v1/shape`, headers: () => ({ authorization: `Bearer ${tokens[who]}` }) });
      await engine.ready;
      const labels = async () => (await db.pg.query<{ label: string }>(`SELECT "${backend.label}" AS label FROM ${backend.table} ORDER BY 1`)).rows.map((r) => r.label);
      return { labels, close: async () => (await engine.stop(), await db.close()) };
    };
    const a = await open("a");
    const b = await open("b");
    try {
      const { id } = (await backend.sql.query<{ id: string }>(backend.serverInsert, [backend.household.a, "moving"])).rows[0]!;
      await eventually(async () => expect(await a.labels()).toContain("moving"));
      expect(await b.labels()).not.toContain("moving");
      await backend.sql.query(`UPDATE ${backend.table} SET household_id = $2 WHERE id = $1`, [id, backend.household.b]);
      await eventually(async () => expect(await b.labels()).toContain("moving"));
      await eventually(async () => expect(await a.labels()).not.toContain("moving"));
      // And back again.
      await backend.sql.query(`UPDATE ${backend.table} SET household_id = $2 WHERE id = $1`, [id, backend.household.a]);
      await eventually(async () => expect(await a.labels()).toContain("moving"));
      await eventually(async () => expect(await b.labels()).not.toContain("moving"));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it.skipIf(!available)("4: a token that stops being valid mid-stream (revoked, as an expired one is refused) is refreshed; the stream resumes from its offset, nothing downloaded again", async () => {
    const expiring = await backend.expiringToken("a");
    let token = expiring.token;
    let refreshes = 0;
    // Every token a refresh issued: several shapes may get their 401 at once and each refreshes.
    const issued: string[] = [];
    const requests: { table: string | null; offset: string | null; handle: string | null; status: number; token: string }[] = [];
    const logging: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const response = await fetch(input, init);
      if (url.pathname.endsWith("/v1/shape")) {
        const auth = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).get("authorization") ?? "";
        requests.push({ table: url.searchParams.get("table"), offset: url.searchParams.get("offset"), handle: url.searchParams.get("handle"), status: response.status, token: auth });
      }
      return response;
    };
    const db = await backend.client.createDatabase();
    const engine = await backend.client.startSync({
      db,
      apiUrl: backend.api,
      electricUrl: `${backend.api}/v1/shape`,
      fetch: logging,
      headers: () => ({ authorization: `Bearer ${token}` }),
      onUnauthorized: async () => {
        refreshes++;
        token = await backend.token("a");
        issued.push(`Bearer ${token}`);
      },
    });
    const labels = async () => (await db.pg.query<{ label: string }>(`SELECT "${backend.label}" AS label FROM ${backend.table}`)).rows.map((r) => r.label);
    try {
      await engine.ready;
      const initial = requests.filter((r) => r.table === backend.table && r.offset === "-1").length;
      expect(initial).toBeGreaterThan(0);
      await expiring.expire();
      await backend.sql.query(backend.serverInsert, [backend.household.a, "after expiry"]);
      await eventually(async () => expect(await labels()).toContain("after expiry"));
      expect(refreshes).toBeGreaterThanOrEqual(1);
      // Whichever shape asked first after the expiry got the 401 (the refreshed token then serves all).
      const refused = requests.findIndex((r) => r.status === 401);
      expect(refused).toBeGreaterThan(-1);
      const before = requests[refused]!;
      // (The retried request may be a long poll still held: wait for its answer.)
      const after = await eventually(async () => {
        const found = requests.slice(refused + 1).find((r) => r.table === before.table && r.status === 200);
        expect(found).toBeDefined();
        return found!;
      });
      // The same stream at the same place, with the new token.
      expect(before.offset).not.toBe("-1");
      expect(after).toMatchObject({ handle: before.handle, offset: before.offset });
      expect(issued).toContain(after.token);
      expect(after.token).not.toBe(`Bearer ${expiring.token}`);
      // Nothing downloaded again: no new initial request, no re-fetch.
      expect(requests.filter((r) => r.table === backend.table && r.offset === "-1").length).toBe(initial);
      expect(requests.slice(refused).filter((r) => r.offset === "-1")).toEqual([]);
      for (const shape of engine.shapes) expect(shape.stats.refetches).toBe(0);
    } finally {
      await engine.stop();
      await db.close();
    }
  });
});
