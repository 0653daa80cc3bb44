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
  params?: Record<string, string>;
}

export function openStream<T extends Row<unknown> = Row>(t: Target, table: string, o: OpenOptions = {}): Recorder<T> {
  const abort = new AbortController();
  const errors: unknown[] = [];
  const stream = new ShapeStream<T>({
    url: t.shapeUrl,
    params: { table, ...t.params, ...o.params },
    signal: abort.signal,
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
};
