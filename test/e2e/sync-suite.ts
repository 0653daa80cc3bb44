/**
 * The end-to-end sync suite, shared by sync.test.ts (Postgres + the shape-protocol test double)
 * and real-electric.test.ts (real Electric when ELECTRIC_URL and DATABASE_URL are set).
 *
 * The whole loop with real parts: PostgreSQL (logical replication on), the finance-tracker
 * backend, the Electric shape protocol served from Postgres (test double, see
 * packages/shape-server/README.md), and the generated client in Node with a file-backed PGlite.
 */
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_USERS } from "../../examples/finance-tracker/server/auth.js";
import { createServer, type RunningServer } from "../../examples/finance-tracker/server/server.js";

/** The example server's keys are per user: stored as "<user id>:<Idempotency-Key>" (the default user is Ada). */
const DEFAULT_USER_ID = DEMO_USERS[0].id;
import { EXAMPLE_SPEC_TEXT, generateClient } from "../support/generated.js";
import { REPO } from "../support/project.js";
import type { LocalDatabase, Row, Engine, SyncClient as Client } from "../support/sync-client.js";


export interface SyncStack {
  databaseUrl: string;
  /** Electric's shape endpoint (real, or the test double). */
  shapeUrl: string;
  /** Forces a must-refetch of a table's shapes; absent when the server cannot be told to. */
  rotate?: (table: string) => void;
  stop(): Promise<void>;
}

