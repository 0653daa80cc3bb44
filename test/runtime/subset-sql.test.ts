/**
 * On-demand loading (templates/runtime/subset-sql.ts and the collection's loadSubset), SPEC
 * section D: over one in-memory PGlite, every live query gives the same rows from an on-demand
 * collection as from an eager one, while the on-demand one reads only what its queries show.
 * Columns of every codec the pushdown treats differently, a hostile column name, nulls, ties on
 * the order column, unicode text; changes through the change feed afterwards (D4).
 */
import { PGlite } from "@electric-sql/pglite";
import { and, createCollection, createLiveQueryCollection, eq, gt, gte, ilike, inArray, isNull, like, lt, lte, not, or, type Collection } from "@tanstack/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgliteCollectionOptions } from "../../templates/runtime/collection.js";
import { ChangeFeed, migrate, type EntityDescription, type LocalSchema } from "../../templates/runtime/local-db.js";
import { planSubset } from "../../templates/runtime/subset-sql.js";
import { entitySpec, generateClient } from "../support/generated.js";

interface Thing {
  id: string;
  name: string | null;
  qty: number | null;
  price: string | null;
  done: boolean | null;
  day: string | null;
  created_at: string | null;
  tags: string[] | null;
  select: string | null;
  _sync_status: string;
}

const ROWS = 400;
let pg: PGlite;
let feed: ChangeFeed;
let entity: EntityDescription;
let eager: Collection<Thing, string>;
let onDemand: Collection<Thing, string>;

const NAMES = ["alice", "Bob", "bob", "Émile", "zoë", "𝒜strid", "o'brien", "a*/b", null];

