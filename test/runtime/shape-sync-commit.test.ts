/**
 * The I/O half of shape sync against real PGlite: the plans the decisions make
 * (templates/runtime/shape-sync-state.ts) carried out by the runtime a generated client ships
 * (sync/shape-sync.ts: commitBatch, applySubset) on the generated local database. Each test
 * names the invariant of templates/runtime/SPEC.md (section S) it enforces.
 */
import type { ChangeMessage, Message, Row } from "@electric-sql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { entitySpec, generateClient } from "../support/generated.js";

type Decisions = typeof import("../../templates/runtime/shape-sync-state.js");
type CommitPlan = import("../../templates/runtime/shape-sync-state.js").CommitPlan;
type SubsetPlan = import("../../templates/runtime/shape-sync-state.js").SubsetPlan;
type ShapeSyncState = import("../../templates/runtime/shape-sync-state.js").ShapeSyncState;

interface Pg {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<unknown>;
}
interface Target {
  table: string;
}
interface ShapeSyncModule {
  syncTarget(entity: unknown): Target;
  commitBatch(pg: Pg, target: Target, plan: CommitPlan): Promise<void>;
  applySubset(pg: Pg, target: Target, plan: SubsetPlan): Promise<void>;
}

let pg: Pg;
let close: () => Promise<void>;
let decisions: Decisions;
let io: ShapeSyncModule;
let target: Target;

beforeAll(async () => {
  const out = await generateClient("runtime-shape-sync", entitySpec());
  const init = (await import(`${out}/db/init.ts`)) as { createDatabase(): Promise<{ pg: Pg; close(): Promise<void> }> };
  const entities = (await import(`${out}/sync/entities.ts`)) as { ENTITIES: readonly { table: string }[] };
  // The modules as the client ships them (sync/shape-sync.ts imports ./shape-sync-state.js).
  decisions = (await import(`${out}/sync/shape-sync-state.ts`)) as Decisions;
  io = (await import(`${out}/sync/shape-sync.ts`)) as ShapeSyncModule;
  target = io.syncTarget(entities.ENTITIES.find((e) => e.table === "things"));
  const db = await init.createDatabase();
  pg = db.pg;
  close = () => db.close();
}, 120_000);
afterAll(async () => close?.());

const rows = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await pg.query<T>(sql, params)).rows;
const newId = () => crypto.randomUUID();

function change(id: string, operation: "insert" | "update" | "delete", value: Record<string, unknown> = {}, headers: { lsn?: number; op?: number; txids?: number[] } = {}): ChangeMessage<Row> {
  return {
    key: `"public"."things"/"${id}"`,
    value: { id, ...value },
    headers: { operation, ...(headers.lsn !== undefined ? { lsn: String(headers.lsn), op_position: headers.op ?? 0 } : {}), ...(headers.txids ? { txids: headers.txids } : {}) },
  };
}
const upToDate: Message<Row> = { headers: { control: "up-to-date" } };

/** The plan the decisions make for `messages` (an up-to-date is added). */
function plan(messages: Message<Row>[], opts: { state?: ShapeSyncState; offset?: string; handle?: string } = {}): CommitPlan {
  const state = opts.state ?? decisions.initialShapeSyncState("id");
  const t = decisions.stepShapeSync(state, { type: "messages", generation: state.generation, messages: [...messages, upToDate], streamOffset: opts.offset ?? "10_0", streamHandle: opts.handle ?? "h1" });
  const commit = t.effects.find((e) => e.type === "commit");
  if (!commit || commit.type !== "commit") throw new Error("no commit planned");
  return commit.plan;
}
const saved = async () => (await rows<{ handle: string | null; offset: string }>(`SELECT "handle", "offset" FROM "_sync_shapes" WHERE "entity" = 'things'`))[0];
/** A local create the API accepted under `txid` (sent, waiting for its change). */
async function sentWrite(name: string, txid: number): Promise<string> {
  const id = newId();
  await pg.query(`INSERT INTO things (id, name) VALUES ($1, $2)`, [id, name]);
  await pg.query(`UPDATE "_changes" SET "status" = 'sent', "txid" = $2 WHERE "row_key" = $1`, [id, txid]);
  return id;
}
const statusOf = async (id: string) => (await rows<{ status: string }>(`SELECT "status" FROM "_changes" WHERE "row_key" = $1 ORDER BY "seq"`, [id])).map((r) => r.status);

