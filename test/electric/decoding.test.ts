/**
 * Unit tables for the pure parts of the shape-server test double: test_decoding lines,
 * offsets, keys, snapshot visibility, the schema header. Lines are ones Postgres 15 printed.
 */
import { describe, expect, it } from "vitest";
import { parseLine, toTransactions, type DecodedLine } from "../support/shape-server/decoding.js";
import { compareOffsets, formatOffset, nextCursor, parseRequestedOffset, rowKey } from "../support/shape-server/protocol.js";
import { parseSnapshot, schemaColumn, visibleInSnapshot } from "../support/shape-server/postgres.js";
import { parseTable } from "../support/shape-server/params.js";

const tuple = (line: DecodedLine, which: "new" | "old") => {
  if (line.kind !== "change" || line.change.kind === "truncate") throw new Error("not a row change");
  const t = which === "new" ? ("new" in line.change ? line.change.new : undefined) : "old" in line.change ? line.change.old : undefined;
  return t ? Object.fromEntries(t) : undefined;
};

describe("parseLine (test_decoding output)", () => {
  it("reads BEGIN/COMMIT with xids, and ignores other lines", () => {
    expect(parseLine("BEGIN 726")).toEqual({ kind: "begin", xid: 726 });
    expect(parseLine("COMMIT 4294967295")).toEqual({ kind: "commit", xid: 4294967295 });
    expect(parseLine("message: transactional: 1 prefix: p, sz: 1 content:x")).toEqual({ kind: "other" });
  });

  it("reads quoted names, SQL literals, bare numbers, booleans, bits and NULL", () => {
    const line = parseLine(
      `table public."My Items": INSERT: id[uuid]:'9291e470-3c24-40d2-89d6-d7429cca9756' "Na me"[text]:'it''s "q"' n[numeric]:1.50 ` +
        `b[boolean]:true j[jsonb]:'{"a": [1, "x"]}' ts[timestamp with time zone]:'2026-11-24 22:31:14.101946+00' ` +
        `big[bigint]:9007199254740993 arr[integer[]]:'{1,NULL,3}' f[double precision]:NaN bits[bit]:B'1010' ch[character]:'ab   ' ` +
        `"select"[text]:'ü 🎉' x[text]:null`,
    );
    expect(line).toMatchObject({ kind: "change", change: { kind: "insert", relation: ["public", "My Items"] } });
    expect(tuple(line, "new")).toEqual({
      id: "9291e470-3c24-40d2-89d6-d7429cca9756",
      "Na me": `it's "q"`,
      n: "1.50",
      b: "t", // the output function's spelling, as pgoutput (real Electric) gives it
      j: '{"a": [1, "x"]}',
      ts: "2026-11-24 22:31:14.101946+00",
      big: "9007199254740993",
      arr: "{1,NULL,3}",
      f: "NaN",
      bits: "1010",
      ch: "ab   ",
      select: "ü 🎉",
      x: null,
    });
  });

  it("reads updates with and without the old tuple, and unchanged TOAST values", () => {
    const withOld = parseLine(`table s."T": UPDATE: old-key: id[integer]:1 v[text]:'a b' new-tuple: id[integer]:2 v[text]:'c'`);
    expect(tuple(withOld, "old")).toEqual({ id: "1", v: "a b" });
    expect(tuple(withOld, "new")).toEqual({ id: "2", v: "c" });
    const noOld = parseLine(`table public.t: UPDATE: id[integer]:1 big[text]:unchanged-toast-datum`);
    expect(noOld).toMatchObject({ change: { kind: "update", old: undefined } });
    expect(tuple(noOld, "new")?.big).toBeTypeOf("symbol");
  });

  it("reads deletes and multi-table truncates", () => {
    expect(tuple(parseLine(`table public.t: DELETE: id[integer]:1 "select"[text]:'kw'`), "old")).toEqual({ id: "1", select: "kw" });
    expect(parseLine(`table public.t: DELETE: (no-tuple-data)`)).toMatchObject({ change: { kind: "delete", old: undefined } });
    expect(parseLine(`table public.a, "S"."b.c": TRUNCATE: restart_seqs cascade`)).toEqual({
      kind: "change",
      change: { kind: "truncate", relations: [["public", "a"], ["S", "b.c"]] },
    });
  });

  it("folds rows into transactions with the COMMIT's LSN", () => {
    const txs = toTransactions([
      { lsn: "100", xid: "7", data: "BEGIN 7" },
      { lsn: "101", xid: "7", data: "table public.t: INSERT: id[integer]:1" },
      { lsn: "150", xid: "7", data: "COMMIT 7" },
      { lsn: "150", xid: "8", data: "BEGIN 8" },
      { lsn: "170", xid: "8", data: "COMMIT 8" },
    ]);
    expect(txs.map((t) => [t.xid, t.commitLsn, t.changes.length])).toEqual([
      [7, 150n, 1],
      [8, 170n, 0],
    ]);
    expect(() => toTransactions([{ lsn: "1", xid: "1", data: "BEGIN 1" }])).toThrow(/without COMMIT/);
  });
});