beforeAll(async () => {
  const out = await generateClient(
    "runtime-subset",
    entitySpec({
      fields: `        name: { type: [string, "null"] }
        qty: { type: [integer, "null"] }
        price: { type: [string, "null"], format: decimal }
        done: { type: [boolean, "null"] }
        day: { type: [string, "null"], format: date }
        created_at: { type: [string, "null"], format: date-time }
        tags: { type: [array, "null"], items: { type: string } }
        select: { type: [string, "null"] }`,
    }),
  );
  const schema = ((await import(`${out}/db/schema.ts`)) as { LOCAL_SCHEMA: LocalSchema }).LOCAL_SCHEMA;
  entity = ((await import(`${out}/sync/entities.ts`)) as { ENTITIES: readonly EntityDescription[] }).ENTITIES[0]!;
  pg = new PGlite();
  await migrate(pg, schema);
  // Ties: every 7 rows share a created_at (same millisecond); some created_at differ only below a millisecond.
  await pg.query(
    `INSERT INTO things_synced (id, name, qty, price, done, day, created_at, tags, "select")
     SELECT gen_random_uuid(),
            (ARRAY[${NAMES.map((n) => (n === null ? "NULL" : `'${n.replace(/'/g, "''")}'`)).join(", ")}])[1 + i % ${NAMES.length}],
            CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 37) % 50 - 10 END,
            CASE WHEN i % 13 = 0 THEN NULL ELSE ((i * 7) % 200)::numeric / 4 END,
            CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END,
            CASE WHEN i % 17 = 0 THEN NULL ELSE date '2026-01-01' + (i % 40) END,
            CASE WHEN i % 97 = 0 THEN NULL ELSE timestamptz '2026-12-01 10:00:00+00' + ((i / 7) * interval '1 second') + ((i % 3) * interval '1 microsecond') END,
            CASE WHEN i % 3 = 0 THEN NULL ELSE jsonb_build_array('t' || (i % 4)) END,
            'sel ' || (i % 9)
     FROM generate_series(1, ${ROWS}) AS i`,
  );
  feed = new ChangeFeed(pg, [entity]);
  await feed.start();
  eager = createCollection(pgliteCollectionOptions<Thing>({ pg, feed, entity, id: "eager" })) as unknown as Collection<Thing, string>;
  onDemand = createCollection(pgliteCollectionOptions<Thing>({ pg, feed, entity, id: "on-demand", syncMode: "on-demand" })) as unknown as Collection<Thing, string>;
}, 120_000);

afterAll(async () => {
  await pg?.close();
});

type Query = (c: Collection<Thing, string>) => Parameters<typeof createLiveQueryCollection>[0];

/** The rows a live query shows over `collection`, in its order. */
async function rows(collection: Collection<Thing, string>, query: Query): Promise<Thing[]> {
  const live = createLiveQueryCollection(query(collection));
  await live.preload();
  // Without TanStack DB's virtual props ($collectionId, $key, …): the rows themselves.
  const result = (live.toArray as unknown as Thing[]).map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith("$"))) as Thing);
  await live.cleanup();
  return result;
}

async function same(query: Query): Promise<Thing[]> {
  const expected = await rows(eager, query);
  const got = await rows(onDemand, query);
  expect(got).toEqual(expected);
  return got;
}

const QUERIES: [string, Query][] = [
  ["eq on text", (c) => ({ query: (q) => q.from({ t: c }).where(({ t }) => eq(t.name, "bob")) })],
  ["comparisons on an integer, flipped", (c) => ({ query: (q) => q.from({ t: c }).where(({ t }) => and(gt(t.qty, 5), lte(10, t.qty))) })],
  ["or / not / isNull", (c) => ({ query: (q) => q.from({ t: c }).where(({ t }) => or(isNull(t.qty), not(eq(t.done, true)))) })],
  ["in on text, with quotes", (c) => ({ query: (q) => q.from({ t: c }).where(({ t }) => inArray(t.name, ["o'brien", "a*/b", "zoë"])) })],
  ["numeric text compared as text", (c) => ({ query: (q) => q.from({ t: c }).where(({ t }) => gt(t.price, "20")) })],
  ["date and timestamp compared as their text", (c) => ({ query: (q) => q.from({ t: c }).where(({ t }) => and(gte(t.day, "2026-01-20"), lt(t.created_at, "2026-12-01T10:00:20.000Z"))) })],
  ["like / ilike (loaded as a superset)", (c) => ({ query: (q) => q.from({ t: c }).where(({ t }) => or(like(t.name, "b%"), ilike(t.name, "É%"))) })],
  ["the hostile column name", (c) => ({ query: (q) => q.from({ t: c }).where(({ t }) => eq(t.select, "sel 3")) })],
  ["newest first with ties, limit 10", (c) => ({ query: (q) => q.from({ t: c }).orderBy(({ t }) => t.created_at, "desc").orderBy(({ t }) => t.id).limit(10) })],
  ["nulls first, limit 5", (c) => ({ query: (q) => q.from({ t: c }).orderBy(({ t }) => t.qty, { direction: "asc", nulls: "first" }).orderBy(({ t }) => t.id).limit(5) })],
  ["text, lexical order, limit 12", (c) => ({ query: (q) => q.from({ t: c }).orderBy(({ t }) => t.name, { stringSort: "lexical" }).orderBy(({ t }) => t.id).limit(12) })],
  ["text, locale order (not pushed down), limit 12", (c) => ({ query: (q) => q.from({ t: c }).orderBy(({ t }) => t.name).orderBy(({ t }) => t.id).limit(12) })],
  ["numeric text order, limit 6", (c) => ({ query: (q) => q.from({ t: c }).orderBy(({ t }) => t.price, "desc").orderBy(({ t }) => t.id).limit(6) })],
  ["filtered, ordered, limited, offset", (c) => ({ query: (q) => q.from({ t: c }).where(({ t }) => eq(t.done, false)).orderBy(({ t }) => t.day).orderBy(({ t }) => t.id).limit(8).offset(16) })],
];

// SPEC D1–D3
describe("D1–D3: an on-demand collection shows what an eager one shows", () => {
  it.each(QUERIES)("%s", async (_name, query) => {
    await same(query);
  });

  it("a limited window reads a fraction of the table; the next page extends it", async () => {
    const fresh = createCollection(pgliteCollectionOptions<Thing>({ pg, feed, entity, id: "fresh", syncMode: "on-demand" })) as unknown as Collection<Thing, string>;
    // Lexical: TanStack DB continues a window by a cursor only on lexically sorted strings (else it loads the whole source).
    const page = (n: number): Query => (c) => ({ query: (q) => q.from({ t: c }).orderBy(({ t }) => t.created_at, { direction: "desc", stringSort: "lexical" }).orderBy(({ t }) => t.id).limit(n) });
    expect(await rows(fresh, page(20))).toEqual(await rows(eager, page(20)));
    const after = fresh.size;
    expect(after).toBeGreaterThanOrEqual(20);
    expect(after).toBeLessThan(ROWS / 4);
    expect(await rows(fresh, page(40))).toEqual(await rows(eager, page(40)));
    expect(fresh.size).toBeLessThan(ROWS / 2);
  });

  it("what cannot be said in SQL loads a superset, never a subset", () => {
    const plan = (where: Parameters<typeof planSubset>[1]["where"]) => planSubset(entity, { where });
    const ref = (name: string) => ({ type: "ref", path: [name] }) as never;
    const val = (value: unknown) => ({ type: "val", value }) as never;
    const fn = (name: string, ...args: unknown[]) => ({ type: "func", name, args }) as never;
    expect(plan(fn("like", ref("name"), val("b%")))).toMatchObject({ exact: false, sql: expect.stringMatching(/WHERE TRUE$/) });
    expect(plan(fn("not", fn("like", ref("name"), val("b%"))))).toMatchObject({ exact: false, sql: expect.stringMatching(/WHERE TRUE$/) });
    expect(plan(fn("eq", ref("tags"), val(["t1"])))).toMatchObject({ exact: false });
    expect(plan(fn("eq", ref("nested", ), val(1)))).toMatchObject({ exact: false });
    expect(plan(fn("gt", ref("created_at"), val(new Date())))).toMatchObject({ exact: false });
    // Values Postgres would read otherwise, or refuse, for a uuid, date or timestamp column: not pushed down (no error either).
    expect(plan(fn("eq", ref("id"), val("NOT-A-UUID")))).toMatchObject({ exact: false });
    expect(plan(fn("eq", ref("day"), val("2026-02-30")))).toMatchObject({ exact: false });
    expect(plan(fn("gt", ref("created_at"), val("yesterday")))).toMatchObject({ exact: false });
    expect(plan(fn("gt", ref("created_at"), val("2026-12-01T10:00:00Z")))).toMatchObject({ exact: false });
    expect(plan(fn("gt", ref("created_at"), val("2026-12-01T10:00:00.000Z")))).toMatchObject({ exact: true });
    // A value is a parameter, never SQL text.
    const hostile = plan(fn("eq", ref("name"), val("x'); DROP TABLE things_synced; --")));
    expect(hostile.sql).not.toContain("DROP");
    expect(hostile.params).toEqual(["x'); DROP TABLE things_synced; --"]);
  });
});

// SPEC D4
describe("D4: changes reach an on-demand collection through the change feed", () => {
  const newest: Query = (c) => ({ query: (q) => q.from({ t: c }).orderBy(({ t }) => t.created_at, { direction: "desc", stringSort: "lexical" }).orderBy(({ t }) => t.id).limit(10) });

  it("an edit of a shown row, a new row at the top, a delete, and a burst of new rows: the window stays equal to the eager one", async () => {
    const eagerLive = createLiveQueryCollection(newest(eager));
    const demandLive = createLiveQueryCollection(newest(onDemand));
    await Promise.all([eagerLive.preload(), demandLive.preload()]);
    const shown = () => (demandLive.toArray as unknown as Thing[]).map((r) => r.id);
    const expected = () => (eagerLive.toArray as unknown as Thing[]).map((r) => r.id);
    const top = shown()[0]!;
    await pg.query(`UPDATE things_synced SET name = 'edited' WHERE id = $1`, [top]);
    await pg.query(`INSERT INTO things_synced (id, name, created_at) VALUES (gen_random_uuid(), 'newest', '2027-01-01T00:00:00Z')`);
    await pg.query(`DELETE FROM things_synced WHERE id = $1`, [shown()[3]!]);
    await feed.flush();
    await expect.poll(() => shown()).toEqual(expected());
    expect((demandLive.toArray as unknown as Thing[]).map((r) => r.name)).toContain("edited");
    expect((demandLive.toArray as unknown as Thing[]).map((r) => r.name)).toContain("newest");
    // More new rows than are written one by one: the window loads again from the database.
    await pg.query(`INSERT INTO things_synced (id, name, created_at) SELECT gen_random_uuid(), 'burst ' || i, timestamptz '2027-02-01 00:00:00+00' + i * interval '1 second' FROM generate_series(1, 200) AS i`);
    await feed.flush();
    await expect.poll(() => shown()).toEqual(expected());
    expect((demandLive.toArray as unknown as Thing[]).map((r) => r.name)).toContain("burst 200");
    expect(onDemand.size).toBeLessThan(eager.size);

    // A reload of the whole entity (a shape re-fetch: the table replaced in bulk): the collection is
    // truncated, and TanStack DB loads the windows again before it shows the result: never an empty list.
    const sizes: number[] = [];
    const watching = demandLive.subscribeChanges(() => sizes.push(demandLive.size));
    const gone = shown()[1]!;
    await pg.transaction(async (tx) => {
      await tx.query(`SET LOCAL sp.bulk = 'on'`);
      await tx.query(`DELETE FROM things_synced WHERE id = $1`, [gone]);
      await tx.query(`UPDATE things_synced SET name = 'after the re-fetch' WHERE id = $1`, [shown()[2]!]);
    });
    await feed.flush();
    await expect.poll(() => shown()).toEqual(expected());
    expect(shown()).not.toContain(gone);
    expect((demandLive.toArray as unknown as Thing[]).map((r) => r.name)).toContain("after the re-fetch");
    expect(sizes.filter((n) => n === 0)).toEqual([]);
    watching.unsubscribe();
    await Promise.all([eagerLive.cleanup(), demandLive.cleanup()]);
  });
});
