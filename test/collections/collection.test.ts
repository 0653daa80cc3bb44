/**
 * The generated TanStack DB collection over PGlite (no React, no browser): the initial load,
 * writes through the handlers, server rows arriving through the change feed, and the
 * permissions helpers. The browser tests (test/browser) cover the hooks in Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLE_SPEC_TEXT, generateClient } from "../support/generated.js";

type Row = Record<string, unknown> & { id: string; _sync_status: string };
interface Collection {
  preload(): Promise<void>;
  get(key: string): Row | undefined;
  toArray: Row[];
  insert(row: object): { when(state: "settled"): Promise<unknown> };
  update(key: string, fn: (draft: Record<string, unknown>) => void): { when(state: "settled"): Promise<unknown> };
  delete(key: string): { when(state: "settled"): Promise<unknown> };
  subscribeChanges(cb: (changes: { type: string; key: string }[]) => void): { unsubscribe(): void };
}
interface Client {
  createDatabase(): Promise<{ pg: { query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> }; feed: { flush(): Promise<void> }; close(): Promise<void> }>;
  createContactsCollection(db: unknown): Collection;
  canEditField(entity: string, field: string, role: string): boolean;
  editableFields(entity: string, role: string): string[];
}

let client: Client;
let db: Awaited<ReturnType<Client["createDatabase"]>>;
let contacts: Collection;

beforeAll(async () => {
  const out = await generateClient("collections", EXAMPLE_SPEC_TEXT);
  client = (await import(`${out}/index.ts`)) as Client;
  db = await client.createDatabase();
  // The example's contacts are role-checked (x-rbac.roles): this device's user owns one household.
  const household = crypto.randomUUID();
  await db.pg.query(`INSERT INTO household_members_synced (id, user_id, household_id, role) VALUES (gen_random_uuid(), gen_random_uuid(), $1, 'owner')`, [household]);
  await db.pg.query(`INSERT INTO contacts_synced (id, first_name, last_name, created_at, updated_at, household_id) VALUES (gen_random_uuid(), 'Grace', 'Hopper', now(), now(), $1)`, [household]);
  contacts = client.createContactsCollection(db);
  await contacts.preload();
}, 60_000);
afterAll(async () => db?.close());

const until = async (check: () => boolean, ms = 5000) => {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("a collection over the contacts view", () => {
  it("loads the view's rows, with their sync status and API-typed values", () => {
    const grace = contacts.toArray.find((r) => r.first_name === "Grace")!;
    expect(grace._sync_status).toBe("synced");
    expect(typeof grace.created_at).toBe("string");
  });

  it("an insert without _sync_status (read-only) shows as pending at once, then as the view has it", async () => {
    const id = crypto.randomUUID();
    const tx = contacts.insert({ id, first_name: "Mary", last_name: "Somerville" });
    expect(contacts.get(id)?._sync_status).toBe("pending");
    await tx.when("settled");
    expect(contacts.get(id)?._sync_status).toBe("pending");
    const [row] = (await db.pg.query(`SELECT "_sync_status" FROM contacts WHERE id = $1`, [id])).rows;
    expect(row?._sync_status).toBe("pending");
  });

  it("an insert shows at once, is queued in the local database, and stays without a flicker", async () => {
    const events: string[] = [];
    const subscription = contacts.subscribeChanges((changes) => events.push(...changes.map((c) => c.type)));
    const id = crypto.randomUUID();
    const tx = contacts.insert({ id, first_name: "Ada", last_name: "Lovelace", _sync_status: "pending" });
    expect(contacts.get(id)?.first_name).toBe("Ada");
    await tx.when("settled");
    expect((await db.pg.query(`SELECT op, status FROM "_changes" WHERE row_key = $1`, [id])).rows).toEqual([{ op: "insert", status: "pending" }]);
    expect(contacts.get(id)?._sync_status).toBe("pending");
    expect(events.filter((e) => e === "delete")).toEqual([]);
    subscription.unsubscribe();
  });

  it("updates and deletes go through the view", async () => {
    const id = crypto.randomUUID();
    await contacts.insert({ id, first_name: "Temp", last_name: "Row", _sync_status: "pending" }).when("settled");
    await contacts.update(id, (d) => void (d.email = "temp@example.com")).when("settled");
    expect((await db.pg.query(`SELECT email FROM contacts WHERE id = $1`, [id])).rows).toEqual([{ email: "temp@example.com" }]);
    await contacts.delete(id).when("settled");
    expect((await db.pg.query(`SELECT count(*)::int AS n FROM contacts WHERE id = $1`, [id])).rows).toEqual([{ n: 0 }]);
    expect(contacts.get(id)).toBeUndefined();
  });

  it("server rows arriving in the synced table reach the collection through the feed", async () => {
    const id = crypto.randomUUID();
    await db.pg.query(`INSERT INTO contacts_synced (id, first_name, last_name) VALUES ($1, 'From', 'Server')`, [id]);
    await until(() => contacts.get(id)?.first_name === "From");
    await db.pg.query(`UPDATE contacts_synced SET first_name = 'Changed' WHERE id = $1`, [id]);
    await until(() => contacts.get(id)?.first_name === "Changed");
    await db.pg.query(`DELETE FROM contacts_synced WHERE id = $1`, [id]);
    await until(() => contacts.get(id) === undefined);
  });
});

describe("permissions (x-rbac, x-owner-only)", () => {
  const cases: [string, { given: [string, string, string]; want: boolean }][] = [
    ["an editor may edit a field of a group it has", { given: ["contacts", "email", "editor"], want: true }],
    ["a viewer may not edit a grouped field", { given: ["contacts", "email", "viewer"], want: false }],
    ["an x-owner-only field needs the owner", { given: ["contacts", "credit_limit", "editor"], want: false }],
    ["the owner may edit it", { given: ["contacts", "credit_limit", "owner"], want: true }],
    ["a field in no group is editable by every role with a field group", { given: ["contacts", "company", "editor"], want: true }],
    ["a role with no field group is read-only, ungrouped fields too", { given: ["contacts", "company", "viewer"], want: false }],
    ["a viewer is read-only on accounts too (x-rbac there, no field groups)", { given: ["accounts", "name", "viewer"], want: false }],
  ];
  for (const [name, { given, want }] of cases) it(name, () => expect(client.canEditField(...given)).toBe(want));

  it("editableFields lists what a role may edit", () => {
    expect(client.editableFields("contacts", "viewer")).not.toContain("first_name");
    expect(client.editableFields("contacts", "editor")).toEqual(expect.arrayContaining(["first_name", "email", "company"]));
    expect(client.editableFields("contacts", "editor")).not.toContain("credit_limit");
  });
});
