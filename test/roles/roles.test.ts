/**
 * Roles end to end: real PostgreSQL, the shape-protocol double, the roles tests' own backend
 * (./backend.ts: the REST API checking every write with sync-patterns/server's checkWrite, and the
 * shape proxy), and a generated client per user (PGlite in memory, the sync engine, the generated
 * hooks rendered with React). Household h1 has an owner (alice), an editor (bob) and a viewer
 * (carol). Each tries every write through the hooks: the allowed ones land on the server, the
 * refused ones reject with a PermissionError and never leave the device. The same writes forced
 * past the hooks are refused by the server with 403 and roll back, with the server's reason as
 * the change's error. A role changed or revoked while writes wait offline: the writes are refused
 * and roll back; the rows of a household whose role dropped to none leave the device.
 */
import fs from "node:fs";
import path from "node:path";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import pg from "pg";
import { createElement } from "react";
import { renderToString } from "react-dom/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SpecPermissions, SpecShapes } from "../../src/server/index.js";
import { generateClient } from "../support/generated.js";
import { usePostgres } from "../support/postgres/index.js";
import { startShapeServer, type ShapeServer } from "../../packages/shape-server/src/index.js";
import { startRolesBackend, ROLES_SCHEMA, type RolesBackend } from "./backend.js";
import { expectedEdit, expectedOp, FIELD_CASES, ROLE_CASES, ROLES_SPEC } from "./spec.js";
import { eventually } from "../support/eventually.js";

const postgres = usePostgres();

interface Queryable {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}
interface Mutation<V> {
  mutateAsync(variables: V): Promise<unknown>;
}
interface Engine {
  ready: Promise<void>;
  writer: { flush(): Promise<void>; kick(): void };
  stop(): Promise<void>;
}
interface Client {
  createDatabase(): Promise<{ pg: Queryable; close(): Promise<void> }>;
  startSync(o: Record<string, unknown>): Promise<Engine>;
  createCollections(db: unknown): {
    contacts: { update(key: string, fn: (d: Record<string, unknown>) => void): { isPersisted: { promise: Promise<unknown> } }; preload(): Promise<void>; get(key: string): unknown };
  };
  SyncContext: { Provider: unknown };
  useCreateContact(): Mutation<Record<string, unknown>>;
  useUpdateContact(): Mutation<{ id: string; changes: Record<string, unknown> }>;
  useDeleteContact(): Mutation<string>;
  PermissionError: new (...args: never[]) => Error & { entity: string; field: string | null; role: string | null; reason: string; op: string };
}

let server: pg.Client;
let shapes: ShapeServer;
let backend: RolesBackend;
let client: Client;

const MEMBERS: [user: string, household: string, role: string][] = [
  ["alice", "h1", "owner"],
  ["bob", "h1", "editor"],
  ["bob", "h3", "editor"],
  ["carol", "h1", "viewer"],
  ["carol", "h2", "owner"],
  ["dave", "h1", "editor"],
  ["dave", "h4", "owner"],
];

beforeAll(async () => {
  const databaseUrl = await postgres().createDatabase();
  server = new pg.Client(databaseUrl);
  await server.connect();
  await server.query(ROLES_SCHEMA);
  for (const [user, household, role] of MEMBERS) await server.query(`INSERT INTO household_members (user_id, household_id, role) VALUES ($1, $2, $3)`, [user, household, role]);
  shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 500 });
  const out = await generateClient("roles-e2e", ROLES_SPEC);
  client = (await import(`${out}/index.ts`)) as Client;
  const read = <T>(file: string) => JSON.parse(fs.readFileSync(path.join(out, "server", file), "utf8")) as T;
  backend = await startRolesBackend({ databaseUrl, electricUrl: shapes.shapeUrl, shapes: read<SpecShapes>("shapes.json"), permissions: read<SpecPermissions>("permissions.json") });
}, 120_000);

afterAll(async () => {
  await backend?.close();
  await shapes?.stop();
  await server?.end();
});

interface Device {
  pg: Queryable;
  engine: Engine;
  collections: ReturnType<Client["createCollections"]>;
  create: Mutation<Record<string, unknown>>;
  update: Mutation<{ id: string; changes: Record<string, unknown> }>;
  remove: Mutation<string>;
  setOffline(offline: boolean): void;
  row(id: string): Promise<Record<string, unknown> | undefined>;
  changes(): Promise<{ status: string; last_error: string | null; row_key: string }[]>;
  close(): Promise<void>;
}

