/**
 * The shape-server test double against real Postgres and the real `@electric-sql/client`:
 * the shared conformance checks (conformance.ts, also run against real Electric), then the
 * protocol details checked on the wire and the double's test hooks.
 */
import { isChangeMessage, isControlMessage, type Message, type Row } from "@electric-sql/client";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usePostgres } from "../support/postgres/index.js";
import { startShapeServer, type ShapeServer } from "../../packages/shape-server/src/index.js";
import { checks, makeTable, openStream, writeTx, type Target } from "./conformance.js";

const LONG_POLL_MS = 1500;
const postgres = usePostgres();
let server: ShapeServer;
let databaseUrl: string;
let db: pg.Pool;
let target: Target;

beforeAll(async () => {
  databaseUrl = await postgres().createDatabase();
  // Writers in another time zone: the server must still render timestamptz in UTC.
  db = new pg.Pool({ connectionString: databaseUrl, options: "-c TimeZone=America/New_York", max: 10 });
  db.on("error", () => undefined);
  server = await startShapeServer({ databaseUrl, longPollTimeoutMs: LONG_POLL_MS });
  target = { shapeUrl: server.shapeUrl, db };
});

afterAll(async () => {
  await server?.stop();
  await db?.end();
});

describe("conformance with the real @electric-sql/client", () => {
  for (const [name, check] of Object.entries(checks)) it(name, () => check(target));
});

// ---------------------------------------------------------------------------------------------

interface WireResponse {
  status: number;
  headers: Headers;
  body: unknown;
  ms: number;
}

async function get(params: Record<string, string>, base = server.shapeUrl): Promise<WireResponse> {
  const t0 = Date.now();
  const r = await fetch(`${base}?${new URLSearchParams(params)}`);
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : undefined, ms: Date.now() - t0 };
}

type WireMessage = { key?: string; value?: Record<string, unknown>; old_value?: Record<string, unknown>; headers: Record<string, unknown> };
const messages = (r: WireResponse) => r.body as WireMessage[];
const offsetOf = (r: WireResponse) => r.headers.get("electric-offset") as string;
const handleOf = (r: WireResponse) => r.headers.get("electric-handle") as string;

/** -1 then non-live follow-ups until up-to-date; returns the last response and all messages. */
async function catchUp(table: string, extra: Record<string, string> = {}, base = server.shapeUrl) {
  let r = await get({ table, offset: "-1", ...extra }, base);
  expect(r.status).toBe(200);
  const all = [...messages(r)];
  while (!r.headers.has("electric-up-to-date")) {
    r = await get({ table, offset: offsetOf(r), handle: handleOf(r), ...extra }, base);
    expect(r.status).toBe(200);
    all.push(...messages(r));
  }
  return { last: r, all, handle: handleOf(r), offset: offsetOf(r) };
}

const parseOffset = (o: string) => {
  const [lsn, op] = o.split("_");
  return [BigInt(lsn as string), op === "inf" ? Infinity : Number(op)] as const;
};
const offsetLess = (a: string, b: string) => {
  const [al, ao] = parseOffset(a);
  const [bl, bo] = parseOffset(b);
  return al < bl || (al === bl && ao < bo);
};

