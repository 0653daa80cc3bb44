/**
 * Conformance checks of an Electric shape endpoint, run with the real `@electric-sql/client`
 * (ShapeStream and Shape) against Postgres. The same checks run against the test double
 * (shape-server.test.ts) and against real Electric when ELECTRIC_URL is set
 * (real-electric.test.ts), so the double is held to what the real thing does.
 *
 * Each check makes its own table (and drops it), so checks don't see each other's changes.
 */
import {
  isChangeMessage,
  isControlMessage,
  Shape,
  ShapeStream,
  type ChangeMessage,
  type Message,
  type Offset,
  type Row,
} from "@electric-sql/client";
import pg from "pg";
import { expect } from "vitest";

export interface Target {
  /** The shape endpoint, e.g. `http://127.0.0.1:3000/v1/shape`. */
  shapeUrl: string;
  /** Extra params for every request (e.g. `secret` for real Electric). */
  params?: Record<string, string>;
  /** The database the endpoint serves. */
  db: pg.Pool;
  /** How long to wait for a change to arrive (real Electric may be slower). */
  timeoutMs?: number;
}

export type Check = (t: Target) => Promise<void>;

// ---------------------------------------------------------------------------------------------
// Helpers

let tableCounter = 0;
export async function makeTable(t: Target, prefix: string, columns: string): Promise<string> {
  const name = `${prefix}_${process.pid}_${++tableCounter}_${Math.random().toString(36).slice(2, 7)}`;
  await t.db.query(`CREATE TABLE ${name} (${columns})`);
  return name;
}

export async function dropTable(t: Target, name: string): Promise<void> {
  await t.db.query(`DROP TABLE IF EXISTS ${name}`);
}

