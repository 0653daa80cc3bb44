/**
 * The change writer's I/O loop (templates/runtime/change-writer.ts, imported directly) and the SQL
 * that records outcomes (writer-decisions.ts), against in-memory PGlite with a generated schema.
 * SPEC.md section W: W1, W4, W8, W12.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { PGliteInterface } from "@electric-sql/pglite";
import { ChangeWriter } from "../../templates/runtime/change-writer.js";
import { recordOutcome, type ChangeRow, type SyncEntity } from "../../templates/runtime/writer-decisions.js";
import { entitySpec, generateClient } from "../support/generated.js";

interface Db {
  pg: PGliteInterface;
  close(): Promise<void>;
}

let db: Db;
let entities: SyncEntity[];

beforeAll(async () => {
  const out = await generateClient("runtime-writer", entitySpec());
  db = await ((await import(`${out}/db/init.ts`)) as { createDatabase(): Promise<Db> }).createDatabase();
  entities = ((await import(`${out}/sync/entities.ts`)) as { ENTITIES: SyncEntity[] }).ENTITIES;
}, 120_000);
afterAll(async () => db?.close());
const writers: ChangeWriter[] = [];
/** Stopped after the test, whatever happens in it. */
function running(writer: ChangeWriter): ChangeWriter {
  writers.push(writer);
  return writer;
}
beforeEach(async () => {
  await db.pg.exec(`DELETE FROM "_changes"; DELETE FROM things_local; DELETE FROM things_synced;`);
});
afterEach(async () => {
  for (const w of writers.splice(0)) await w.stop();
});

/**
 * The database as the writer sees it: counts its round trips (a transaction is one) and its
 * records (writes to `_changes`), and holds every record until `hold` resolves.
 */
function counted(pg: PGliteInterface, hold: Promise<void> = Promise.resolve()): { pg: PGliteInterface; trips: () => number; records: () => number } {
  let trips = 0;
  let records = 0;
  const proxy = new Proxy(pg, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if ((prop === "query" || prop === "exec" || prop === "transaction") && typeof value === "function") {
        return async (...args: unknown[]) => {
          trips++;
          if (prop === "transaction" || /^(UPDATE "_changes"|WITH "hit")/.test(String(args[0]))) {
            records++;
            await hold;
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { pg: proxy, trips: () => trips, records: () => records };
}

interface Seen {
  method: string;
  url: string;
  key: string;
  body: Record<string, unknown> | undefined;
}

/** A fetch that answers from `answer` and records what was sent, in order. */
function api(answer: (seen: Seen, n: number) => Response | Promise<Response>): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const s: Seen = { method: init?.method ?? "GET", url: String(input), key: headers.get("idempotency-key") ?? "", body: init?.body ? (JSON.parse(String(init.body)) as Record<string, unknown>) : undefined };
    seen.push(s);
    return answer(s, seen.length);
  }) as typeof fetch;
  return { fetch: fetchFn, seen };
}

const created = () => new Response("{}", { status: 201, headers: { "content-type": "application/json" } });
const statuses = async () =>
  (await db.pg.query<{ op: string; name: string | null; status: string; last_error: string | null }>(`SELECT "op", "value" ->> 'name' AS name, "status", "last_error" FROM "_changes" ORDER BY "seq"`)).rows;

async function queue(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = crypto.randomUUID();
    ids.push(id);
    await db.pg.query(`INSERT INTO things (id, name, qty) VALUES ($1, $2, $3)`, [id, `n${i}`, i]);
  }
  return ids;
}