describe("protocol", () => {
  it("offsets: parse, format and order", () => {
    expect(parseRequestedOffset("-1")).toEqual({ kind: "before-all" });
    expect(parseRequestedOffset("now")).toEqual({ kind: "now" });
    expect(parseRequestedOffset("0_inf")).toEqual({ kind: "after", offset: { lsn: 0n, op: Infinity } });
    expect(parseRequestedOffset("26800584_4")).toEqual({ kind: "after", offset: { lsn: 26800584n, op: 4 } });
    for (const bad of ["", "1", "0_Infinity", "-2", "1_-1", "a_b"]) expect(parseRequestedOffset(bad), bad).toBeUndefined();
    expect(formatOffset({ lsn: 0n, op: Infinity })).toBe("0_inf");
    const sorted = ["0_0", "0_3", "0_inf", "5_0", "5_2", "40_0"].map((s) => (parseRequestedOffset(s) as { offset: { lsn: bigint; op: number } }).offset);
    for (let i = 1; i < sorted.length; i++) expect(compareOffsets(sorted[i - 1] as never, sorted[i] as never)).toBe(-1);
  });

  it("row keys as Electric builds them", () => {
    expect(rowKey(["public", "items"], ["1"])).toBe(`"public"."items"/"1"`);
    expect(rowKey(["my.schema", "a/b"], ["x/y", null])).toBe(`"my..schema"."a//b"/"x//y"/_`);
  });

  it("the live cursor increases past the previous one", () => {
    const now = Date.UTC(2026, 0, 1);
    const c1 = nextCursor(20_000, null, now);
    expect(Number(c1) % 20).toBe(0);
    expect(Number(nextCursor(20_000, c1, now))).toBeGreaterThan(Number(c1));
    expect(nextCursor(500, "7", now)).toBe("0");
  });

  it("table names: bare names are lowercased, quoted ones kept", () => {
    expect(parseTable("Items")).toEqual(["public", "items"]);
    expect(parseTable(`app."My ""Odd"" Table"`)).toEqual(["app", `My "Odd" Table`]);
    expect(parseTable("a.b.c")).toMatch(/invalid/);
    expect(parseTable("drop table;")).toMatch(/Invalid/);
  });
});

describe("snapshots and schema", () => {
  it("visibility of 32-bit xids in a 64-bit snapshot, across an epoch", () => {
    const snap = parseSnapshot("100:105:101,103");
    expect([99, 100, 101, 102, 103, 104, 105, 200].map((x) => visibleInSnapshot(x, snap))).toEqual([
      true, true, false, true, false, true, false, false,
    ]);
    const epoch1 = parseSnapshot(`${2 ** 32 + 5}:${2 ** 32 + 10}:`);
    expect(visibleInSnapshot(4294967290, epoch1)).toBe(true); // previous epoch, long committed
    expect(visibleInSnapshot(7, epoch1)).toBe(true);
    expect(visibleInSnapshot(12, epoch1)).toBe(false);
  });

  it("schema header columns, clause for clause as Electric.Schema", () => {
    const col = (type: string, typmod: number, extra: Partial<{ dims: number; notNull: boolean; pkIndex: number }> = {}) =>
      schemaColumn({ name: "c", type, typmod, dims: extra.dims ?? 0, notNull: extra.notNull ?? false, pkIndex: extra.pkIndex, sqlType: type });
    expect(col("int4", -1, { notNull: true, pkIndex: 0 })).toEqual({ type: "int4", pk_index: 0, not_null: true });
    expect(col("varchar", 14)).toEqual({ type: "varchar", max_length: 10 });
    expect(col("bpchar", 8)).toEqual({ type: "bpchar", length: 4 });
    expect(col("numeric", ((10 << 16) | 2) + 4)).toEqual({ type: "numeric", precision: 10, scale: 2 });
    expect(col("timestamptz", 3)).toEqual({ type: "timestamptz", precision: 3 });
    expect(col("int4", -1, { dims: 1 })).toEqual({ type: "int4", dims: 1 });
    expect(col("interval", (((1 << 10) | (1 << 11)) << 16) | 0xffff)).toEqual({ type: "interval", fields: "HOUR TO MINUTE" });
    expect(col("my_enum", -1)).toEqual({ type: "my_enum" });
  });
});