describe("commits (S1, S2, S6)", () => {
  it("S1, S2: a commit stores its changes and the stream's handle and offset together", async () => {
    const [a, b] = [newId(), newId()];
    await io.commitBatch(pg, target, plan([change(a, "insert", { name: "a", qty: "1" }, { lsn: 5 }), change(b, "insert", { name: "b" }, { lsn: 5, op: 1 }), change(a, "update", { qty: "2" }, { lsn: 6 })], { offset: "6_0", handle: "h-first" }));
    expect(await rows(`SELECT name, qty FROM things_synced WHERE id = ANY($1::uuid[]) ORDER BY name`, [[a, b]])).toEqual([
      { name: "a", qty: 2 },
      { name: "b", qty: null },
    ]);
    expect(await saved()).toEqual({ handle: "h-first", offset: "6_0" });
  });

  it("S1, S2, S6: a commit that fails stores nothing: no row, no offset, no acknowledgement", async () => {
    const before = await saved();
    const mine = await sentWrite("mine", 7001);
    await pg.exec(`
      CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.name = 'refused' THEN RAISE EXCEPTION 'refused by a local trigger'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse BEFORE INSERT ON things_synced FOR EACH ROW EXECUTE FUNCTION refuse();`);
    const [kept, refused] = [newId(), newId()];
    const failing = plan([change(mine, "insert", { name: "mine" }, { lsn: 20, txids: [7001] }), change(kept, "insert", { name: "kept" }, { lsn: 20, op: 1 }), change(refused, "insert", { name: "refused" }, { lsn: 21 })], { offset: "21_0", handle: "h-second" });
    await expect(io.commitBatch(pg, target, failing)).rejects.toThrow(/refused by a local trigger/);
    expect(await rows(`SELECT id FROM things_synced WHERE id = ANY($1::uuid[])`, [[mine, kept, refused]])).toEqual([]);
    expect(await saved()).toEqual(before);
    expect(await statusOf(mine)).toEqual(["sent"]);
    await pg.exec(`DROP TRIGGER refuse ON things_synced; DROP FUNCTION refuse()`);
    // The same plan, once the database takes it (S9 fetches it again from the saved offset).
    await io.commitBatch(pg, target, failing);
    expect(await rows(`SELECT name FROM things_synced WHERE id = ANY($1::uuid[]) ORDER BY name`, [[mine, kept, refused]])).toEqual([{ name: "kept" }, { name: "mine" }, { name: "refused" }]);
    expect(await saved()).toEqual({ handle: "h-second", offset: "21_0" });
    expect(await statusOf(mine)).toEqual(["synced"]);
  });

  it("S6: the txids a commit carries acknowledge the local changes they confirm, and only those", async () => {
    const [confirmed, other] = [await sentWrite("confirmed", 7101), await sentWrite("other", 7102)];
    await io.commitBatch(pg, target, plan([change(confirmed, "insert", { name: "confirmed" }, { lsn: 30, txids: [7101] })], { offset: "30_0" }));
    expect(await statusOf(confirmed)).toEqual(["synced"]);
    expect(await statusOf(other)).toEqual(["sent"]);
    expect(await rows(`SELECT _sync_status FROM things WHERE id = $1`, [confirmed])).toEqual([{ _sync_status: "synced" }]);
  });

  it("S1: a large batch of inserts into an empty table is loaded with COPY, with the same values", async () => {
    await pg.exec(`TRUNCATE things_synced`);
    const many = Array.from({ length: decisions.BULK_ROWS }, (_, i) => change(newId(), "insert", { name: `bulk "${i}", quoted`, qty: String(i), note: null }));
    const bulk = plan(many, { offset: "0_inf" });
    expect(bulk.bulk).toBe(true);
    await io.commitBatch(pg, target, bulk);
    expect(await rows(`SELECT count(*)::int AS n, sum(qty)::int AS total, count(note)::int AS notes FROM things_synced`)).toEqual([{ n: decisions.BULK_ROWS, total: ((decisions.BULK_ROWS - 1) * decisions.BULK_ROWS) / 2, notes: 0 }]);
    expect(await rows(`SELECT name FROM things_synced WHERE qty = 7`)).toEqual([{ name: `bulk "7", quoted` }]);
  });
});

