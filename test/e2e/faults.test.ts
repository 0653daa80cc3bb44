/**
 * Fault injection with counted outcomes. Two clients write while the API fails writes with 503s,
 * drops connections after committing (the idempotency key must prevent duplicates), is killed
 * (SIGKILL) with writes in flight and restarted, and the shape server forces must-refetch storms and is killed (SIGKILL) and
 * replaced by a new process on the same port; one client is also closed
 * mid-flush and reopened. At the end: every write is on the server exactly once, no local write
 * is lost, and both clients show exactly the server's state. The figures are printed (and kept
 * in docs/reliability.md).
 */
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnBackend, type BackendProcess } from "../support/backend-process.js";
import { usePostgres } from "../support/postgres/index.js";
import { spawnShapeServer, type ShapeServerProcess } from "../support/shape-server-process.js";
import { EXAMPLE_SPEC_TEXT, generateClient } from "../support/generated.js";
import { REPO } from "../support/project.js";
import { sleep, type LocalDatabase, type SyncClient as Client } from "../support/sync-client.js";


const postgres = usePostgres();
const dataRoot = path.join(REPO, ".cache/pgdata", `faults-${process.pid}`);
let databaseUrl: string;
let backend: BackendProcess;
let shapes: ShapeServerProcess;
let client: Client;
let server: pg.Client;

beforeAll(async () => {
  databaseUrl = await postgres().createDatabase();
  backend = await spawnBackend({ databaseUrl });
  shapes = await spawnShapeServer({ databaseUrl, longPollTimeoutMs: 1000 });
  server = new pg.Client(databaseUrl);
  await server.connect();
  client = (await import(`${await generateClient("faults", EXAMPLE_SPEC_TEXT)}/index.ts`)) as Client;
  fs.mkdirSync(dataRoot, { recursive: true });
}, 120_000);

afterAll(async () => {
  await shapes?.stop();
  await backend?.stop();
  await server?.end();
  fs.rmSync(dataRoot, { recursive: true, force: true });
});

async function connect(name: string) {
  const db = await client.createDatabase({ dataDir: path.join(dataRoot, name) });
  const engine = await client.startSync({ db, apiUrl: backend.url, electricUrl: shapes.shapeUrl, backoff: { initialMs: 20, maxMs: 200 } });
  return { db, engine };
}

