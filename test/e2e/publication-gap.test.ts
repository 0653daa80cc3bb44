/**
 * Electric's publication gap, end to end: real PostgreSQL, the finance-tracker backend, the
 * shape-protocol double with its `publicationGap` fault (packages/shape-server/README.md) and the generated
 * client. When a table's last shape is removed, a write in progress while the client asks for the
 * table again never reaches the new shape (its txid is in the snapshot's xip_list, then no change
 * carries it). The client must not leave that confirmed write pending forever: it reads the rows
 * again with a subset snapshot and acknowledges the write (templates/runtime/shape-sync.ts).
 */
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type RunningServer } from "../../examples/finance-tracker/server/server.js";
import { EXAMPLE_SPEC_TEXT, generateClient } from "../support/generated.js";
import { usePostgres } from "../support/postgres/index.js";
import { REPO } from "../support/project.js";
import { startShapeServer, type ShapeServer } from "../../packages/shape-server/src/index.js";
import type { SyncClient as Client } from "../support/sync-client.js";

const postgres = usePostgres();
const dataRoot = path.join(REPO, ".cache/pgdata", `gap-${process.pid}`);
const GATE = 4242;
let backend: RunningServer;
let shapes: ShapeServer;
let client: Client;
let server: pg.Client;

beforeAll(async () => {
  const databaseUrl = await postgres().createDatabase();
  backend = await createServer({ databaseUrl, defaultUser: "ada@example.com", port: 0, host: "127.0.0.1", log: () => {} });
  shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 500, publicationGap: true });
  server = new pg.Client(databaseUrl);
  await server.connect();
  client = (await import(`${await generateClient("gap", EXAMPLE_SPEC_TEXT)}/index.ts`)) as Client;
  fs.mkdirSync(dataRoot, { recursive: true });
}, 120_000);

afterAll(async () => {
  await shapes?.stop();
  await backend?.close();
  await server?.end();
  fs.rmSync(dataRoot, { recursive: true, force: true });
});

async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the publication gap (a confirmed write whose change never comes)", () => {
  it("a write committed in the gap is read again and stops being pending", async () => {
    const errors: Error[] = [];
    const db = await client.createDatabase({ dataDir: path.join(dataRoot, "a") });
    const engine = await client.startSync({ db, apiUrl: backend.url, electricUrl: shapes.shapeUrl, backoff: { initialMs: 20, maxMs: 200 }, onError: (e) => errors.push(e) });
    try {
      await engine.ready;
      // A gate: the API's INSERT into accounts waits (with its txid assigned) until the test opens it.
      await server.query(`CREATE OR REPLACE FUNCTION gap_gate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_xact_lock_shared(${GATE}); RETURN NEW; END $$`);
      await server.query(`CREATE TRIGGER gap_gate AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION gap_gate()`);
      await server.query(`SELECT pg_advisory_lock(${GATE})`);

      const [row] = (await db.pg.query<{ id: string }>(`INSERT INTO accounts (name, kind, currency) VALUES ('Gap', 'checking', 'EUR') RETURNING id`)).rows;
      const id = row!.id;
      await eventually("the API's write waiting at the gate", async () =>
        (await server.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'`)).rowCount === 1);

      // The table's last shape goes away; the client asks for it again while the write is in progress.
      const old = shapes.shapes().find((s) => s.table === "public.accounts");
      expect(old).toBeDefined();
      const del = await fetch(`${shapes.shapeUrl}?${new URLSearchParams({ table: "accounts", handle: old!.handle })}`, { method: "DELETE" });
      expect(del.status).toBe(202);
      await eventually("the client's new accounts shape", async () => {
        const now = shapes.shapes().find((s) => s.table === "public.accounts");
        return now !== undefined && now.handle !== old!.handle;
      });

      await server.query(`SELECT pg_advisory_unlock(${GATE})`);
      await eventually("the write confirmed by the API", async () =>
        (await db.pg.query(`SELECT 1 FROM "_changes" WHERE row_key = $1 AND txid IS NOT NULL`, [id])).rows.length === 1);
      expect((await server.query(`SELECT name FROM accounts WHERE id = $1`, [id])).rows).toEqual([{ name: "Gap" }]);

      // The change never comes through the stream (the fault), yet the row is synced in the end.
      await eventually(`the write synced (client errors: ${errors.map(String).join("; ") || "none"})`, async () =>
        (await db.pg.query<{ _sync_status: string }>(`SELECT _sync_status FROM accounts WHERE id = $1`, [id])).rows[0]?._sync_status === "synced");
      expect((await db.pg.query(`SELECT name FROM accounts_synced WHERE id = $1`, [id])).rows).toEqual([{ name: "Gap" }]);
      expect((await db.pg.query(`SELECT status FROM "_changes" WHERE row_key = $1`, [id])).rows).toEqual([{ status: "synced" }]);
      // No change carried it (the shape's log is empty) …
      expect(shapes.shapes().find((s) => s.table === "public.accounts")?.entries).toBe(0);
      // … it was read with a subset snapshot of the shape, for that row only. (With the stream's
      // own fetch wrapper, Electric's client may send the same subset request twice: the same
      // URL, so the same row, never another.)
      const subsets = shapes.requests.filter((r) => r.url.searchParams.has("subset__where"));
      expect(subsets.length).toBeGreaterThan(0);
      expect(new Set(subsets.map((r) => `${r.status} ${r.url.searchParams.get("subset__where")} ${r.url.searchParams.get("subset__params")}`))).toEqual(
        new Set([`200 "id" IN ($1) ${JSON.stringify({ 1: id })}`]),
      );
    } finally {
      await server.query(`SELECT pg_advisory_unlock_all()`).catch(() => undefined);
      await server.query(`DROP TRIGGER IF EXISTS gap_gate ON accounts`).catch(() => undefined);
      await engine.stop();
      await db.close();
    }
  });
});