describe("columns (S11)", () => {
  it("S11: columns the client does not know, and device-only ones, are not written; an update of only those changes nothing", async () => {
    const id = newId();
    const changes = [
      change(id, "insert", { name: "known", qty: "1", server_secret: "x", private_note: "from the server" }, { lsn: 80 }),
      change(id, "update", { server_secret: "y" }, { lsn: 80, op: 1 }),
      change(id, "update", { qty: "2", server_secret: "z" }, { lsn: 80, op: 2 }),
    ];
    await io.commitBatch(pg, target, plan(changes, { offset: "80_2" }));
    expect(await rows(`SELECT name, qty, private_note FROM things WHERE id = $1`, [id])).toEqual([{ name: "known", qty: 2, private_note: null }]);
  });
});

describe("re-fetch (S5)", () => {
  it("S5: a re-fetch commit empties the synced table and loads the new shape in one transaction; local work stays", async () => {
    const old = newId();
    await io.commitBatch(pg, target, plan([change(old, "insert", { name: "old" })], { offset: "40_0" }));
    const local = newId();
    await pg.query(`INSERT INTO things (id, name) VALUES ($1, 'local only')`, [local]);
    const state = decisions.stepShapeSync(decisions.initialShapeSyncState("id"), { type: "messages", generation: 0, messages: [{ headers: { control: "must-refetch" } }], streamOffset: "-1", streamHandle: undefined }).state;
    const fresh = newId();
    const refetch = plan([change(fresh, "insert", { name: "new shape" })], { state, offset: "0_inf", handle: "h-new" });
    expect(refetch.truncate).toBe(true);

    // A failing load leaves the old rows: the table is never seen empty.
    await pg.exec(`
      CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
      CREATE TRIGGER refuse BEFORE INSERT ON things_synced FOR EACH ROW EXECUTE FUNCTION refuse();`);
    await expect(io.commitBatch(pg, target, refetch)).rejects.toThrow(/refused/);
    expect(await rows(`SELECT name FROM things_synced WHERE id = $1`, [old])).toEqual([{ name: "old" }]);
    await pg.exec(`DROP TRIGGER refuse ON things_synced; DROP FUNCTION refuse()`);

    await io.commitBatch(pg, target, refetch);
    expect(await rows(`SELECT name FROM things_synced ORDER BY name`)).toEqual([{ name: "new shape" }]);
    expect(await saved()).toEqual({ handle: "h-new", offset: "0_inf" });
    expect(await rows(`SELECT name, _sync_status FROM things WHERE id = $1`, [local])).toEqual([{ name: "local only", _sync_status: "pending" }]);
  });
});

describe("snapshot bounds (S7) and re-reads (S8)", () => {
  it("S7: a commit with the initial snapshot's bounds syncs the sent writes that snapshot already contains", async () => {
    const [inside, after] = [await sentWrite("inside", 7200), await sentWrite("after", 7300)];
    const bounds = { xmin: "7250", xmax: "7260", xip: [] };
    await io.commitBatch(pg, target, { ...plan([], { offset: "50_0" }), snapshot: bounds });
    expect(await statusOf(inside)).toEqual(["synced"]);
    expect(await statusOf(after)).toEqual(["sent"]);
  });

  it("S8: a subset apply writes its rows, deletes the requested rows it lacks, and acknowledges the writes it contains", async () => {
    const [present, vanished] = [await sentWrite("present", 7400), await sentWrite("vanished", 7401)];
    await io.commitBatch(pg, target, plan([change(vanished, "insert", { name: "vanished" })], { offset: "60_0" }));
    const request = { generation: 0, keys: [present, vanished], txids: [7400, 7401] };
    const t = decisions.stepShapeSync({ ...decisions.initialShapeSyncState("id"), checking: true }, {
      type: "subset",
      request,
      bounds: { xmin: "7401", xmax: "7401", xip: [] },
      rows: [change(present, "insert", { name: "present", qty: "3" })],
    });
    const apply = t.effects.find((e) => e.type === "apply-subset");
    if (!apply || apply.type !== "apply-subset") throw new Error("no subset apply planned");
    await io.applySubset(pg, target, apply.plan);
    expect(await rows(`SELECT name, qty FROM things_synced WHERE id = ANY($1::uuid[])`, [[present, vanished]])).toEqual([{ name: "present", qty: 3 }]);
    expect(await statusOf(present)).toEqual(["synced"]);
    expect(await statusOf(vanished)).toEqual(["sent"]);
  });
});