describe("the change writer's drain", () => {
  it("W12: 100 queued changes are sent in order (W1) while their bookkeeping runs, and recorded together, not one or two queries per change", async () => {
    await queue(100);
    let allSent!: () => void;
    const sent = new Promise<void>((r) => (allSent = r));
    // The database is slow to record (idb:// copies it to IndexedDB): the first record waits
    // until every request went out. Sending must not wait for it.
    const counter = counted(db.pg, sent);
    const server = api((_, n) => {
      if (n === 100) allSent();
      return created();
    });
    const writer = running(new ChangeWriter({ pg: counter.pg, entities, baseUrl: "http://api.test", fetch: server.fetch }));
    await writer.start();
    await writer.flush();
    expect(server.seen.map((s) => s.body?.name)).toEqual(Array.from({ length: 100 }, (_, i) => `n${i}`));
    expect(new Set(server.seen.map((s) => s.key)).size).toBe(100);
    expect((await statuses()).every((r) => r.status === "synced")).toBe(true);
    // One record for the batch, or two when sending took long enough to record part of it on the
    // way (the rest, answered meanwhile, goes into the second).
    expect(counter.records()).toBeLessThanOrEqual(2);
    // Start (prune ×2, LISTEN ×3), read the queue, the two records: not 100 or 200.
    expect(counter.trips()).toBeLessThanOrEqual(10);
  });

  it("W1, W5: a change waiting for a retry ends the batch; the ones before it are recorded, the ones after it wait", async () => {
    await queue(5);
    let fail = true;
    const server = api((s) => {
      if (s.body?.name === "n2" && fail) {
        fail = false;
        return new Response("busy", { status: 503, headers: { "retry-after": "1" } });
      }
      return created();
    });
    const writer = running(new ChangeWriter({ pg: db.pg, entities, baseUrl: "http://api.test", fetch: server.fetch, backoff: { initialMs: 5, maxMs: 5_000 } }));
    await writer.start();
    await writer.flush();
    expect((await statuses()).map((r) => r.status)).toEqual(["synced", "synced", "pending", "pending", "pending"]);
    expect((await statuses())[2]!.last_error).toBe("503 busy");
    expect((await writer.status()).lastError).toBe("503 busy");
    await new Promise((r) => setTimeout(r, 1_100));
    await writer.flush();
    expect((await statuses()).map((r) => r.status)).toEqual(["synced", "synced", "synced", "synced", "synced"]);
    expect(server.seen.map((s) => s.body?.name)).toEqual(["n0", "n1", "n2", "n2", "n3", "n4"]);
    expect((await writer.status()).lastError).toBeNull();
  });

  it("W4: a rejected create fails the row's later changes in the same batch without sending them; other rows go on", async () => {
    const [a, b] = await queue(2);
    await db.pg.query(`UPDATE things SET name = 'a2' WHERE id = $1`, [a]);
    await db.pg.query(`UPDATE things SET name = 'b2' WHERE id = $1`, [b]);
    const server = api((s) =>
      s.method === "POST" && s.body?.name === "n0" ? new Response(JSON.stringify({ title: "Unprocessable", detail: "name is taken" }), { status: 422, headers: { "content-type": "application/problem+json" } }) : created(),
    );
    const writer = running(new ChangeWriter({ pg: db.pg, entities, baseUrl: "http://api.test", fetch: server.fetch }));
    await writer.start();
    await writer.flush();
    expect(server.seen.map((s) => `${s.method} ${s.body?.name}`)).toEqual(["POST n0", "POST n1", "PATCH b2"]);
    expect(await statuses()).toEqual([
      { op: "insert", name: "n0", status: "failed", last_error: "422 Unprocessable: name is taken" },
      { op: "insert", name: "n1", status: "synced", last_error: null },
      { op: "update", name: "a2", status: "failed", last_error: "Not sent: the create of this row was rejected (422 Unprocessable: name is taken)" },
      { op: "update", name: "b2", status: "synced", last_error: null },
    ]);
    // The rejected row is gone from the view (rolled back).
    expect((await db.pg.query(`SELECT 1 FROM things WHERE id = $1`, [a])).rows).toEqual([]);
  });
});