/** A user's device: a fresh local database synced through the backend's proxy, and the generated hooks. */
async function signIn(user: string): Promise<Device> {
  const db = await client.createDatabase();
  let offline = false;
  const fetchFn = (input: string | URL | Request, init?: RequestInit) => (offline ? Promise.reject(new TypeError("fetch failed (offline)")) : fetch(input, init));
  const engine = await client.startSync({
    db,
    apiUrl: backend.url,
    electricUrl: `${backend.url}/v1/shape`,
    headers: () => ({ authorization: `Bearer token-${user}` }),
    fetch: fetchFn,
    backoff: { initialMs: 50, maxMs: 200 },
  });
  await engine.ready;
  const collections = client.createCollections(db);
  // What a mounted list (useContacts) does: the collection loads and follows the database.
  await collections.contacts.preload();
  let hooks: Pick<Device, "create" | "update" | "remove"> | undefined;
  const Probe = () => {
    hooks = { create: client.useCreateContact(), update: client.useUpdateContact(), remove: client.useDeleteContact() };
    return null;
  };
  renderToString(
    createElement(QueryClientProvider, { client: new QueryClient() }, createElement(client.SyncContext.Provider as never, { value: { db, engine, collections } }, createElement(Probe))),
  );
  return {
    pg: db.pg,
    engine,
    collections,
    ...hooks!,
    setOffline: (value) => {
      offline = value;
      if (!value) engine.writer.kick();
    },
    row: async (id) => (await db.pg.query<Record<string, unknown>>(`SELECT * FROM contacts WHERE id = $1`, [id])).rows[0],
    changes: async () => (await db.pg.query<{ status: string; last_error: string | null; row_key: string }>(`SELECT status, last_error, row_key FROM _changes ORDER BY seq`)).rows,
    close: async () => {
      await engine.stop();
      await db.close();
    },
  };
}

/** A contact made on the server, and seen on the device. */
async function serverContact(device: Device, household: string, values: Record<string, unknown> = {}): Promise<string> {
  const id = crypto.randomUUID();
  await server.query(`INSERT INTO contacts (id, household_id, name, credit_limit, budget) VALUES ($1, $2, $3, $4, $5)`, [id, household, values.name ?? "Ada", values.credit_limit ?? 100, values.budget ?? 10]);
  await eventually(async () => expect(device.collections.contacts.get(id)).toBeDefined());
  return id;
}

const stored = async (id: string) => (await server.query(`SELECT * FROM contacts WHERE id = $1`, [id])).rows[0] as Record<string, unknown> | undefined;
const valueFor = (field: string) => (field === "budget" || field === "credit_limit" ? 777 : `set ${field}`);

describe("each role tries every write through the generated hooks", () => {
  for (const [user, role] of [["carol", "viewer"], ["bob", "editor"], ["alice", "owner"]] as const) {
    it(`${role} (${user}): the allowed writes land on the server, the refused ones never leave the device`, async () => {
      const groups = ROLE_CASES.find((r) => r.role === role)!.groups;
      const device = await signIn(user);
      try {
        const id = await serverContact(device, "h1");
        const attempt = async (label: string, allowed: boolean, run: () => Promise<unknown>, field: string | null, op: string) => {
          const before = (await device.changes()).length;
          const rowBefore = await device.row(id);
          if (allowed) {
            await run();
            await device.engine.writer.flush();
            const all = await device.changes();
            expect(all.length, label).toBe(before + 1);
            expect(all.at(-1)!.status, `${label}: ${all.at(-1)!.last_error}`).not.toBe("failed");
            return;
          }
          const error = await run().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error, label).toBeInstanceOf(client.PermissionError);
          expect(error, label).toMatchObject({ entity: "contact", op, field, role });
          expect((error as Error).message, label).toContain(`"${role}"`);
          // Nothing written locally, nothing queued.
          expect((await device.changes()).length, label).toBe(before);
          expect(await device.row(id), label).toEqual(rowBefore);
        };
        for (const f of FIELD_CASES) {
          const allowed = expectedEdit(role, groups, f);
          const readOnly = groups!.length === 0;
          await attempt(`update ${f.field}`, allowed, () => device.update.mutateAsync({ id, changes: { [f.field]: valueFor(f.field) } }), readOnly ? null : f.field, "update");
          if (allowed) await eventually(async () => expect((await stored(id))![f.field]).toBe(valueFor(f.field)));
          else expect((await stored(id))![f.field]).not.toBe(valueFor(f.field));
        }
        const created = crypto.randomUUID();
        await attempt("create", expectedOp(role, groups, "create"), () => device.create.mutateAsync({ id: created, household_id: "h1", name: `by ${user}` }), null, "create");
        expect(await stored(created)).toEqual(expectedOp(role, groups, "create") ? expect.objectContaining({ name: `by ${user}` }) : undefined);
        await attempt("delete", expectedOp(role, groups, "delete"), () => device.remove.mutateAsync(id), null, "delete");
        expect(await stored(id)).toEqual(expectedOp(role, groups, "delete") ? undefined : expect.objectContaining({ id }));
        // No write of this device was refused by the server: the hooks refused them first.
        expect((await device.changes()).filter((c) => c.status === "failed")).toEqual([]);
      } finally {
        await device.close();
      }
    }, 90_000);
  }
});