/** The end-to-end suite, run against the stack `start` provides. */
export function syncSuite(label: string, start: () => Promise<SyncStack>): void {
  describe(label, () => {
    let databaseUrl: string;
    let backend: RunningServer;
    let backendPort: number;
    let stack: SyncStack;
    let client: Client;
    let server: pg.Client;
    const dataRoot = path.join(REPO, ".cache/pgdata", `e2e-${process.pid}`);
    const open: { db: LocalDatabase; engine: Engine }[] = [];

    beforeAll(async () => {
      stack = await start();
      databaseUrl = stack.databaseUrl;
      backend = await createServer({ databaseUrl, defaultUser: "ada@example.com", port: 0, host: "127.0.0.1", faults: true, log: () => {} });
      backendPort = Number(new URL(backend.url).port);
      server = new pg.Client(databaseUrl);
      await server.connect();
      const out = await generateClient("e2e", EXAMPLE_SPEC_TEXT);
      client = (await import(`${out}/index.ts`)) as Client;
      fs.mkdirSync(dataRoot, { recursive: true });
    }, 120_000);

    afterAll(async () => {
      for (const c of open.splice(0)) {
        await c.engine.stop().catch(() => {});
        await c.db.close().catch(() => {});
      }
      await stack?.stop();
      await backend?.close();
      await server?.end();
      fs.rmSync(dataRoot, { recursive: true, force: true });
    });

    async function connect(name: string): Promise<{ db: LocalDatabase; engine: Engine }> {
      const db = await client.createDatabase({ dataDir: path.join(dataRoot, name) });
      const engine = await client.startSync({ db, apiUrl: backend.url, electricUrl: stack.shapeUrl, backoff: { initialMs: 50, maxMs: 400 } });
      await engine.ready;
      const c = { db, engine };
      open.push(c);
      return c;
    }

    async function disconnect(c: { db: LocalDatabase; engine: Engine }): Promise<void> {
      open.splice(open.indexOf(c), 1);
      await c.engine.stop();
      await c.db.close();
    }

    async function eventually<T>(check: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
      const start = Date.now();
      let last: unknown;
      for (;;) {
        try {
          return await check();
        } catch (e) {
          last = e;
        }
        if (Date.now() - start > timeoutMs) throw last;
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    const local = async (c: { db: LocalDatabase }, sql: string, params: unknown[] = []) => (await c.db.pg.query(sql, params)).rows;
    const remote = async (sql: string, params: unknown[] = []) => (await server.query(sql, params)).rows as Row[];
    const lastChangeId = async (c: { db: LocalDatabase }, key: string) =>
      (await local(c, `SELECT change_id FROM "_changes" WHERE row_key = $1 ORDER BY seq DESC LIMIT 1`, [key]))[0]!.change_id as string;

    describe("optimistic writes (contacts)", () => {
      it("create, update and delete show locally at once, reach Postgres, sync back, and leave no overlay", async () => {
        const a = await connect("optimistic");
        const [row] = await local(a, `INSERT INTO contacts (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com') RETURNING id, _sync_status`);
        const id = row!.id as string;
        expect(row!._sync_status).toBe("pending");
        await eventually(async () => expect(await remote(`SELECT first_name, email FROM contacts WHERE id = $1`, [id])).toEqual([{ first_name: "Ada", email: "ada@example.com" }]));
        await eventually(async () => expect(await local(a, `SELECT _sync_status FROM contacts WHERE id = $1`, [id])).toEqual([{ _sync_status: "synced" }]));
        expect(await local(a, `SELECT * FROM contacts_local WHERE id = $1`, [id])).toEqual([]);

        await local(a, `UPDATE contacts SET email = NULL, company = 'Analytical Engines' WHERE id = $1`, [id]);
        expect(await local(a, `SELECT email, company FROM contacts WHERE id = $1`, [id])).toEqual([{ email: null, company: "Analytical Engines" }]);
        await eventually(async () => expect(await remote(`SELECT email, company FROM contacts WHERE id = $1`, [id])).toEqual([{ email: null, company: "Analytical Engines" }]));
        await eventually(async () => expect(await local(a, `SELECT _sync_status FROM contacts WHERE id = $1`, [id])).toEqual([{ _sync_status: "synced" }]));

        await local(a, `DELETE FROM contacts WHERE id = $1`, [id]);
        expect(await local(a, `SELECT * FROM contacts WHERE id = $1`, [id])).toEqual([]);
        await eventually(async () => expect(await remote(`SELECT id FROM contacts WHERE id = $1`, [id])).toEqual([]));
        await eventually(async () => expect(await local(a, `SELECT * FROM contacts_local WHERE id = $1`, [id])).toEqual([]));
        await disconnect(a);
      });
    });

    describe("confirmed writes (accounts)", () => {
      it("a confirmed create resolves only once its txid came back through the shape stream", async () => {
        const a = await connect("confirmed");
        const [row] = await local(a, `INSERT INTO accounts (name, kind, currency) VALUES ('Main', 'checking', 'EUR') RETURNING id`);
        const id = row!.id as string;
        await a.engine.writer.waitForChange(await lastChangeId(a, id), 15_000);
        // At the moment it resolved, the server's row was already in the synced table.
        expect(await local(a, `SELECT name, balance FROM accounts_synced WHERE id = $1`, [id])).toEqual([{ name: "Main", balance: expect.stringMatching(/^0(\.0+)?$/) }]);
        expect(await local(a, `SELECT _sync_status FROM accounts WHERE id = $1`, [id])).toEqual([{ _sync_status: "synced" }]);
        const [{ txid }] = (await local(a, `SELECT txid FROM "_changes" WHERE row_key = $1`, [id])) as [{ txid: string }];
        expect(Number(txid)).toBeGreaterThan(0);
        await disconnect(a);
      });

      it("a rejected confirmed create rejects with the server's error and leaves no row", async () => {
        const a = await connect("confirmed-rejected");
        const [row] = await local(a, `INSERT INTO accounts (name, kind, currency) VALUES ('Bad', 'checking', 'euro') RETURNING id`);
        const id = row!.id as string;
        await expect(a.engine.writer.waitForChange(await lastChangeId(a, id), 15_000)).rejects.toThrow(/422/);
        expect(await local(a, `SELECT * FROM accounts WHERE id = $1`, [id])).toEqual([]);
        expect(await remote(`SELECT * FROM accounts WHERE id = $1`, [id])).toEqual([]);
        await disconnect(a);
      });
    });

    describe("rejections and the queue", () => {
      it("a rejected change is rolled back alone; the changes around it go through", async () => {
        const a = await connect("reject-one");
        const [acct] = await local(a, `INSERT INTO accounts (name, kind, currency) VALUES ('Wallet', 'cash', 'EUR') RETURNING id`);
        const before = (await local(a, `INSERT INTO contacts (first_name, last_name) VALUES ('Before', 'One') RETURNING id`))[0]!.id;
        const bad = (await local(a, `INSERT INTO transactions (account_id, amount, occurred_on) VALUES ($1, '0', '2026-11-24') RETURNING id`, [acct!.id]))[0]!.id;
        const after = (await local(a, `INSERT INTO contacts (first_name, last_name) VALUES ('After', 'Two') RETURNING id`))[0]!.id;
        await eventually(async () => expect((await remote(`SELECT first_name FROM contacts WHERE id = ANY($1::uuid[]) ORDER BY first_name`, [[before, after]])).map((r) => r.first_name)).toEqual(["After", "Before"]));
        await eventually(async () => expect(await local(a, `SELECT * FROM transactions WHERE id = $1`, [bad])).toEqual([]));
        const failed = await a.engine.writer.failedChanges();
        expect(failed.map((f) => f.entity)).toEqual(["transactions"]);
        expect(failed[0]!.last_error).toMatch(/^422/);
        expect(await remote(`SELECT * FROM transactions WHERE id = $1`, [bad])).toEqual([]);
        await disconnect(a);
      });

      // SPEC W1, W6
      it("with the backend down, writes queue and survive a client restart; then drain in order, exactly once", async () => {
        let a = await connect("offline");
        await backend.close();
        const x = (await local(a, `INSERT INTO contacts (first_name, last_name) VALUES ('X', 'v1') RETURNING id`))[0]!.id;
        await local(a, `UPDATE contacts SET last_name = 'v2' WHERE id = $1`, [x]);
        const y = (await local(a, `INSERT INTO contacts (first_name, last_name) VALUES ('Y', 'gone') RETURNING id`))[0]!.id;
        await local(a, `UPDATE contacts SET last_name = 'v3' WHERE id = $1`, [x]);
        await local(a, `DELETE FROM contacts WHERE id = $1`, [y]);
        await eventually(async () => expect((await a.engine.writer.status()).online).toBe(false));
        expect((await a.engine.writer.status()).queued).toBe(5);
        // The client restarts (same data directory) while the backend is still down.
        await disconnect(a);
        a = await connect("offline");
        expect(await local(a, `SELECT last_name, _sync_status FROM contacts WHERE id = $1`, [x])).toEqual([{ last_name: "v3", _sync_status: "pending" }]);
        expect((await a.engine.writer.status()).queued).toBe(5);
        backend = await createServer({ databaseUrl, defaultUser: "ada@example.com", port: backendPort, host: "127.0.0.1", faults: true, log: () => {} });
        await eventually(async () => expect((await a.engine.writer.status()).queued).toBe(0), 30_000);
        expect(await remote(`SELECT first_name, last_name FROM contacts WHERE id = ANY($1::uuid[])`, [[x, y]])).toEqual([{ first_name: "X", last_name: "v3" }]);
        expect(await remote(`SELECT count(*)::int AS n FROM idempotency_keys WHERE key IN (SELECT $2 || ':' || change_id::text FROM json_to_recordset($1::json) AS c(change_id uuid))`, [JSON.stringify(await local(a, `SELECT change_id FROM "_changes" WHERE row_key = ANY($1)`, [[x, y]])), DEFAULT_USER_ID])).toEqual([{ n: 5 }]);
        await disconnect(a);
      }, 90_000);

      // SPEC W2
      it("a response lost after the server committed is retried with the same key and applied once", async () => {
        const a = await connect("lost-response");
        backend.faults!.dropNextAfterCommit(1);
        const id = (await local(a, `INSERT INTO contacts (first_name, last_name) VALUES ('Once', 'Only') RETURNING id`))[0]!.id;
        await eventually(async () => expect(await local(a, `SELECT _sync_status FROM contacts WHERE id = $1`, [id])).toEqual([{ _sync_status: "synced" }]));
        expect(await remote(`SELECT count(*)::int AS n FROM contacts WHERE first_name = 'Once'`)).toEqual([{ n: 1 }]);
        expect(Number((await local(a, `SELECT attempts FROM "_changes" WHERE row_key = $1`, [id]))[0]!.attempts)).toBeGreaterThanOrEqual(2);
        await disconnect(a);
      });
    });

    describe("two clients", () => {
      it("each sees the other's writes; concurrent edits of one row end as the server decided, on both", async () => {
        const a = await connect("two-a");
        const b = await connect("two-b");
        const id = (await local(a, `INSERT INTO contacts (first_name, last_name) VALUES ('Shared', 'Row') RETURNING id`))[0]!.id;
        await eventually(async () => expect(await local(b, `SELECT first_name FROM contacts WHERE id = $1`, [id])).toEqual([{ first_name: "Shared" }]));
        await Promise.all([local(a, `UPDATE contacts SET company = 'from A' WHERE id = $1`, [id]), local(b, `UPDATE contacts SET company = 'from B' WHERE id = $1`, [id])]);
        await eventually(async () => {
          const [winner] = await remote(`SELECT company FROM contacts WHERE id = $1`, [id]);
          expect(await local(a, `SELECT company, _sync_status FROM contacts WHERE id = $1`, [id])).toEqual([{ company: winner!.company, _sync_status: "synced" }]);
          expect(await local(b, `SELECT company, _sync_status FROM contacts WHERE id = $1`, [id])).toEqual([{ company: winner!.company, _sync_status: "synced" }]);
        });
        await disconnect(a);
        await disconnect(b);
      }, 60_000);
    });

    describe.skipIf(process.env.ELECTRIC_URL)("must-refetch", () => {
      it("a shape re-fetch mid-session keeps pending local writes, which then sync", async () => {
        const a = await connect("refetch");
        const existing = (await local(a, `INSERT INTO contacts (first_name, last_name) VALUES ('Kept', 'Row') RETURNING id`))[0]!.id;
        await eventually(async () => expect(await local(a, `SELECT _sync_status FROM contacts WHERE id = $1`, [existing])).toEqual([{ _sync_status: "synced" }]));
        backend.faults!.failNextWrites(1000, 0);
        await local(a, `UPDATE contacts SET company = 'pending edit' WHERE id = $1`, [existing]);
        const fresh = (await local(a, `INSERT INTO contacts (first_name, last_name) VALUES ('Fresh', 'Insert') RETURNING id`))[0]!.id;
        stack.rotate!("contacts");
        await eventually(async () => expect((await local(a, `SELECT count(*)::int AS n FROM contacts_synced`))[0]!.n).toBeGreaterThan(0));
        expect(await local(a, `SELECT company, _sync_status FROM contacts WHERE id = $1`, [existing])).toEqual([{ company: "pending edit", _sync_status: "pending" }]);
        expect(await local(a, `SELECT first_name FROM contacts WHERE id = $1`, [fresh])).toEqual([{ first_name: "Fresh" }]);
        backend.faults!.reset();
        await eventually(async () => expect(await local(a, `SELECT company, _sync_status FROM contacts WHERE id = $1`, [existing])).toEqual([{ company: "pending edit", _sync_status: "synced" }]), 30_000);
        expect(await remote(`SELECT first_name FROM contacts WHERE id = $1`, [fresh])).toEqual([{ first_name: "Fresh" }]);
        await disconnect(a);
      }, 60_000);
    });
  });
}