describe("the wire protocol", () => {
  it("offset -1: snapshot rows and snapshot-end, handle/offset/schema headers, never up-to-date", async () => {
    const table = await makeTable(target, "wire_snap", "id int PRIMARY KEY, title text NOT NULL, price numeric(10,2), tags text[], at timestamptz(3)");
    await db.query(`INSERT INTO ${table} VALUES (1, 'a', 9.5, '{x,"y z"}', now()), (2, 'b/c', NULL, NULL, NULL)`);
    const r = await get({ table, offset: "-1" });
    expect(r.status).toBe(200);
    expect(handleOf(r)).toMatch(/^[0-9a-f]+-\d+$/);
    expect(offsetOf(r)).toBe("0_0"); // as Electric 1.7: the snapshot ends at 0_0 …
    expect(r.headers.has("electric-up-to-date")).toBe(false);
    expect(r.headers.get("cache-control")).toContain("max-age=604800");
    expect(JSON.parse(r.headers.get("electric-schema") as string)).toEqual({
      id: { type: "int4", pk_index: 0, not_null: true },
      title: { type: "text", not_null: true },
      price: { type: "numeric", precision: 10, scale: 2 },
      tags: { type: "text", dims: 1 },
      at: { type: "timestamptz", precision: 3 },
    });
    const body = messages(r);
    expect(body.slice(0, 2)).toEqual([
      { key: `"public"."${table}"/"1"`, value: { id: "1", title: "a", price: "9.50", tags: '{x,"y z"}', at: expect.any(String) }, headers: { operation: "insert", relation: ["public", table] } },
      { key: `"public"."${table}"/"2"`, value: { id: "2", title: "b/c", price: null, tags: null, at: null }, headers: { operation: "insert", relation: ["public", table] } },
    ]);
    const end = body[2]?.headers as Record<string, unknown>;
    expect(end).toMatchObject({ control: "snapshot-end", xmin: expect.stringMatching(/^\d+$/), xmax: expect.stringMatching(/^\d+$/) });
    expect(Array.isArray(end.xip_list)).toBe(true);
    expect(body).toHaveLength(3);

    // The follow-up (not live) ends with up-to-date and a decimal global_last_seen_lsn.
    const next = await get({ table, offset: offsetOf(r), handle: handleOf(r) });
    expect(next.status).toBe(200);
    expect(next.headers.get("electric-up-to-date")).toBe("");
    expect(offsetOf(next)).toBe("0_inf"); // … and up-to-date comes at 0_inf with the next request
    expect(next.headers.has("electric-schema")).toBe(true);
    expect(next.headers.has("electric-cursor")).toBe(false);
    expect(messages(next)).toEqual([{ headers: { control: "up-to-date", global_last_seen_lsn: expect.stringMatching(/^\d+$/) } }]);
  });

  it("rejects bad requests with 400 and Electric's error shape", async () => {
    const table = await makeTable(target, "wire_bad", "id int PRIMARY KEY, v text");
    const { handle } = await catchUp(table);
    const cases: [Record<string, string>, string][] = [
      [{ offset: "-1" }, "table"],
      [{ table }, "offset"],
      [{ table, offset: "0_inf" }, "handle"],
      [{ table, offset: "banana", handle }, "offset"],
      [{ table, offset: "-1", live: "true" }, "live"],
      [{ table, offset: "now", live: "true" }, "live"],
      [{ table, offset: "-1", where: "nope > 1" }, "where"],
      [{ table, offset: "-1", where: "id > 1); DROP TABLE x; --" }, "where"],
      [{ table, offset: "-1", where: "id > 0) UNION SELECT 1 --" }, "where"],
      [{ table, offset: "-1", where: "id > $1" }, "where"],
      [{ table, offset: "-1", where: "id > $1", "params[2]": "1" }, "params"],
      [{ table, offset: "-1", columns: "v" }, "columns"],
      [{ table, offset: "-1", columns: "id,nope" }, "columns"],
      [{ table: "no_such_table", offset: "-1" }, "table"],
      [{ table, offset: "-1", replica: "half" }, "replica"],
      [{ table, offset: "0_inf", handle, live_sse: "true" }, "live_sse"],
      [{ table, offset: "99999999999_0", handle }, "offset"], // out of bounds, after a short wait
    ];
    for (const [params, field] of cases) {
      const r = await get(params);
      expect(r.status, JSON.stringify(params)).toBe(400);
      expect(r.body, JSON.stringify(params)).toMatchObject({ message: "Invalid request", errors: { [field]: [expect.any(String)] } });
    }
  });

  it("live: holds the request until a change commits, then answers with the changes and up-to-date", async () => {
    const table = await makeTable(target, "wire_live", "id int PRIMARY KEY, v text");
    const { handle, offset } = await catchUp(table);
    const pending = get({ table, offset, handle, live: "true", cursor: "0" });
    await new Promise((r) => setTimeout(r, 150));
    const txid = await writeTx(target, [
      `INSERT INTO ${table} VALUES (1, 'a'), (2, 'b')`,
      `UPDATE ${table} SET v = 'A' WHERE id = 1`,
      `DELETE FROM ${table} WHERE id = 2`,
    ]);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(LONG_POLL_MS);
    expect(r.headers.has("electric-schema")).toBe(false);
    expect(r.headers.get("electric-cursor")).toMatch(/^\d+$/);
    expect(r.headers.get("electric-up-to-date")).toBe("");
    const body = messages(r);
    const changes = body.slice(0, -1);
    expect(changes.map((m) => [m.headers.operation, m.value])).toEqual([
      ["insert", { id: "1", v: "a" }],
      ["insert", { id: "2", v: "b" }],
      ["update", { id: "1", v: "A" }],
      ["delete", { id: "2" }],
    ]);
    const lsn = changes[0]?.headers.lsn as string;
    expect(lsn).toMatch(/^\d+$/);
    for (const m of changes) {
      expect(m.headers.lsn).toBe(lsn); // one transaction, one commit LSN
      expect(m.headers.txids).toEqual([txid]);
      expect(typeof m.headers.op_position).toBe("number");
    }
    expect(changes.map((m) => m.headers.last)).toEqual([undefined, undefined, undefined, true]);
    const positions = changes.map((m) => m.headers.op_position as number);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(new Set(positions).size).toBe(positions.length);
    expect(body.at(-1)).toEqual({ headers: { control: "up-to-date", global_last_seen_lsn: lsn } });
    expect(offsetOf(r)).toBe(`${lsn}_${positions.at(-1)}`);

    // The next transaction: strictly greater offsets and LSN.
    const pending2 = get({ table, offset: offsetOf(r), handle, live: "true", cursor: r.headers.get("electric-cursor") as string });
    await db.query(`INSERT INTO ${table} VALUES (3, 'c')`);
    const r2 = await pending2;
    const m2 = messages(r2)[0] as WireMessage;
    expect(BigInt(m2.headers.lsn as string)).toBeGreaterThan(BigInt(lsn));
    expect(offsetLess(offsetOf(r), offsetOf(r2))).toBe(true);
    expect(m2.headers.last).toBe(true);
  });

  it("live: times out with a bare up-to-date, electric-has-data false and a new cursor", async () => {
    const table = await makeTable(target, "wire_idle", "id int PRIMARY KEY");
    const { handle, offset } = await catchUp(table);
    const r = await get({ table, offset, handle, live: "true", cursor: "0" });
    expect(r.status).toBe(200);
    expect(r.ms).toBeGreaterThanOrEqual(LONG_POLL_MS - 100);
    expect(r.headers.get("electric-has-data")).toBe("false");
    expect(offsetOf(r)).toBe(offset);
    expect(handleOf(r)).toBe(handle);
    expect(r.headers.get("electric-cursor")).toMatch(/^\d+$/);
    expect(messages(r)).toEqual([{ headers: { control: "up-to-date", global_last_seen_lsn: expect.stringMatching(/^\d+$/) } }]);
  });

  it("offset=now: an immediate up-to-date at the shape's last offset", async () => {
    const table = await makeTable(target, "wire_now", "id int PRIMARY KEY");
    const { handle } = await catchUp(table);
    await db.query(`INSERT INTO ${table} VALUES (1)`);
    await server.flush();
    const r = await get({ table, offset: "now" });
    expect(r.status).toBe(200);
    expect(handleOf(r)).toBe(handle);
    expect(messages(r)).toEqual([{ headers: { control: "up-to-date", global_last_seen_lsn: expect.stringMatching(/^\d+$/) } }]);
    expect(offsetOf(r)).toMatch(/^[1-9]\d*_\d+$/);
    // Nothing after that offset yet.
    const after = await get({ table, offset: offsetOf(r), handle });
    expect(messages(after).filter((m) => m.key)).toEqual([]);
  });

  it("a stale or unknown handle gets 409 must-refetch with the current handle", async () => {
    const table = await makeTable(target, "wire_409", "id int PRIMARY KEY");
    const { handle, offset } = await catchUp(table);
    const r = await get({ table, offset, handle: "0000-1" });
    expect(r.status).toBe(409);
    expect(handleOf(r)).toBe(handle);
    expect(r.body).toEqual([{ headers: { control: "must-refetch" } }]);

    // A held live request is answered with 409 when the shape rotates.
    const pending = get({ table, offset, handle, live: "true", cursor: "0" });
    await new Promise((res) => setTimeout(res, 100));
    const [rotated] = server.rotate(table);
    expect(rotated).toBe(handle);
    const held = await pending;
    expect(held.status).toBe(409);
    expect(held.ms).toBeLessThan(LONG_POLL_MS);
    // As Electric 1.7: the held request's 409 has no handle and may be cached for a second only…
    expect(held.headers.has("electric-handle")).toBe(false);
    expect(held.headers.get("cache-control")).toMatch(/(^|[ ,])max-age=1(,|$)/);
    expect(held.body).toEqual([{ headers: { control: "must-refetch" } }]);
    // … and the next request gets the 409 with the new handle.
    const next = await get({ table, offset, handle });
    expect(next.status).toBe(409);
    const fresh = handleOf(next);
    expect(fresh).toBeTruthy();
    expect(fresh).not.toBe(handle);
    // -1 with the new handle (as the client sends it) serves the new shape.
    const again = await get({ table, offset: "-1", handle: fresh });
    expect(handleOf(again)).toBe(fresh);
  });

  it("columns: only the selected columns, in values and schema", async () => {
    const table = await makeTable(target, "wire_cols", `id int PRIMARY KEY, "Secret Col" text, keep text`);
    await db.query(`INSERT INTO ${table} VALUES (1, 's', 'k')`);
    const { all, handle, offset, last } = await catchUp(table, { columns: "id,keep" });
    expect(Object.keys(JSON.parse(last.headers.get("electric-schema") as string))).toEqual(["id", "keep"]);
    expect(all[0]?.value).toEqual({ id: "1", keep: "k" });
    const pending = get({ table, offset, handle, live: "true", cursor: "0", columns: "id,keep" });
    await db.query(`UPDATE ${table} SET "Secret Col" = 'only secret changed' WHERE id = 1`);
    await db.query(`UPDATE ${table} SET keep = 'K', "Secret Col" = 'x' WHERE id = 1`);
    const r = await pending;
    const changes = messages(r).filter((m) => m.key);
    // The first update touches no selected column: dropped, as Electric does.
    expect(changes.map((m) => m.value)).toEqual([{ id: "1", keep: "K" }]);
    // Quoted names work in `columns`.
    const quoted = await get({ table, offset: "-1", columns: `id,"Secret Col"` });
    expect(messages(quoted)[0]?.value).toEqual({ id: "1", "Secret Col": "x" });
  });

  it("replica=full: updates carry the whole row and old_value, deletes the whole row", async () => {
    const table = await makeTable(target, "wire_full", "id int PRIMARY KEY, a text, b text");
    await db.query(`INSERT INTO ${table} VALUES (1, 'a1', 'b1')`);
    const { handle, offset } = await catchUp(table, { replica: "full" });
    const pending = get({ table, offset, handle, live: "true", cursor: "0", replica: "full" });
    await writeTx(target, [`UPDATE ${table} SET a = 'a2' WHERE id = 1`, `DELETE FROM ${table} WHERE id = 1`]);
    const changes = messages(await pending).filter((m) => m.key);
    expect(changes.map(({ value, old_value, headers }) => ({ op: headers.operation, value, old_value }))).toEqual([
      { op: "update", value: { id: "1", a: "a2", b: "b1" }, old_value: { a: "a1" } },
      { op: "delete", value: { id: "1", a: "a2", b: "b1" }, old_value: undefined },
    ]);
  });

  it("a primary key change is a delete (key_change_to) then an insert (key_change_from)", async () => {
    const table = await makeTable(target, "wire_pk", "id int PRIMARY KEY, v text");
    await db.query(`INSERT INTO ${table} VALUES (1, 'v')`);
    const { handle, offset } = await catchUp(table);
    const pending = get({ table, offset, handle, live: "true", cursor: "0" });
    await db.query(`UPDATE ${table} SET id = 2 WHERE id = 1`);
    const changes = messages(await pending).filter((m) => m.key);
    const k1 = `"public"."${table}"/"1"`;
    const k2 = `"public"."${table}"/"2"`;
    expect(changes.map((m) => [m.headers.operation, m.key, m.value, m.headers.key_change_to, m.headers.key_change_from])).toEqual([
      ["delete", k1, { id: "1" }, k2, undefined],
      ["insert", k2, { id: "2", v: "v" }, undefined, k1],
    ]);
    expect(changes[1]?.headers.last).toBe(true);
  });

  it("REPLICA IDENTITY DEFAULT (setReplicaIdentityFull: false): what pgoutput sends without old rows", async () => {
    const plain = await startShapeServer({ databaseUrl, longPollTimeoutMs: LONG_POLL_MS, setReplicaIdentityFull: false });
    try {
      const table = await makeTable(target, "identity_default", "id int PRIMARY KEY, v text, big text");
      // A value stored out of line (TOASTed): an update that leaves it alone does not send it.
      const big = (await db.query<{ t: string }>("SELECT string_agg(md5(g::text), '') AS t FROM generate_series(1, 300) g")).rows[0]?.t as string;
      await db.query(`INSERT INTO ${table} VALUES (1, 'a', 'small'), (2, 'b', $1)`, [big]);
      const { handle, offset } = await catchUp(table, { replica: "full" }, plain.shapeUrl);
      const identity = await db.query<{ r: string }>(`SELECT relreplident::text AS r FROM pg_class WHERE oid = '${table}'::regclass`);
      expect(identity.rows[0]?.r).toBe("d"); // left as it was
      await db.query(`UPDATE ${table} SET v = 'a2' WHERE id = 1`);
      await db.query(`UPDATE ${table} SET v = 'b2' WHERE id = 2`);
      await db.query(`UPDATE ${table} SET id = 3 WHERE id = 1`);
      await db.query(`DELETE FROM ${table} WHERE id = 3`);
      await plain.flush();
      const rest = await get({ table, offset, handle, replica: "full" }, plain.shapeUrl);
      const changes = messages(rest).filter((m) => m.key);
      expect(changes.map((m) => [m.headers.operation, m.value, m.old_value, m.headers.key_change_to ?? m.headers.key_change_from])).toEqual([
        // No old row: every column sent counts as changed, and there is no old_value …
        ["update", { id: "1", v: "a2", big: "small" }, undefined, undefined],
        // … and the unchanged TOASTed value is not sent at all.
        ["update", { id: "2", v: "b2" }, undefined, undefined],
        // A key change carries the old key (pgoutput's key tuple); a delete carries the key only.
        ["delete", { id: "1" }, undefined, `"public"."${table}"/"3"`],
        ["insert", { id: "3", v: "a2", big: "small" }, undefined, `"public"."${table}"/"1"`],
        ["delete", { id: "3" }, undefined, undefined],
      ]);
    } finally {
      await plain.stop();
    }
  });

  it("a table without a primary key is keyed by all its columns, in table order", async () => {
    const table = await makeTable(target, "wire_nopk", "b text, a int");
    await db.query(`INSERT INTO ${table} VALUES ('x/y', 1), (NULL, 2)`);
    const { all, handle, offset } = await catchUp(table);
    expect(all.filter((m) => m.key).map((m) => m.key)).toEqual([`"public"."${table}"/"x//y"/"1"`, `"public"."${table}"/_/"2"`]);
    const pending = get({ table, offset, handle, live: "true", cursor: "0" });
    await db.query(`UPDATE ${table} SET b = 'z' WHERE a = 2`);
    const changes = messages(await pending).filter((m) => m.key);
    expect(changes.map((m) => [m.headers.operation, m.key])).toEqual([
      ["delete", `"public"."${table}"/_/"2"`],
      ["insert", `"public"."${table}"/"z"/"2"`],
    ]);
  });

  it("live_sse: one event stream, a data event per message, batches ending with up-to-date, keep-alives", async () => {
    const table = await makeTable(target, "wire_sse", "id int PRIMARY KEY, v text");
    const { handle, offset } = await catchUp(table);
    const abort = new AbortController();
    const r = await fetch(`${server.shapeUrl}?${new URLSearchParams({ table, offset, handle, live: "true", live_sse: "true", cursor: "0" })}`, {
      signal: abort.signal,
      headers: { accept: "text/event-stream" },
    });
    try {
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("text/event-stream");
      expect(r.headers.get("electric-handle")).toBe(handle);
      expect(r.headers.get("electric-offset")).toBe(offset);
      const txid = await writeTx(target, [`INSERT INTO ${table} VALUES (1, 'a')`, `UPDATE ${table} SET v = 'b' WHERE id = 1`]);
      const reader = (r.body as ReadableStream<Uint8Array>).getReader();
      let text = "";
      while (!text.includes("up-to-date") || !text.includes(": keep-alive")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      const events = text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => JSON.parse(e.slice(6)) as WireMessage);
      expect(events.map((e) => e.headers.operation ?? e.headers.control)).toEqual(["insert", "update", "up-to-date"]);
      expect(events[0]?.headers.txids).toEqual([txid]);
      expect(events[2]?.headers.global_last_seen_lsn).toBe(events[0]?.headers.lsn);
      expect(text).toContain(": keep-alive\n\n");
    } finally {
      abort.abort();
    }
  });

  it("where: evaluated by Postgres on columns outside `columns`, qualified names, jsonb and timestamps", async () => {
    const table = await makeTable(target, "wire_where", `id int PRIMARY KEY, "Tenant" text, meta jsonb, at timestamptz, v text`);
    await db.query(`INSERT INTO ${table} VALUES (1, 't1', '{"tier":"gold"}', '2024-01-01T00:00:00Z', 'a'), (2, 't1', '{"tier":"free"}', '2024-06-01T00:00:00Z', 'b'), (3, 't2', '{"tier":"gold"}', '2024-01-01T00:00:00Z', 'c')`);
    const params = {
      where: `${table}."Tenant" = $1 AND meta ->> 'tier' = $2 AND at < $3::timestamptz`,
      "params[1]": "t1",
      "params[2]": "gold",
      "params[3]": "2024-03-01 00:00:00+00",
      columns: "id,v",
      replica: "full",
    };
    const { all, handle, offset } = await catchUp(table, params);
    expect(all.filter((m) => m.key).map((m) => m.value)).toEqual([{ id: "1", v: "a" }]);
    const pending = get({ table, offset, handle, live: "true", cursor: "0", ...params });
    await writeTx(target, [
      `UPDATE ${table} SET meta = '{"tier":"free"}' WHERE id = 1`, // moves out (full: the whole row)
      `UPDATE ${table} SET at = '2024-02-01T00:00:00Z' WHERE id = 2`, // still free: stays out
      `UPDATE ${table} SET "Tenant" = 't1' WHERE id = 3`, // moves in
    ]);
    const changes = messages(await pending).filter((m) => m.key);
    expect(changes.map((m) => [m.headers.operation, m.value])).toEqual([
      ["delete", { id: "1", v: "a" }],
      ["insert", { id: "3", v: "c" }],
    ]);
    // Different params: another shape.
    const other = await get({ table, offset: "-1", ...params, "params[1]": "t2" });
    expect(handleOf(other)).not.toBe(handle);
  });

  it("DELETE /v1/shape drops the shape: the next request gets 409", async () => {
    const table = await makeTable(target, "wire_del", "id int PRIMARY KEY");
    const { handle, offset } = await catchUp(table);
    const del = await fetch(`${server.shapeUrl}?${new URLSearchParams({ table, handle })}`, { method: "DELETE" });
    expect(del.status).toBe(202);
    const r = await get({ table, offset, handle });
    expect(r.status).toBe(409);
    expect(handleOf(r)).not.toBe(handle);
  });
});

