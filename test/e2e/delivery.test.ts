/**
 * Duplicate and out-of-order delivery at the protocol level. A misbehaving cache between the
 * client and the shape server (test/support/chaos-proxy.ts) answers some requests with a copy
 * of the last response and some with an older one, while the server's rows keep changing and
 * the client writes through the API. Counted outcome: every write on the server exactly once,
 * nothing lost, the client ends equal to the server, and no row ever moved back to an older
 * value on the client (a replay is skipped, not re-applied). Also: a batch the client fails to
 * store is fetched again from the last saved offset, not skipped.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type RunningServer } from "../../examples/finance-tracker/server/server.js";
import { DEMO_HOUSEHOLDS } from "../../examples/finance-tracker/server/auth.js";

/** Ada's household: rows the server writes itself belong to it (a row of no household has no role on the client). */
const LOVELACE = DEMO_HOUSEHOLDS[0].id;
import { startChaosProxy, type ChaosProxy } from "../support/chaos-proxy.js";
import { EXAMPLE_SPEC_TEXT, generateClient } from "../support/generated.js";
import { usePostgres } from "../support/postgres/index.js";
import { startShapeServer, type ShapeServer } from "../../packages/shape-server/src/index.js";
import { sleep, type SyncClient } from "../support/sync-client.js";

const postgres = usePostgres();
let backend: RunningServer;
let shapes: ShapeServer;
let proxy: ChaosProxy;
let server: pg.Client;
let client: SyncClient;

beforeAll(async () => {
  const databaseUrl = await postgres().createDatabase();
  backend = await createServer({ databaseUrl, defaultUser: "ada@example.com", port: 0, host: "127.0.0.1", log: () => {} });
  shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 1000 });
  proxy = await startChaosProxy({ target: shapes.url, duplicateEvery: 3, staleEvery: 5, staleDepth: 2, breakEvery: 23 });
  server = new pg.Client(databaseUrl);
  await server.connect();
  client = (await import(`${await generateClient("delivery", EXAMPLE_SPEC_TEXT)}/index.ts`)) as SyncClient;
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await shapes?.stop();
  await backend?.close();
  await server?.end();
});