describe("writes forced past the hooks", () => {
  it("the collection handlers refuse them too (nothing written locally or queued)", async () => {
    const device = await signIn("bob");
    try {
      const id = await serverContact(device, "h1");
      const tx = device.collections.contacts.update(id, (d) => {
        d.credit_limit = 5;
      });
      await expect(tx.isPersisted.promise).rejects.toMatchObject({ name: "PermissionError", entity: "contact", field: "credit_limit", role: "editor", reason: "owner-only" });
      expect(await device.changes()).toEqual([]);
      expect((await device.row(id))!.credit_limit).toBe(100);
    } finally {
      await device.close();
    }
  }, 60_000);

  it("a write straight into the local database is refused by the server with 403 and rolls back, with the reason shown", async () => {
    const [bob, carol] = [await signIn("bob"), await signIn("carol")];
    try {
      const id = await serverContact(bob, "h1");
      await eventually(async () => expect(await carol.row(id)).toBeDefined());
      // A client that skips the hooks: its own SQL on the local view (what a bug or a tampered app does).
      await bob.pg.query(`UPDATE contacts SET credit_limit = 5 WHERE id = $1`, [id]);
      await carol.pg.query(`UPDATE contacts SET name = 'viewer was here' WHERE id = $1`, [id]);
      await carol.pg.query(`DELETE FROM contacts WHERE id = $1`, [id]);
      for (const [device, field, role, count] of [[bob, "credit_limit", "editor", 1], [carol, null, "viewer", 2]] as const) {
        await device.engine.writer.flush();
        const changes = await device.changes();
        expect(changes.map((c) => c.status)).toEqual(Array(count).fill("failed"));
        expect(changes[0]!.last_error).toContain("Forbidden");
        expect(changes[0]!.last_error).toContain(`"${role}"`);
        if (field) expect(changes[0]!.last_error).toContain(`contact.${field}`);
        // Rolled back: the device shows the server's row again.
        await eventually(async () => expect(await device.row(id)).toMatchObject({ credit_limit: 100, name: "Ada", _sync_status: "failed" }));
      }
      expect(await stored(id)).toMatchObject({ credit_limit: 100, name: "Ada" });
      // The same writes sent to the API by hand: 403 problem+json naming entity, field and role.
      const send = (user: string, method: string, body?: unknown) =>
        fetch(`${backend.url}/contacts/${id}`, { method, headers: { authorization: `Bearer token-${user}`, "content-type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) });
      for (const [user, method, body, expected] of [
        ["bob", "PATCH", { credit_limit: 5 }, { entity: "contact", op: "update", field: "credit_limit", role: "editor", reason: "owner-only" }],
        ["bob", "PATCH", { budget: 5 }, { field: "budget", role: "editor", reason: "field-group" }],
        ["bob", "PATCH", { household_id: "h2" }, { field: "household_id", role: "editor", reason: "move" }],
        ["bob", "DELETE", undefined, { op: "delete", field: null, role: "editor", reason: "op" }],
        ["carol", "PATCH", { notes: "x" }, { field: null, role: "viewer", reason: "read-only" }],
        ["carol", "PATCH", { household_id: "h2" }, { role: "viewer", reason: "read-only" }],
      ] as const) {
        const response = await send(user, method, body);
        expect(response.status, `${user} ${method} ${JSON.stringify(body)}`).toBe(403);
        expect(response.headers.get("content-type")).toBe("application/problem+json");
        expect(await response.json()).toMatchObject({ status: 403, title: "Forbidden", ...expected });
      }
      const stranger = await fetch(`${backend.url}/contacts`, { method: "POST", headers: { authorization: "Bearer token-erin", "content-type": "application/json" }, body: JSON.stringify({ id: crypto.randomUUID(), household_id: "h1", name: "x" }) });
      expect(stranger.status).toBe(403);
      expect(await stranger.json()).toMatchObject({ role: null, reason: "no-role" });
      expect(await stored(id)).toMatchObject({ credit_limit: 100, name: "Ada", notes: null, household_id: "h1" });
    } finally {
      await bob.close();
      await carol.close();
    }
  }, 90_000);
});

describe("role changes", () => {
  it("a role lowered while writes wait offline: they are refused after it and roll back with the reason; the device then knows the new role", async () => {
    const dave = await signIn("dave");
    try {
      const id = await serverContact(dave, "h1");
      dave.setOffline(true);
      await dave.update.mutateAsync({ id, changes: { name: "offline edit" } });
      await dave.update.mutateAsync({ id, changes: { notes: "offline note" } });
      expect(await dave.row(id)).toMatchObject({ name: "offline edit", notes: "offline note", _sync_status: "pending" });
      expect((await dave.changes()).map((c) => c.status)).toEqual(["pending", "pending"]);
      await server.query(`UPDATE household_members SET role = 'viewer' WHERE user_id = 'dave' AND household_id = 'h1'`);
      dave.setOffline(false);
      await eventually(async () => expect((await dave.changes()).map((c) => c.status)).toEqual(["failed", "failed"]));
      const [first] = await dave.changes();
      expect(first!.last_error).toContain('"viewer" is read-only');
      await eventually(async () => expect(await dave.row(id)).toMatchObject({ name: "Ada", notes: null }));
      expect(await stored(id)).toMatchObject({ name: "Ada", notes: null });
      // The lowered role reaches the device: the hooks now refuse before queueing.
      await eventually(async () => {
        const error = await dave.update.mutateAsync({ id, changes: { name: "again" } }).then(() => undefined, (e: unknown) => e);
        expect(error).toMatchObject({ name: "PermissionError", role: "viewer", reason: "read-only" });
      });
      expect((await dave.changes()).length).toBe(2);
    } finally {
      await dave.close();
    }
  }, 90_000);

  it("a role revoked while a write waits offline: the write is refused and the household's rows leave the device", async () => {
    const bob = await signIn("bob");
    try {
      const id = await serverContact(bob, "h1");
      const other = await serverContact(bob, "h3");
      bob.setOffline(true);
      await bob.update.mutateAsync({ id, changes: { name: "queued before revocation" } });
      await server.query(`DELETE FROM household_members WHERE user_id = 'bob' AND household_id = 'h1'`);
      bob.setOffline(false);
      await eventually(async () => expect((await bob.changes()).map((c) => c.status)).toEqual(["failed"]));
      // The API does not show another household's row: 404, the change is rolled back.
      expect((await bob.changes())[0]!.last_error).toContain("Not found");
      // Role none: every h1 row leaves the device; h3 stays.
      await eventually(async () => expect((await bob.pg.query(`SELECT id FROM contacts WHERE household_id = 'h1'`)).rows).toEqual([]));
      expect(await bob.row(other)).toBeDefined();
      expect(await stored(id)).toMatchObject({ name: "Ada" });
      // Granted again: the rows come back.
      await server.query(`INSERT INTO household_members (user_id, household_id, role) VALUES ('bob', 'h1', 'editor')`);
      await eventually(async () => expect(await bob.row(id)).toMatchObject({ name: "Ada" }));
    } finally {
      await bob.close();
    }
  }, 90_000);
});