describe("L9: pruning", () => {
  it("a writer that starts sending drops finished changes and seen txids older than a day, and keeps the rest", async () => {
    await queue(4);
    await db.pg.exec(`UPDATE "_changes" SET "created_at" = now() - interval '2 days' WHERE "seq" IN (SELECT "seq" FROM "_changes" ORDER BY "seq" LIMIT 3)`);
    // Old and pending, old and synced, old and failed (the error store keeps it), recent and synced.
    await db.pg.exec(`UPDATE "_changes" SET "status" = 'failed' WHERE "seq" = (SELECT "seq" FROM "_changes" ORDER BY "seq" OFFSET 2 LIMIT 1)`);
    await db.pg.exec(`UPDATE "_changes" SET "status" = 'synced' WHERE "seq" IN (SELECT "seq" FROM "_changes" ORDER BY "seq" OFFSET 1) AND "status" = 'pending'`);
    await db.pg.exec(`INSERT INTO "_sync_seen_txids" ("entity", "txid", "seen_at") VALUES ('things', 1, now() - interval '2 days'), ('things', 2, now())`);
    const before = (await statuses()).map((r) => r.name);
    const writer = running(new ChangeWriter({ pg: db.pg, entities, baseUrl: "http://api.test", fetch: api(() => new Response("down", { status: 503 })).fetch }));
    await writer.start({ send: false });
    expect((await statuses()).length).toBe(4);
    await writer.lead();
    expect((await statuses()).map((r) => r.name)).toEqual([before[0], before[2], before[3]]);
    expect((await db.pg.query<{ txid: string }>(`SELECT "txid"::text FROM "_sync_seen_txids"`)).rows).toEqual([{ txid: "2" }]);
    await db.pg.exec(`DELETE FROM "_sync_seen_txids"`);
  });
});

describe("W8: recording an outcome moves a change's status only forward", () => {
  async function queued(): Promise<ChangeRow> {
    await queue(1);
    return (await db.pg.query<ChangeRow>(`SELECT * FROM "_changes" ORDER BY "seq" DESC LIMIT 1`)).rows[0]!;
  }
  const run = async (change: ChangeRow, outcome: Parameters<typeof recordOutcome>[1]) => {
    await db.pg.transaction(async (tx) => {
      for (const s of recordOutcome(change, outcome, new Map(entities.map((e) => [e.table, e])))) await tx.query(s.sql, s.params);
    });
  };

  it("a late rejection of a change another writer confirmed leaves it synced, and fails none of the row's later changes", async () => {
    const change = await queued();
    await db.pg.query(`UPDATE things SET name = 'later' WHERE id = $1`, [change.row_key]);
    await db.pg.query(`UPDATE "_changes" SET "status" = 'synced' WHERE "seq" = $1`, [change.seq]);
    await run(change, { kind: "reject", status: 422, error: "late" });
    expect((await statuses()).map((r) => [r.status, r.last_error])).toEqual([
      ["synced", null],
      ["pending", null],
    ]);
  });

  it("a late confirmation or retry of a change that failed meanwhile changes nothing", async () => {
    const change = await queued();
    await db.pg.query(`UPDATE "_changes" SET "status" = 'failed', "last_error" = 'rejected' WHERE "seq" = $1`, [change.seq]);
    await run(change, { kind: "confirm", status: "synced", txid: null, key: { kind: "keep" } });
    await run(change, { kind: "retry", error: "503", delayMs: 10, network: false, refreshCredentials: false });
    expect((await statuses()).map((r) => [r.status, r.last_error])).toEqual([["failed", "rejected"]]);
  });

  it("a confirmation with a txid marks the change sent; one whose txid the stream already delivered is synced at once", async () => {
    const first = await queued();
    await run(first, { kind: "confirm", status: "sent", txid: 700, key: { kind: "keep" } });
    await db.pg.query(`INSERT INTO "_sync_seen_txids" ("entity", "txid") VALUES ('things', 701)`);
    const second = await queued();
    await run(second, { kind: "confirm", status: "sent", txid: 701, key: { kind: "keep" } });
    expect((await statuses()).map((r) => r.status)).toEqual(["sent", "synced"]);
  });
});