describe("duplicate and out-of-order delivery", () => {
  it("replays are skipped: no row moves back, writes land once, the client ends equal to the server", async () => {
    const SERVER_ROWS = 8;
    const ROUNDS = 48;
    const seeded = (
      await server.query<{ id: string }>(
        `INSERT INTO contacts (first_name, last_name, company, household_id) SELECT 'Server', 's' || i, 'v000', '${LOVELACE}' FROM generate_series(1, $1) i RETURNING id::text`,
        [SERVER_ROWS],
      )
    ).rows.map((r) => r.id);
    const db = await client.createDatabase();
    // Every value the client's synced table ever held, in order.
    await db.pg.exec(`
      CREATE TABLE history (n serial PRIMARY KEY, id text, company text);
      CREATE FUNCTION remember() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO history (id, company) VALUES (NEW.id::text, NEW.company); RETURN NEW; END $$;
      CREATE TRIGGER remember AFTER INSERT OR UPDATE ON contacts_synced FOR EACH ROW EXECUTE FUNCTION remember();`);
    const errors: string[] = [];
    const engine = await client.startSync({ db, apiUrl: backend.url, electricUrl: proxy.shapeUrl, backoff: { initialMs: 20, maxMs: 200 }, onError: (e) => errors.push(e.message) });
    await engine.ready;

    const written: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // The server moves one row to the next version ...
      await server.query(`UPDATE contacts SET company = $2 WHERE id = $1`, [seeded[round % SERVER_ROWS], `v${String(round).padStart(3, "0")}`]);
      // ... and every third round the client creates one through the API.
      if (round % 3 === 0) {
        const id = crypto.randomUUID();
        written.push(id);
        await db.pg.query(`INSERT INTO contacts (id, first_name, last_name) VALUES ($1, 'Client', $2)`, [id, `c${round}`]);
      }
      await sleep(40);
    }

    const ids = [...seeded, ...written];
    const snapshot = async (read: (sql: string, params: unknown[]) => Promise<{ rows: unknown[] }>) =>
      JSON.stringify((await read(`SELECT id::text, first_name, last_name, company FROM contacts WHERE id::text = ANY($1) ORDER BY id`, [ids])).rows);
    const started = Date.now();
    for (;;) {
      const status = await engine.writer.status();
      const [local, remote] = [await snapshot((sql, p) => db.pg.query(sql, p)), await snapshot((sql, p) => server.query(sql, p))];
      if (status.queued === 0 && local === remote && JSON.parse(remote).length === ids.length) break;
      if (Date.now() - started > 60_000) throw new Error(`not settled: queued ${status.queued}; shapes ${JSON.stringify(engine.shapes.map((x) => x.stats))}; injected ${JSON.stringify(proxy.injected)}; errors ${errors.join(" | ")}; local ${local}, server ${remote}`);
      await sleep(100);
    }

    const history = (await db.pg.query<{ id: string; company: string | null }>(`SELECT id, company FROM history ORDER BY n`)).rows;
    const movedBack = seeded.filter((id) => {
      const versions = history.filter((h) => h.id === id).map((h) => h.company ?? "");
      return versions.some((v, i) => i > 0 && v < versions[i - 1]!);
    });
    const onServer = Number((await server.query(`SELECT count(*)::int AS n FROM contacts WHERE id = ANY($1::uuid[])`, [written])).rows[0].n);
    const skipped = engine.shapes.reduce((sum, s) => sum + s.stats.skipped, 0);
    const failed = (await engine.writer.status()).failed;
    console.log(
      `delivery: ${JSON.stringify(proxy.injected)}; replayed changes skipped by the client: ${skipped}; ` +
        `server updates: ${ROUNDS}, client creates: ${written.length}, on the server: ${onServer}; rows that moved back: ${movedBack.length}; failed changes: ${failed}`,
    );
    expect(proxy.injected.duplicated).toBeGreaterThan(0);
    expect(proxy.injected.stale).toBeGreaterThan(0);
    expect(proxy.injected.broken).toBeGreaterThan(0);
    // Each broken response is reported once, then recovered from; the last report can trail the settled data.
    await expect.poll(() => errors.filter((e) => e.includes("required headers")).length, { timeout: 15_000 }).toBe(proxy.injected.broken);
    expect(skipped).toBeGreaterThan(0);
    expect(movedBack).toEqual([]);
    expect(onServer).toBe(written.length);
    expect(failed).toBe(0);
    await engine.stop();
    await db.close();
  }, 120_000);

  it("a batch the client failed to store is fetched again from the last saved offset", async () => {
    const db = await client.createDatabase();
    // The local database refuses one server row until the trigger is dropped.
    await db.pg.exec(`
      CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.last_name = 'refused' THEN RAISE EXCEPTION 'refused by a local trigger'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse BEFORE INSERT ON contacts_synced FOR EACH ROW EXECUTE FUNCTION refuse();`);
    const errors: string[] = [];
    const engine = await client.startSync({ db, apiUrl: backend.url, electricUrl: shapes.shapeUrl, onError: (e) => errors.push(e.message) });
    await engine.ready;
    const ids = (
      await server.query<{ id: string }>(`INSERT INTO contacts (first_name, last_name, household_id) VALUES ('Batch', 'kept', '${LOVELACE}'), ('Batch', 'refused', '${LOVELACE}') RETURNING id::text`)
    ).rows.map((r) => r.id);
    const local = async () => (await db.pg.query(`SELECT last_name FROM contacts WHERE id::text = ANY($1) ORDER BY last_name`, [ids])).rows;
    for (let t = 0; errors.length === 0 && t < 100; t++) await sleep(50);
    expect(errors.join("\n")).toContain("refused by a local trigger");
    expect(await local()).toEqual([]); // the batch is all or nothing
    await db.pg.exec(`DROP TRIGGER refuse ON contacts_synced`);
    for (let t = 0; (await local()).length < 2 && t < 200; t++) await sleep(50);
    expect(await local()).toEqual([{ last_name: "kept" }, { last_name: "refused" }]);
    await engine.stop();
    await db.close();
  }, 60_000);
});