/** Runs statements in one transaction and returns its txid (`pg_current_xact_id()::xid`). */
export async function writeTx(t: Target, statements: readonly (string | [string, unknown[]])[]): Promise<number> {
  const c = await t.db.connect();
  try {
    await c.query("BEGIN");
    for (const s of statements) {
      if (typeof s === "string") await c.query(s);
      else await c.query(s[0], s[1]);
    }
    const r = await c.query<{ txid: string }>("SELECT pg_current_xact_id()::xid::text AS txid");
    await c.query("COMMIT");
    return Number(r.rows[0]?.txid);
  } catch (err) {
    await c.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

export interface Recorder<T extends Row<unknown> = Row> {
  stream: ShapeStream<T>;
  shape: Shape<T>;
  /** Every message the stream published, in order. */
  messages: Message<T>[];
  changes(): ChangeMessage<T>[];
  controls(): string[];
  waitFor(what: string, predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** Waits for a change message matching the predicate and returns it. */
  waitForChange(what: string, predicate: (m: ChangeMessage<T>) => boolean, timeoutMs?: number): Promise<ChangeMessage<T>>;
  close(): void;
}

export interface OpenOptions {
  offset?: Offset;
  handle?: string;
  params?: Record<string, string | string[]>;
  /** Live mode over server-sent events (`live_sse=true`). */
  liveSse?: boolean;
}

export function openStream<T extends Row<unknown> = Row>(t: Target, table: string, o: OpenOptions = {}): Recorder<T> {
  const abort = new AbortController();
  const errors: unknown[] = [];
  const stream = new ShapeStream<T>({
    url: t.shapeUrl,
    params: { table, ...t.params, ...o.params } as unknown as { table: string },
    signal: abort.signal,
    ...(o.liveSse ? { liveSse: true } : {}),
    ...(o.offset !== undefined ? { offset: o.offset } : {}),
    ...(o.handle !== undefined ? { handle: o.handle } : {}),
    onError: (err) => {
      errors.push(err);
    },
  });
  const messages: Message<T>[] = [];
  stream.subscribe((batch) => {
    messages.push(...batch);
  });
  const shape = new Shape<T>(stream);
  const defaultTimeout = t.timeoutMs ?? 10_000;
  const waitFor = async (what: string, predicate: () => boolean, timeoutMs = defaultTimeout) => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (errors.length > 0) throw new Error(`stream failed while waiting for ${what}: ${String(errors[0])}`);
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; got ${messages.length} messages: ${describe(messages.slice(-10))}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const changes = () => messages.filter((m): m is ChangeMessage<T> => isChangeMessage(m));
  return {
    stream,
    shape,
    messages,
    changes,
    controls: () => messages.flatMap((m) => (isControlMessage(m) ? [m.headers.control] : [])),
    waitFor,
    async waitForChange(what, predicate, timeoutMs) {
      let found: ChangeMessage<T> | undefined;
      await waitFor(what, () => (found = changes().find(predicate)) !== undefined, timeoutMs);
      return found as ChangeMessage<T>;
    },
    close() {
      abort.abort();
      stream.unsubscribeAll();
    },
  };
}

const describe = (ms: readonly Message<Row<unknown>>[]) =>
  JSON.stringify(ms, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));

/** Runs `fn` with streams that are closed afterwards, and drops the tables. */
async function withCleanup(t: Target, fn: (track: <R extends { close(): void }>(r: R) => R, tables: string[]) => Promise<void>): Promise<void> {
  const open: { close(): void }[] = [];
  const tables: string[] = [];
  try {
    await fn((r) => {
      open.push(r);
      return r;
    }, tables);
  } finally {
    for (const r of open) r.close();
    for (const name of tables) await dropTable(t, name).catch(() => undefined);
  }
}

export interface WireResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** One raw request to the shape endpoint (with the target's params, e.g. `secret`). */
export async function wireGet(t: Target, params: Record<string, string>, signal?: AbortSignal): Promise<WireResponse> {
  const r = await fetch(`${t.shapeUrl}?${new URLSearchParams({ ...t.params, ...params })}`, signal ? { signal } : {});
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
}

type Wire = { key?: string; value?: Record<string, unknown>; headers: Record<string, unknown> };
const wireMessages = (r: WireResponse) => (Array.isArray(r.body) ? (r.body as Wire[]) : []);

/** Requests until the response is up-to-date; returns every message, the last response and its handle/offset. */
export async function wireCatchUp(t: Target, params: Record<string, string>) {
  let r = await wireGet(t, { ...params, offset: "-1" });
  const responses = [r];
  const all = [...wireMessages(r)];
  while (r.status === 200 && !r.headers.has("electric-up-to-date")) {
    r = await wireGet(t, { ...params, offset: r.headers.get("electric-offset") as string, handle: r.headers.get("electric-handle") as string });
    responses.push(r);
    all.push(...wireMessages(r));
  }
  return { responses, all, last: r, handle: r.headers.get("electric-handle") as string, offset: r.headers.get("electric-offset") as string };
}

const byId = <T extends Row<unknown>>(rows: readonly T[]): Record<string, T> =>
  Object.fromEntries(rows.map((r) => [String(r.id), r]));

// ---------------------------------------------------------------------------------------------
// Values of many types, and how the client parses them

export const TYPES_COLUMNS = `id uuid PRIMARY KEY, txt text, num numeric, ts timestamptz, j jsonb, flag bool NOT NULL DEFAULT false,
  big int8, i int4, f float8, nullable text, arr int4[], ch char(4)`;

const TRICKY_TEXT = `it's "quoted" \\ back\\slash, {braces}, comma; tab\tnewline\nü 🎉 日本 'single' ""`;

/** Input (as SQL text) and the value the client's default parser must produce. */
export const TYPE_ROWS: { input: (string | null)[]; parsed: Record<string, unknown> }[] = [
  {
    input: [
      "8f9c1b6e-7d55-4a53-9b3a-0c6f0f6f2a01", TRICKY_TEXT, "12345.6789", "2024-02-29T23:59:59.123456Z",
      JSON.stringify({ a: [1, "two", null], nested: { k: "v" }, s: "quote\" and unicode ü" }), "true",
      "9223372036854775807", "-2147483648", "0.1", null, "{1,NULL,3}", "ab",
    ],
    parsed: {
      id: "8f9c1b6e-7d55-4a53-9b3a-0c6f0f6f2a01", txt: TRICKY_TEXT, num: "12345.6789", ts: "2024-02-29 23:59:59.123456+00",
      j: { a: [1, "two", null], nested: { k: "v" }, s: "quote\" and unicode ü" }, flag: true,
      big: 9223372036854775807n, i: -2147483648, f: 0.1, nullable: null, arr: [1, null, 3], ch: "ab  ",
    },
  },
  {
    input: ["8f9c1b6e-7d55-4a53-9b3a-0c6f0f6f2a02", null, null, null, null, "false", null, null, null, null, null, null],
    parsed: {
      id: "8f9c1b6e-7d55-4a53-9b3a-0c6f0f6f2a02", txt: null, num: null, ts: null, j: null, flag: false,
      big: null, i: null, f: null, nullable: null, arr: null, ch: null,
    },
  },
  {
    input: ["8f9c1b6e-7d55-4a53-9b3a-0c6f0f6f2a03", "", "-0.000001", "1999-12-31T23:00:00-05:00", "[]", "true", "-1", "0", "-1.5e+300", "", "{}", "x"],
    parsed: {
      id: "8f9c1b6e-7d55-4a53-9b3a-0c6f0f6f2a03", txt: "", num: "-0.000001", ts: "2000-01-01 04:00:00+00", j: [], flag: true,
      big: -1n, i: 0, f: -1.5e300, nullable: "", arr: [], ch: "x   ",
    },
  },
];

const TYPES_INSERT = (table: string) =>
  `INSERT INTO ${table} (id, txt, num, ts, j, flag, big, i, f, nullable, arr, ch)
   VALUES ($1::uuid, $2, $3::numeric, $4::timestamptz, $5::jsonb, $6::bool, $7::int8, $8::int4, $9::float8, $10, $11::int4[], $12)`;

/** The same rows with other ids, for inserting while live. */
const withId = (input: (string | null)[], id: string) => [id, ...input.slice(1)];
const liveId = (n: number) => `1f9c1b6e-7d55-4a53-9b3a-0c6f0f6f2b0${n}`;

// ---------------------------------------------------------------------------------------------
// The checks

export const checks: Record<string, Check> = {
  /** Existing rows arrive as the snapshot, parsed by the client through the schema header. */
  async "snapshot of existing rows, values of many types"(t) {
    await withCleanup(t, async (track, tables) => {
      const table = await makeTable(t, "snap", TYPES_COLUMNS);
      tables.push(table);
      for (const r of TYPE_ROWS) await t.db.query(TYPES_INSERT(table), r.input);
      const rec = track(openStream(t, table));
      const rows = await rec.shape.rows;
      expect(byId(rows)).toEqual(byId(TYPE_ROWS.map((r) => r.parsed as Row)));
      // Snapshot rows are inserts with no lsn/txids.
      const inserts = rec.changes();
      expect(inserts.map((m) => m.headers.operation)).toEqual(["insert", "insert", "insert"]);
      expect(rec.controls()).toContain("up-to-date");
    });
  },

  /** Inserts, updates and deletes made after the snapshot arrive live with the right values. */
  async "live insert, update and delete with values of many types"(t) {
    await withCleanup(t, async (track, tables) => {
      const table = await makeTable(t, "live", TYPES_COLUMNS);
      tables.push(table);
      const rec = track(openStream(t, table));
      await rec.shape.rows;
      expect(rec.shape.currentRows).toEqual([]);

      // Insert: every type, through the replication path.
      for (const [i, r] of TYPE_ROWS.entries()) await t.db.query(TYPES_INSERT(table), withId(r.input, liveId(i)));
      for (const [i, r] of TYPE_ROWS.entries()) {
        const m = await rec.waitForChange(`insert ${i}`, (c) => c.value.id === liveId(i) && c.headers.operation === "insert");
        expect(m.value).toEqual({ ...r.parsed, id: liveId(i) });
      }
      await rec.waitFor("all inserted rows in the Shape", () => rec.shape.currentRows.length === TYPE_ROWS.length);
      expect(byId(rec.shape.currentRows)).toEqual(byId(TYPE_ROWS.map((r, i) => ({ ...r.parsed, id: liveId(i) }) as Row)));

      // Update: changed columns come with their new values.
      await t.db.query(`UPDATE ${table} SET flag = NOT flag, big = 42, j = '{"updated":true}', txt = 'neu ✓' WHERE id = $1`, [liveId(0)]);
      const upd = await rec.waitForChange("update", (c) => c.headers.operation === "update");
      expect(upd.value).toMatchObject({ id: liveId(0), flag: false, big: 42n, j: { updated: true }, txt: "neu ✓" });
      await rec.waitFor("update in the Shape", () => byId(rec.shape.currentRows)[liveId(0)]?.big === 42n);
      expect(byId(rec.shape.currentRows)[liveId(0)]).toEqual({
        ...TYPE_ROWS[0]?.parsed, id: liveId(0), flag: false, big: 42n, j: { updated: true }, txt: "neu ✓",
      });

      // Update to NULL, and delete.
      await t.db.query(`UPDATE ${table} SET txt = NULL, arr = NULL WHERE id = $1`, [liveId(0)]);
      await rec.waitForChange("update to null", (c) => c.headers.operation === "update" && c.value.txt === null);
      await t.db.query(`DELETE FROM ${table} WHERE id = $1`, [liveId(1)]);
      const del = await rec.waitForChange("delete", (c) => c.headers.operation === "delete");
      expect(del.value.id).toBe(liveId(1));
      await rec.waitFor("delete in the Shape", () => rec.shape.currentRows.length === TYPE_ROWS.length - 1);
      expect(byId(rec.shape.currentRows)[liveId(0)]).toMatchObject({ txt: null, arr: null, big: 42n });
    });
  },

  /** `headers.txids` carries the writer's `pg_current_xact_id()::xid`, for confirmed writes. */
  async "txids on changes equal pg_current_xact_id()::xid of the writing transaction"(t) {
    await withCleanup(t, async (track, tables) => {
      const table = await makeTable(t, "txid", "id int PRIMARY KEY, v text");
      tables.push(table);
      await t.db.query(`INSERT INTO ${table} VALUES (1, 'one')`);
      const rec = track(openStream(t, table));
      await rec.shape.rows;
      const tx1 = await writeTx(t, [`INSERT INTO ${table} VALUES (2, 'two')`, `INSERT INTO ${table} VALUES (3, 'three')`]);
      const tx2 = await writeTx(t, [`UPDATE ${table} SET v = 'uno' WHERE id = 1`]);
      const tx3 = await writeTx(t, [`DELETE FROM ${table} WHERE id = 2`]);
      const del = await rec.waitForChange("delete", (c) => c.headers.operation === "delete");
      const live = rec.changes().filter((c) => c.headers.txids !== undefined);
      expect(live.map((c) => [c.headers.operation, c.value.id, c.headers.txids])).toEqual([
        ["insert", 2, [tx1]],
        ["insert", 3, [tx1]],
        ["update", 1, [tx2]],
        ["delete", 2, [tx3]],
      ]);
      expect(del.headers.txids).toEqual([tx3]);
      expect(new Set([tx1, tx2, tx3]).size).toBe(3);
    });
  },

  /** A new stream resuming from a saved offset + handle gets exactly what happened since. */
  async "resume from a saved offset and handle: no duplicates, no gaps"(t) {
    await withCleanup(t, async (track, tables) => {
      const table = await makeTable(t, "resume", "id int PRIMARY KEY, v text");
      tables.push(table);
      await t.db.query(`INSERT INTO ${table} SELECT g, 'v' || g FROM generate_series(1, 5) g`);
      const first = track(openStream(t, table));
      await first.shape.rows;
      await t.db.query(`INSERT INTO ${table} VALUES (6, 'seen live')`);
      await first.waitForChange("live insert 6", (c) => c.value.id === 6);
      await first.waitFor("up-to-date after 6", () => first.stream.isUpToDate && first.messages.at(-1) !== undefined && isControlMessage(first.messages.at(-1) as Message));
      const offset = first.stream.lastOffset;
      const handle = first.stream.shapeHandle;
      first.close();
      expect(handle).toBeTruthy();

      // While nobody listens:
      await writeTx(t, [`INSERT INTO ${table} VALUES (7, 'missed 1')`, `INSERT INTO ${table} VALUES (8, 'missed 2')`]);
      await writeTx(t, [`UPDATE ${table} SET v = 'changed' WHERE id = 1`]);
      await writeTx(t, [`DELETE FROM ${table} WHERE id = 2`]);

      const second = track(openStream(t, table, { offset, handle: handle as string }));
      await second.waitForChange("the delete", (c) => c.headers.operation === "delete");
      await t.db.query(`INSERT INTO ${table} VALUES (9, 'after resume')`);
      await second.waitForChange("insert 9", (c) => c.value.id === 9);
      expect(second.changes().map((c) => [c.headers.operation, c.value.id])).toEqual([
        ["insert", 7],
        ["insert", 8],
        ["update", 1],
        ["delete", 2],
        ["insert", 9],
      ]);
      expect(second.controls()).not.toContain("must-refetch");
    });
  },

  /** TRUNCATE invalidates the shape: the client is told to refetch, drops its rows, starts over. */
  async "must-refetch after TRUNCATE: the client resets and gets the table again"(t) {
    await withCleanup(t, async (track, tables) => {
      const table = await makeTable(t, "trunc", "id int PRIMARY KEY, v text");
      tables.push(table);
      await t.db.query(`INSERT INTO ${table} SELECT g, 'old' FROM generate_series(1, 3) g`);
      const rec = track(openStream(t, table));
      expect((await rec.shape.rows).length).toBe(3);
      await t.db.query(`TRUNCATE ${table}`);
      await t.db.query(`INSERT INTO ${table} VALUES (10, 'new'), (11, 'new')`);
      await rec.waitFor("must-refetch", () => rec.controls().includes("must-refetch"));
      await rec.waitFor("rows after refetch", () => rec.shape.currentRows.length === 2 && rec.stream.isUpToDate);
      expect(byId(rec.shape.currentRows)).toEqual({ 10: { id: 10, v: "new" }, 11: { id: 11, v: "new" } });
      expect(rec.stream.shapeHandle).toBeTruthy();
    });
  },

  /** Several streams on one table and one on another, all live at once. */
  async "concurrent streams on the same and on different tables"(t) {
    await withCleanup(t, async (track, tables) => {
      const a = await makeTable(t, "conc_a", "id int PRIMARY KEY, v text");
      const b = await makeTable(t, "conc_b", "id int PRIMARY KEY, n int8");
      tables.push(a, b);
      await t.db.query(`INSERT INTO ${a} VALUES (1, 'x')`);
      const s1 = track(openStream(t, a));
      const s2 = track(openStream(t, a));
      const s3 = track(openStream(t, b));
      await Promise.all([s1.shape.rows, s2.shape.rows, s3.shape.rows]);
      for (let i = 2; i <= 6; i++) {
        await writeTx(t, [`INSERT INTO ${a} VALUES (${i}, 'a${i}')`, `INSERT INTO ${b} VALUES (${i}, ${i * 1000})`]);
      }
      await writeTx(t, [`UPDATE ${a} SET v = 'y' WHERE id = 1`, `DELETE FROM ${b} WHERE id = 2`]);
      const done = (r: Recorder) => () => r.changes().some((c) => c.headers.operation !== "insert");
      await Promise.all([s1.waitFor("a's update", done(s1)), s2.waitFor("a's update", done(s2)), s3.waitFor("b's delete", done(s3))]);
      const summary = (r: Recorder) => r.changes().map((c) => [c.headers.operation, c.key, c.value]);
      expect(summary(s1)).toEqual(summary(s2));
      expect(summary(s1).map(([op]) => op)).toEqual(["insert", "insert", "insert", "insert", "insert", "insert", "update"]);
      expect(s3.changes().map((c) => [c.headers.operation, c.value.id])).toEqual([
        ["insert", 2], ["insert", 3], ["insert", 4], ["insert", 5], ["insert", 6], ["delete", 2],
      ]);
      expect(s3.changes()[0]?.value.n).toBe(2000n);
      await s1.waitFor("s1 Shape", () => s1.shape.currentRows.length === 6);
      expect(byId(s1.shape.currentRows)[1]).toEqual({ id: 1, v: "y" });
    });
  },

  /** Electric 1.7: the first response ends the snapshot at 0_0; up-to-date comes at 0_inf on the next. */
  async "the initial snapshot ends at 0_0, up-to-date at 0_inf with the next request"(t) {
    await withCleanup(t, async (_track, tables) => {
      const table = await makeTable(t, "offs", "id int PRIMARY KEY, v text");
      tables.push(table);
      await t.db.query(`INSERT INTO ${table} VALUES (1, 'a'), (2, 'b')`);
      const { responses, all } = await wireCatchUp(t, { table });
      expect(responses.map((r) => [r.status, r.headers.get("electric-offset"), r.headers.has("electric-up-to-date")])).toEqual([
        [200, "0_0", false],
        [200, "0_inf", true],
      ]);
      expect(all.filter((m) => m.key).map((m) => m.value?.id)).toEqual(["1", "2"]);
    });
  },

  /** A table without a primary key: every column is part of the key, in the table's column order. */
  async "a table without a primary key is keyed by its columns in table order"(t) {
    await withCleanup(t, async (_track, tables) => {
      const table = await makeTable(t, "nopk", "zeta text, alpha int");
      tables.push(table);
      await t.db.query(`INSERT INTO ${table} VALUES ('z', 1)`);
      const { all } = await wireCatchUp(t, { table });
      expect(all.filter((m) => m.key).map((m) => m.key)).toEqual([`"public"."${table}"/"z"/"1"`]);
    });
  },

  /**
   * A held live request whose shape is dropped (TRUNCATE) gets 409 must-refetch WITHOUT a handle
   * and `max-age=1`; the next request gets the 409 with the new handle.
   */
  async "a held live request for a dropped shape: 409 without handle, then 409 with the new handle"(t) {
    await withCleanup(t, async (_track, tables) => {
      const table = await makeTable(t, "held", "id int PRIMARY KEY");
      tables.push(table);
      const { handle, offset } = await wireCatchUp(t, { table });
      const pending = wireGet(t, { table, offset, handle, live: "true", cursor: "0" });
      await new Promise((r) => setTimeout(r, 300));
      await t.db.query(`TRUNCATE ${table}`);
      await t.db.query(`INSERT INTO ${table} VALUES (1)`);
      const held = await pending;
      expect(held.status).toBe(409);
      expect(held.headers.has("electric-handle")).toBe(false);
      expect(held.headers.get("cache-control")).toMatch(/(^|[ ,])max-age=1(,|$)/);
      expect(held.body).toEqual([{ headers: { control: "must-refetch" } }]);
      const next = await wireGet(t, { table, offset, handle });
      expect(next.status).toBe(409);
      const fresh = next.headers.get("electric-handle");
      expect(fresh).toBeTruthy();
      expect(fresh).not.toBe(handle);
    });
  },

  /**
   * `where` with `params[n]`: only matching rows, and rows that move in or out of the where
   * clause arrive as inserts (whole row) and deletes. `columns` selects a subset with the key.
   */
  async "where with params and columns: rows moving in and out arrive as inserts and deletes"(t) {
    await withCleanup(t, async (track, tables) => {
      const table = await makeTable(t, "scoped", "id int PRIMARY KEY, owner text NOT NULL, title text, secret text");
      tables.push(table);
      await t.db.query(`INSERT INTO ${table} VALUES (1, 'a', 'one', 's1'), (2, 'b', 'two', 's2'), (3, 'a', 'three', 's3')`);
      const params = { where: `owner = $1 AND id < $2`, params: ["a", "100"], columns: "id,owner,title" };
      const rec = track(openStream(t, table, { params }));
      const rows = await rec.shape.rows;
      expect(byId(rows)).toEqual({ 1: { id: 1, owner: "a", title: "one" }, 3: { id: 3, owner: "a", title: "three" } });
      // Another owner's shape is another shape.
      const other = track(openStream(t, table, { params: { ...params, params: ["b", "100"] } }));
      expect((await other.shape.rows).map((r) => r.id)).toEqual([2]);
      expect(other.stream.shapeHandle).not.toBe(rec.stream.shapeHandle);

      await writeTx(t, [`UPDATE ${table} SET owner = 'a' WHERE id = 2`]); // moves in
      await writeTx(t, [`UPDATE ${table} SET owner = 'b' WHERE id = 1`]); // moves out
      await writeTx(t, [`UPDATE ${table} SET title = 'THREE' WHERE id = 3`]); // stays in
      await writeTx(t, [`UPDATE ${table} SET secret = 'x' WHERE id = 3`]); // no selected column changed
      await writeTx(t, [`INSERT INTO ${table} VALUES (4, 'b', 'four', NULL), (5, 'a', 'five', NULL)`]);
      await writeTx(t, [`DELETE FROM ${table} WHERE id IN (4, 5)`]);
      await rec.waitForChange("the delete of 5", (c) => c.headers.operation === "delete" && c.value.id === 5);
      const live = rec.changes().filter((c) => c.headers.txids !== undefined);
      expect(live.map((c) => [c.headers.operation, c.value])).toEqual([
        ["insert", { id: 2, owner: "a", title: "two" }],
        ["delete", { id: 1 }],
        ["update", { id: 3, title: "THREE" }],
        ["insert", { id: 5, owner: "a", title: "five" }],
        ["delete", { id: 5 }],
      ]);
      await rec.waitFor("the Shape", () => rec.shape.currentRows.length === 2);
      expect(byId(rec.shape.currentRows)).toEqual({ 2: { id: 2, owner: "a", title: "two" }, 3: { id: 3, owner: "a", title: "THREE" } });
      await other.waitFor("the other Shape", () => other.shape.currentRows.map((r) => r.id).sort().join() === "1");
    });
  },

  /** `live_sse=true`: live changes as server-sent events. */
  async "live_sse: changes arrive over server-sent events"(t) {
    await withCleanup(t, async (track, tables) => {
      const table = await makeTable(t, "sse", "id int PRIMARY KEY, v text");
      tables.push(table);
      await t.db.query(`INSERT INTO ${table} VALUES (1, 'a')`);
      const rec = track(openStream(t, table, { liveSse: true }));
      expect((await rec.shape.rows).length).toBe(1);
      await writeTx(t, [`INSERT INTO ${table} VALUES (2, 'b')`, `UPDATE ${table} SET v = 'A' WHERE id = 1`]);
      await rec.waitFor("both changes in the Shape", () => rec.shape.currentRows.length === 2 && byId(rec.shape.currentRows)[1]?.v === "A");
      await writeTx(t, [`DELETE FROM ${table} WHERE id = 2`]);
      await rec.waitFor("the delete", () => rec.shape.currentRows.length === 1);
      expect(byId(rec.shape.currentRows)).toEqual({ 1: { id: 1, v: "A" } });
    });
  },

  /**
   * Compaction: after many inserts and deletes a NEW client gets the live rows, not a replay of
   * the change log (counted in change messages received until up-to-date).
   */
  async "after a mass delete a new client gets the live rows, not the change log"(t) {
    await withCleanup(t, async (track, tables) => {
      const table = await makeTable(t, "compact", "id int PRIMARY KEY, v text");
      tables.push(table);
      const first = track(openStream(t, table));
      await first.shape.rows;
      for (let b = 0; b < 20; b++) {
        const from = b * 100;
        await writeTx(t, [`INSERT INTO ${table} SELECT g, repeat('x', 200) FROM generate_series(${from}, ${from + 99}) g`]);
        await writeTx(t, [`DELETE FROM ${table} WHERE id BETWEEN ${from} AND ${from + 99} AND id % 100 <> 0`]);
      }
      // The first client followed all of it.
      await first.waitFor("the first client's 20 live rows", () => first.shape.currentRows.length === 20, 60_000);
      const { all } = await wireCatchUp(t, { table });
      const ids = new Set(all.filter((m) => m.key && m.headers.operation !== "delete").map((m) => m.value?.id));
      expect(ids.size).toBe(20);
      // 4000 changes happened; a replay would send them all.
      expect(all.filter((m) => m.key).length).toBeLessThan(200);
    });
  },

  /**
   * A subset snapshot (`fetchSnapshot`, `subset__where` + `subset__params`): a fresh read of some
   * of the shape's rows (within the shape's where clause), with the snapshot's xmin/xmax/xip_list.
   * The generated client uses it to read a confirmed write whose change never came.
   */
  async "subset snapshot: a fresh read of some rows of the shape, with snapshot metadata"(t) {
    await withCleanup(t, async (track, tables) => {
      const table = await makeTable(t, "subset", "id int PRIMARY KEY, owner text, v text");
      tables.push(table);
      await t.db.query(`INSERT INTO ${table} VALUES (1, 'a', 'one'), (2, 'a', 'two'), (3, 'b', 'three')`);
      const rec = track(openStream(t, table, { params: { where: "owner = $1", params: ["a"] } }));
      expect((await rec.shape.rows).length).toBe(2);
      const txid = await writeTx(t, [`UPDATE ${table} SET v = 'TWO' WHERE id = 2`]);
      const { metadata, data } = await rec.stream.fetchSnapshot({ where: `"id" IN ($1, $2)`, params: { "1": "2", "2": "3" } });
      // Row 3 is outside the shape's where clause.
      expect(data.map((m) => [m.headers.operation, m.value])).toEqual([["insert", { id: 2, owner: "a", v: "TWO" }]]);
      const xmin = BigInt(metadata.xmin);
      const xmax = BigInt(metadata.xmax);
      const x = BigInt(txid);
      expect(x < xmin || (x < xmax && !metadata.xip_list.map(BigInt).includes(x))).toBe(true);
    });
  },
};
