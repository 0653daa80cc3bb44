/**
 * Unit tables for the pure parts of the shape-server double (packages/shape-server): pgoutput
 * messages folded into transactions, offsets, keys, snapshot visibility, the schema header.
 * (What the values look like is Postgres' business: the conformance suite checks them end to end.)
 */
import { describe, expect, it } from "vitest";
import type { Pgoutput } from "pg-logical-replication";
import { TransactionAssembler, UNCHANGED_TOAST, formatLsn, parseLsn } from "../../packages/shape-server/src/changes.js";
import { compareOffsets, formatOffset, nextCursor, parseRequestedOffset, rowKey } from "../../packages/shape-server/src/protocol.js";
import { parseSnapshot, schemaColumn, visibleInSnapshot } from "../../packages/shape-server/src/postgres.js";
import { parseTable } from "../../packages/shape-server/src/params.js";

const rel = (name: string, columns: string[], keyColumns: string[] = ["id"]): Pgoutput.MessageRelation => ({
  tag: "relation",
  relationOid: 1,
  schema: "public",
  name,
  replicaIdentity: "full",
  columns: columns.map((c) => ({ name: c, flags: keyColumns.includes(c) ? 1 : 0, typeOid: 25, typeMod: -1, typeSchema: null, typeName: null, parser: (x: unknown) => x })),
  keyColumns,
});
const begin = (xid: number): Pgoutput.Message => ({ tag: "begin", commitLsn: "0/100", commitTime: 0n, xid });
const commit = (end: string): Pgoutput.Message => ({ tag: "commit", flags: 0, commitLsn: "0/100", commitEndLsn: end, commitTime: 0n });
const message = (prefix: string, content: string, transactional = true): Pgoutput.Message => ({
  tag: "message",
  flags: transactional ? 1 : 0,
  transactional,
  messageLsn: "0/90",
  prefix,
  content: Buffer.from(content),
});
const plain = (t: Map<string, unknown> | undefined) => (t ? Object.fromEntries(t) : undefined);

describe("TransactionAssembler (pgoutput messages → transactions)", () => {
  const t = rel("t", ["id", "v", "big"]);

  it("folds begin … commit into one transaction with the unsigned xid and the end LSN of the commit", () => {
    const a = new TransactionAssembler("m");
    expect(a.push(begin(-1))).toEqual({ kind: "none" }); // xid 4294967295 read as a signed int32
    expect(a.push(t)).toEqual({ kind: "none" });
    a.push({ tag: "insert", relation: t, new: { id: "1", v: "it's", big: null } });
    const done = a.push(commit("1/A0"));
    expect(done).toMatchObject({ kind: "transaction", markers: [], transaction: { xid: 4294967295, commitLsn: (1n << 32n) + 0xa0n } });
    if (done.kind !== "transaction") throw new Error("no transaction");
    expect(done.transaction.changes).toHaveLength(1);
    expect(plain((done.transaction.changes[0] as { new: Map<string, unknown> }).new)).toEqual({ id: "1", v: "it's", big: null });
  });

  it("keeps the old row of REPLICA IDENTITY FULL, the key columns of a key-only old tuple, and marks unchanged TOAST", () => {
    const a = new TransactionAssembler("m");
    a.push(begin(7));
    a.push({ tag: "update", relation: t, key: null, old: { id: "1", v: "a", big: null }, new: { id: "1", v: "b", big: "x" } });
    a.push({ tag: "update", relation: t, key: { id: "1" }, old: null, new: { id: "2", v: "b", big: undefined } });
    a.push({ tag: "update", relation: t, key: null, old: null, new: { id: "2", v: "c", big: undefined } });
    a.push({ tag: "delete", relation: t, key: { id: "2" }, old: null });
    a.push({ tag: "truncate", cascade: false, restartIdentity: false, relations: [t, rel("u", ["id"])] });
    const done = a.push(commit("0/200"));
    if (done.kind !== "transaction") throw new Error("no transaction");
    const [full, keyChange, noOld, del, trunc] = done.transaction.changes as [any, any, any, any, any];
    expect(plain(full.old)).toEqual({ id: "1", v: "a", big: null });
    expect(plain(keyChange.old)).toEqual({ id: "1" });
    expect(keyChange.new.get("big")).toBe(UNCHANGED_TOAST);
    expect(noOld.old).toBeUndefined();
    expect(plain(del.old)).toEqual({ id: "2" });
    expect(trunc).toEqual({ kind: "truncate", relations: [["public", "t"], ["public", "u"]] });
  });

  it("returns flush markers with their transaction, alone when not transactional, and ignores other prefixes", () => {
    const a = new TransactionAssembler("mine");
    a.push(begin(9));
    a.push(message("mine", "3"));
    a.push(message("other", "4"));
    expect(a.push(commit("0/300"))).toMatchObject({ kind: "transaction", markers: ["3"], transaction: { changes: [] } });
    expect(a.push(message("mine", "5", false))).toEqual({ kind: "marker", content: "5", lsn: 0x90n });
  });

  it("refuses changes outside a transaction and a commit without begin", () => {
    const a = new TransactionAssembler("m");
    expect(() => a.push({ tag: "insert", relation: t, new: { id: "1", v: null, big: null } })).toThrow(/outside a transaction/);
    expect(() => a.push(commit("0/1"))).toThrow(/COMMIT without BEGIN/);
  });

  it("reads and prints LSNs as Postgres does", () => {
    expect(parseLsn("0/0")).toBe(0n);
    expect(parseLsn("16/B374D848")).toBe((0x16n << 32n) | 0xb374d848n);
    expect(formatLsn(parseLsn("16/B374D848"))).toBe("16/B374D848");
    expect(() => parseLsn("nope")).toThrow(/not an LSN/);
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
