/**
 * Issue #5's stall: at 100k rows, a contact created in a burst of back-to-back clicks sometimes
 * reached the list's live query only seconds later, although the collection had it at once.
 * Cause: the list orders by created_at desc, nulls first, then by key; created_at is assigned by
 * the server, so every create still waiting for the server has NULL there, and random (v4) keys
 * put a new one at a random place among them. With more unconfirmed creates than the list's
 * limit, it could land below the first page until enough earlier creates were confirmed.
 * The create hooks now make time-ordered keys (uuidv7); this test runs the app's list query over
 * the generated collection with handlers as slow as PGlite on idb:// (so transactions overlap)
 * and more unconfirmed creates than the limit.
 */
import { createLiveQueryCollection } from "@tanstack/react-db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLE_SPEC_TEXT, generateClient } from "../support/generated.js";
import { REPO } from "../support/project.js";

type Row = Record<string, unknown> & { id: string; created_at: string | null };
interface Pg {
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}
interface Client {
  createDatabase(): Promise<{ pg: Pg; feed: { flush(): Promise<void> }; close(): Promise<void> }>;
  createContactsCollection(db: unknown): {
    preload(): Promise<void>;
    insert(row: object): { when(state: "settled"): Promise<unknown> };
  };
  uuidv7(): string;
}

const LIMIT = 10;
const CREATES = 3 * LIMIT;
/** Each query waits for the previous one and costs this much more, like PGlite on idb:// (~50 ms there). */
const QUERY_MS = 5;

type ListQuery = (limit: number) => (q: never) => never;
let newestContacts: ListQuery;
let client: Client;
let db: Awaited<ReturnType<Client["createDatabase"]>>;

beforeAll(async () => {
  const out = await generateClient("newest-first", EXAMPLE_SPEC_TEXT);
  client = (await import(`${out}/index.ts`)) as Client;
  // The app's own list query (examples/finance-tracker/app/src/queries.ts); imported by path so
  // that this project's type-check does not pull in the app (it is type-checked with DOM types).
  ({ newestContacts } = (await import(`${REPO}/examples/finance-tracker/app/src/queries.ts`)) as { newestContacts: ListQuery });
  db = await client.createDatabase();
  // The example's contacts are role-checked (x-rbac.roles): this device's user owns one household.
  await db.pg.query(`INSERT INTO household_members_synced (id, user_id, household_id, role) VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'owner')`);
}, 60_000);
afterAll(async () => db?.close());

describe("keys of new rows (uuidv7)", () => {
  it("are version 7 UUIDs that sort as strings in the order they were made, also within a millisecond", () => {
    const keys = Array.from({ length: 10_000 }, () => client.uuidv7());
    for (const k of keys) expect(k).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const sorted = [...keys].sort();
    expect(sorted).toEqual(keys);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("carry the time they were made", () => {
    const before = Date.now();
    const ms = parseInt(client.uuidv7().replace(/-/g, "").slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now() + 1);
  });
});

describe("the app's contact list (newest first) while creates wait for the server", () => {
  it(`shows every new contact as its first row at once, also with more than ${LIMIT} (the limit) unconfirmed creates`, async () => {
    await db.pg.query(
      `INSERT INTO contacts_synced (id, first_name, last_name, created_at, updated_at)
       SELECT gen_random_uuid(), 'First' || i, 'Last' || i, now() - i * interval '1 second', now() FROM generate_series(1, 1000) AS i`,
    );
    await new Promise((r) => setTimeout(r, 50));
    await db.feed.flush();
    const contacts = client.createContactsCollection(db);
    await contacts.preload();
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(" "));
    const list = createLiveQueryCollection({ query: (q) => newestContacts(LIMIT)(q.from({ contact: contacts as never }) as never), startSync: true });
    await list.preload();
    console.warn = warn;
    // The collection indexes what the list orders by: TanStack DB has nothing to warn about.
    expect(warnings.filter((w) => w.includes("[TanStack DB]"))).toEqual([]);

    // Slow, serialised queries: the handlers of back-to-back creates overlap, as in the browser.
    const query = db.pg.query.bind(db.pg);
    let previous: Promise<unknown> = Promise.resolve();
    db.pg.query = (sql, params) => {
      const run = previous.then(async () => {
        await new Promise((r) => setTimeout(r, QUERY_MS));
        return query(sql, params);
      });
      previous = run.catch(() => undefined);
      return run;
    };
    try {
      const missed: string[] = [];
      const settled: Promise<unknown>[] = [];
      for (let i = 0; i < CREATES; i++) {
        // The create hooks' key; nobody confirms these creates, so created_at stays NULL.
        const id = client.uuidv7();
        settled.push(contacts.insert({ id, first_name: "New", last_name: `N${i}`, _sync_status: "pending" }).when("settled"));
        const first = (list.toArray as unknown as Row[])[0];
        if (first?.id !== id) missed.push(`create ${i + 1}: first row is ${first?.last_name}`);
        await new Promise((r) => setTimeout(r, 2));
      }
      expect(missed).toEqual([]);
      await Promise.all(settled);
      const rows = list.toArray as unknown as Row[];
      expect(rows.map((r) => r.last_name)).toEqual(Array.from({ length: LIMIT }, (_, i) => `N${CREATES - 1 - i}`));
      expect(rows.every((r) => r.created_at === null && r._sync_status === "pending")).toBe(true);
    } finally {
      db.pg.query = query;
    }
  }, 60_000);
});