// ---------------------------------------------------------------------------------------------

describe("the test hooks and the client", () => {
  it("rotate(table): the client gets must-refetch and the whole table again", async () => {
    const table = await makeTable(target, "hook_rotate", "id int PRIMARY KEY, v text");
    await db.query(`INSERT INTO ${table} SELECT g, 'v' FROM generate_series(1, 4) g`);
    const rec = openStream(target, table);
    try {
      expect((await rec.shape.rows).length).toBe(4);
      await db.query(`INSERT INTO ${table} VALUES (5, 'live')`);
      await rec.waitFor("live insert", () => rec.shape.currentRows.length === 5);
      const before = rec.stream.shapeHandle;
      const since = server.requests.length;
      expect(server.rotate(table)).toEqual([before]);
      await rec.waitFor("must-refetch", () => rec.controls().includes("must-refetch"));
      await rec.waitFor("refetched rows", () => rec.stream.isUpToDate && rec.shape.currentRows.length === 5 && rec.stream.shapeHandle !== before);
      expect(rec.shape.currentRows.map((r) => r.id).sort()).toEqual([1, 2, 3, 4, 5]);
      // On the wire: 409 (the held live request's has no handle, as Electric's), then a fresh start at -1.
      const after = server.requests.slice(since);
      const conflict = after.find((r) => r.status === 409);
      expect(conflict).toBeDefined();
      const restart = after.find((r) => r.url.searchParams.get("offset") === "-1");
      expect(restart?.status).toBe(200);
      // Everything after the must-refetch is the full table again, as inserts.
      const refetched = rec.messages.slice(rec.messages.findIndex((m) => isControlMessage(m) && m.headers.control === "must-refetch"));
      expect(refetched.filter(isChangeMessage).map((m) => m.value.id).sort()).toEqual([1, 2, 3, 4, 5]);
    } finally {
      rec.close();
    }
  });

  it("a schema change (ADD COLUMN) makes clients refetch with the new schema", async () => {
    const table = await makeTable(target, "hook_ddl", "id int PRIMARY KEY, v text");
    await db.query(`INSERT INTO ${table} VALUES (1, 'v')`);
    const rec = openStream(target, table);
    try {
      await rec.shape.rows;
      await db.query(`ALTER TABLE ${table} ADD COLUMN n int8 NOT NULL DEFAULT 7`);
      await db.query(`INSERT INTO ${table} VALUES (2, 'w', 8)`);
      await rec.waitFor("refetch with the new column", () => rec.shape.currentRows.length === 2 && rec.shape.currentRows.every((r) => "n" in r));
      expect(rec.controls()).toContain("must-refetch");
      expect(rec.shape.currentRows.map((r) => r.n).sort()).toEqual([7n, 8n]);
    } finally {
      rec.close();
    }
  });

  it("no change lost or duplicated between snapshot and stream under concurrent writes", async () => {
    const table = await makeTable(target, "race", "id int PRIMARY KEY, n int NOT NULL, m text DEFAULT 'x', o text DEFAULT 'y'");
    let stop = false;
    let written = 0;
    // Writers: many small transactions, some long-running, overlapping the snapshots. Each
    // writer touches only its own rows, so they never wait for each other.
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const id = w * 100_000 + i;
        await writeTx(target, [
          `INSERT INTO ${table} VALUES (${id}, 0)`,
          `UPDATE ${table} SET n = n + 1 WHERE id IN (${id - 1}, ${id - 5})`,
          ...(i % 7 === 3 ? [`SELECT pg_sleep(0.02)`, `DELETE FROM ${table} WHERE id = ${id - 3}`] : []),
        ]);
        written++;
      }
    };
    const writers = [1, 2, 3, 4, 5].map(writer);
    // Shapes created at different moments while the writers run (distinct definitions, so
    // that each takes its own snapshot).
    const recs = [];
    for (const columns of [undefined, "id,n", "id,n,m", "id,n,o", "id,n,m,o"]) {
      await new Promise((r) => setTimeout(r, 60));
      for (const replica of ["default", "full"]) {
        recs.push(openStream(target, table, { params: { ...(columns ? { columns } : {}), replica } }));
      }
    }
    try {
      // Every snapshot is taken while the writers run; then some more writes on top.
      await Promise.all(recs.map((r) => r.shape.rows));
      const more = written + 40;
      while (written < more) await new Promise((r) => setTimeout(r, 20));
      stop = true;
      await Promise.all(writers);
      const final = (await db.query<{ id: number; n: number }>(`SELECT id, n FROM ${table}`)).rows;
      const want = Object.fromEntries(final.map((r) => [r.id, r.n]));
      for (const rec of recs) {
        await rec.waitFor("the final table", () => {
          const rows = rec.shape.currentRows as Row[];
          return rows.length === final.length && rows.every((r) => want[r.id as number] === r.n);
        });
        // Replay the messages: an insert of a present key is a duplicate, an update or delete
        // of an absent key a gap.
        const present = new Set<string>();
        for (const m of rec.messages as Message<Row>[]) {
          if (!isChangeMessage(m)) continue;
          const op = m.headers.operation;
          if (op === "insert") expect(present.has(m.key), `duplicate insert ${m.key}`).toBe(false);
          else expect(present.has(m.key), `${op} of unknown ${m.key}`).toBe(true);
          if (op === "delete") present.delete(m.key);
          else present.add(m.key);
        }
        expect(present.size).toBe(final.length);
      }
    } finally {
      stop = true;
      for (const rec of recs) rec.close();
    }
  });

  it("chunked responses (chunkSize) still give the client the whole table", async () => {
    const table = await makeTable(target, "chunked", "id int PRIMARY KEY, v text");
    await db.query(`INSERT INTO ${table} SELECT g, 'v' || g FROM generate_series(1, 10) g`);
    const small = await startShapeServer({ databaseUrl, longPollTimeoutMs: LONG_POLL_MS, chunkSize: 3 });
    const rec = openStream({ ...target, shapeUrl: small.shapeUrl }, table);
    try {
      expect((await rec.shape.rows).length).toBe(10);
      await writeTx(target, Array.from({ length: 7 }, (_, i) => `INSERT INTO ${table} VALUES (${11 + i}, 'live')`));
      await rec.waitFor("all 17 rows", () => rec.shape.currentRows.length === 17);
      const snapshotOffsets = small.requests.map((r) => r.url.searchParams.get("offset"));
      expect(snapshotOffsets.slice(0, 5)).toEqual(["-1", "0_0", "0_1", "0_2", "0_3"]);
    } finally {
      rec.close();
      await small.stop();
    }
  });

  it("quoted, mixed-case and unicode table and column names", async () => {
    const table = `"Odd Table ${Date.now()}"`;
    await db.query(`CREATE TABLE ${table} ("Id" int PRIMARY KEY, "Naïve Name" text, "select" text)`);
    await db.query(`INSERT INTO ${table} VALUES (1, 'ü', 'kw')`);
    const rec = openStream<{ Id: number; "Naïve Name": string; select: string }>(target, table);
    try {
      expect(await rec.shape.rows).toEqual([{ Id: 1, "Naïve Name": "ü", select: "kw" }]);
      await db.query(`UPDATE ${table} SET "Naïve Name" = 'ö' WHERE "Id" = 1`);
      await rec.waitFor("update", () => rec.shape.currentRows[0]?.["Naïve Name"] === "ö");
    } finally {
      rec.close();
    }
  });

  it("publicationGap: a write in progress while a dropped table's shape is re-created never arrives", async () => {
    const run = async (publicationGap: boolean) => {
      const double = await startShapeServer({ databaseUrl, longPollTimeoutMs: LONG_POLL_MS, publicationGap });
      const table = await makeTable(target, "gap", "id int PRIMARY KEY, v text");
      const writer = await db.connect();
      try {
        const first = await catchUp(table, {}, double.shapeUrl);
        // The table's last shape goes away (Electric then drops the table from its publication) …
        const del = await fetch(`${double.shapeUrl}?${new URLSearchParams({ table, handle: first.handle })}`, { method: "DELETE" });
        expect(del.status).toBe(202);
        // … a write is in progress while a client asks for the table again …
        await writer.query("BEGIN");
        await writer.query(`INSERT INTO ${table} VALUES (1, 'in the gap')`);
        const txid = Number((await writer.query<{ t: string }>("SELECT pg_current_xact_id()::xid::text AS t")).rows[0]?.t);
        await db.query("SELECT pg_current_xact_id()"); // a later transaction completes: the write is in xip_list
        const again = await catchUp(table, {}, double.shapeUrl);
        const end = again.all.find((m) => m.headers.control === "snapshot-end");
        expect(end?.headers.xip_list, JSON.stringify([txid, first.handle, again.handle, end])).toContain(String(txid));
        await writer.query("COMMIT");
        // … and a later write shows the shape is live.
        await db.query(`INSERT INTO ${table} VALUES (2, 'later')`);
        await double.flush();
        const rest = await get({ table, offset: again.offset, handle: again.handle }, double.shapeUrl);
        return messages(rest).filter((m) => m.key).map((m) => m.value?.id);
      } finally {
        writer.release();
        await double.stop();
      }
    };
    expect(await run(false)).toEqual(["1", "2"]);
    expect(await run(true)).toEqual(["2"]); // the write committed in the gap never reaches the shape
  });
});