// SPEC W5: 503s, a backend down, lost responses; every write lands once.
describe("sync under faults", () => {
  it("N writes in → N rows on the server exactly once, none lost, equal state on all clients", async () => {
    // FAULTS_SCALE=10 runs ten times the writes with the same faults at the same points of the run.
    const SCALE = Number(process.env.FAULTS_SCALE ?? 1);
    const PER_CLIENT = 30 * SCALE;
    const at = (i: number, k: number) => i === k * SCALE;
    let shapesDown = false;
    let apiDown = false;
    let committedUnanswered = 0;
    let a = await connect("a");
    const b = await connect("b");
    const written: string[] = [];
    let edits = 0;
    const write = async (c: { db: LocalDatabase }, label: string, i: number) => {
      const id = crypto.randomUUID();
      written.push(id);
      await c.db.pg.query(`INSERT INTO contacts (id, first_name, last_name) VALUES ($1, $2, $3)`, [id, label, `n${i}`]);
      if (i % 3 === 0) {
        await c.db.pg.query(`UPDATE contacts SET company = $2 WHERE id = $1`, [id, `${label}-edited`]);
        edits++;
      }
    };
    const faults = { failed503: 0, droppedAfterCommit: 0, refetches: 0, apiKills: 0, shapeServerKills: 0, clientRestarts: 0 };
    for (let i = 0; i < PER_CLIENT; i++) {
      if (at(i, 16)) {
        backend = await spawnBackend({ databaseUrl, port: backend.port });
        apiDown = false;
      }
      if (i % 7 === 3 && !apiDown) (await backend.faults({ failWrites: 3, retryAfter: 0 }), (faults.failed503 += 3));
      if (i % 5 === 1 && !apiDown) (await backend.faults({ dropAfterCommit: 1 }), faults.droppedAfterCommit++);
      if (i % (10 * SCALE) === 4 && !shapesDown) (await shapes.rotate("contacts"), faults.refetches++);
      if (at(i, 7)) {
        // The shape server process is killed; a new one (knowing none of the old handles) comes back on the same port.
        await shapes.kill();
        shapesDown = true;
        faults.shapeServerKills++;
      }
      if (at(i, 13)) {
        shapes = await spawnShapeServer({ databaseUrl, longPollTimeoutMs: 1000, port: shapes.port });
        shapesDown = false;
      }
      if (at(i, 12)) {
        // The API process is killed mid-batch: answers are held back 150 ms after commit, so
        // writes are in flight, some committed and never answered.
        await backend.faults({ delayMs: 150 });
        await sleep(100);
        await backend.kill();
        apiDown = true;
        faults.apiKills++;
        // Writes the server committed that the clients have not heard of.
        const pending = [];
        for (const c of [a, b]) pending.push(...(await c.db.pg.query<{ row_key: string }>(`SELECT "row_key" FROM "_changes" WHERE "op" = 'insert' AND "status" = 'pending'`)).rows.map((r) => r.row_key));
        committedUnanswered = Number((await server.query(`SELECT count(*)::int AS n FROM contacts WHERE id::text = ANY($1)`, [pending])).rows[0].n);
      }
      if (at(i, 20)) {
        // The client is closed while it still has queued changes, and reopened from its directory.
        await a.engine.stop();
        await a.db.close();
        a = await connect("a");
        faults.clientRestarts++;
      }
      await Promise.all([write(a, "A", i), write(b, "B", i)]);
      await sleep(15);
    }
    const start = Date.now();
    for (;;) {
      const [sa, sb] = await Promise.all([a.engine.writer.status(), b.engine.writer.status()]);
      const onServer = Number((await server.query(`SELECT count(*)::int AS n FROM contacts WHERE id = ANY($1::uuid[])`, [written])).rows[0].n);
      if (sa.queued === 0 && sb.queued === 0 && onServer === written.length) break;
      if (Date.now() - start > 60_000 * SCALE) throw new Error(`not settled: queued ${sa.queued}/${sb.queued}, on server ${onServer}/${written.length}`);
      await sleep(100);
    }
    const serverRows = (await server.query(`SELECT id::text, first_name, last_name, company FROM contacts WHERE id = ANY($1::uuid[]) ORDER BY id`, [written])).rows;
    const duplicates = Number((await server.query(`SELECT count(*)::int AS n FROM (SELECT first_name, last_name FROM contacts WHERE id = ANY($1::uuid[]) GROUP BY 1, 2 HAVING count(*) > 1) d`, [written])).rows[0].n);
    const failed = (await a.engine.writer.status()).failed + (await b.engine.writer.status()).failed;
    const view = async (c: { db: LocalDatabase }) => {
      for (let t = 0; t < 100; t++) {
        const rows = (await c.db.pg.query(`SELECT id::text, first_name, last_name, company FROM contacts WHERE id = ANY($1::uuid[]) ORDER BY id`, [written])).rows;
        if (JSON.stringify(rows) === JSON.stringify(serverRows)) return rows;
        await sleep(100);
      }
      return (await c.db.pg.query(`SELECT id::text, first_name, last_name, company FROM contacts WHERE id = ANY($1::uuid[]) ORDER BY id`, [written])).rows;
    };
    const [va, vb] = [await view(a), await view(b)];
    console.log(
      `faults: ${JSON.stringify(faults)}; committed but unanswered when the API was killed: ${committedUnanswered}; writes in: ${written.length} creates (+${edits} edits); ` +
        `rows on the server: ${serverRows.length}; duplicates: ${duplicates}; failed changes: ${failed}; clients equal to the server: ${JSON.stringify(va) === JSON.stringify(serverRows) && JSON.stringify(vb) === JSON.stringify(serverRows)}`,
    );
    expect(committedUnanswered).toBeGreaterThan(0); // the kill did hit writes in flight
    expect(serverRows).toHaveLength(written.length);
    expect(duplicates).toBe(0);
    expect(failed).toBe(0);
    expect(serverRows.filter((r) => Number(String(r.last_name).slice(1)) % 3 === 0).every((r) => r.company === `${r.first_name}-edited`)).toBe(true);
    expect(va).toEqual(serverRows);
    expect(vb).toEqual(serverRows);
    for (const c of [a, b]) {
      await c.engine.stop();
      await c.db.close();
    }
  }, 180_000 * Number(process.env.FAULTS_SCALE ?? 1));
});