describe("what the double leaves in Postgres (pgoutput: a publication and a replication slot)", () => {
  const slotsAndPublications = async () => {
    const slots = await db.query<{ slot_name: string; plugin: string; temporary: boolean; active: boolean }>(
      "SELECT slot_name, plugin, temporary, active FROM pg_replication_slots WHERE database = current_database()",
    );
    const pubs = await db.query<{ pubname: string; puballtables: boolean }>("SELECT pubname, puballtables FROM pg_publication");
    return { slots: slots.rows, publications: pubs.rows };
  };
  const until = async (what: string, ok: () => Promise<boolean>) => {
    for (let i = 0; i < 250; i++) {
      if (await ok()) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  it("a running double holds one temporary pgoutput slot and one publication; stop() removes both", async () => {
    const before = await slotsAndPublications();
    const double = await startShapeServer({ databaseUrl, longPollTimeoutMs: LONG_POLL_MS });
    const running = await slotsAndPublications();
    const newSlots = running.slots.filter((s) => !before.slots.some((b) => b.slot_name === s.slot_name));
    const newPubs = running.publications.filter((p) => !before.publications.some((b) => b.pubname === p.pubname));
    expect(newSlots).toEqual([{ slot_name: expect.any(String), plugin: "pgoutput", temporary: true, active: true }]);
    expect(newPubs).toEqual([{ pubname: newSlots[0]?.slot_name, puballtables: true }]);
    await double.stop();
    expect(await slotsAndPublications()).toEqual(before);
  });

  it("a killed double (SIGKILL, no goodbye) leaves no replication slot to keep WAL", async () => {
    const { spawnShapeServer } = await import("../support/shape-server-process.js");
    const before = (await slotsAndPublications()).slots.map((s) => s.slot_name);
    const child = await spawnShapeServer({ databaseUrl, longPollTimeoutMs: LONG_POLL_MS });
    const table = await makeTable(target, "killed", "id int PRIMARY KEY");
    const rec = openStream({ ...target, shapeUrl: child.shapeUrl }, table);
    try {
      await rec.shape.rows;
      expect((await slotsAndPublications()).slots.length).toBe(before.length + 1);
      await child.kill();
      await until("the slot of the killed double to go", async () => (await slotsAndPublications()).slots.length === before.length);
    } finally {
      rec.close();
      // Its publication stays (it keeps no WAL); drop it so the other tests see a clean database.
      const pubs = await db.query<{ pubname: string }>("SELECT pubname FROM pg_publication WHERE pubname NOT IN (SELECT slot_name FROM pg_replication_slots)");
      for (const p of pubs.rows) await db.query(`DROP PUBLICATION "${p.pubname}"`);
    }
  });

  it("the slot lets go of WAL as changes are served (its confirmed position follows the commits)", async () => {
    const table = await makeTable(target, "walpos", "id int PRIMARY KEY");
    const rec = openStream(target, table);
    try {
      await rec.shape.rows;
      await db.query(`INSERT INTO ${table} SELECT generate_series(1, 100)`);
      const lsn = (await db.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0]?.lsn;
      await server.flush();
      await until("confirmed_flush_lsn to pass the insert", async () => {
        const r = await db.query<{ ok: boolean }>(
          "SELECT bool_and(confirmed_flush_lsn >= $1::pg_lsn) AS ok FROM pg_replication_slots WHERE database = current_database()",
          [lsn],
        );
        return r.rows[0]?.ok === true;
      });
    } finally {
      rec.close();
    }
  });
});
