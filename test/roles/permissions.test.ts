/**
 * The generated permission checks, table-driven: every role (those of role_permissions, one the
 * spec does not know, none) × every field group (none, basic, financial) × x-owner-only, through
 * the client's helpers (canEditField, editableFields, checkWrite against a real local database)
 * and the server's (findRefusal over the generated server/permissions.json). Expected answers
 * come from an oracle written independently of the generated code (./spec.ts). Rules R1–R6 are
 * those of templates/runtime/permission-rules.ts.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findRefusal, type SpecPermissions } from "../../src/server/index.js";
import { generateClient } from "../support/generated.js";
import { REPO } from "../support/project.js";
import { expectedEdit, expectedOp, FIELD_CASES, ROLE_CASES, ROLES_SPEC } from "./spec.js";

interface PermissionErrorLike extends Error {
  entity: string;
  op: string;
  field: string | null;
  role: string | null;
  reason: string;
}
interface Db {
  pg: { query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> };
  close(): Promise<void>;
}
interface Client {
  createDatabase(): Promise<Db>;
  canEditField(entity: string, field: string, role: string | null): boolean;
  editableFields(entity: string, role: string | null): string[];
  checkWrite(pg: Db["pg"], entity: string, op: string, row: Record<string, unknown> | undefined, values?: Record<string, unknown>): Promise<void>;
  canDo(entity: string, role: string | null, action: string, field?: string): boolean;
  PermissionError: new (...args: never[]) => PermissionErrorLike;
}

let out = "";
let client: Client;
let rules: SpecPermissions;
let db: Db;
/** Household per role: the caller is `role` in household `h-<role>`; in `h-none` they have no role. */
const household = (role: string | null) => `h-${role ?? "none"}`;

beforeAll(async () => {
  out = await generateClient("roles-unit", ROLES_SPEC);
  client = (await import(`${out}/index.ts`)) as Client;
  rules = JSON.parse(fs.readFileSync(path.join(out, "server/permissions.json"), "utf8")) as SpecPermissions;
  db = await client.createDatabase();
  for (const { role } of ROLE_CASES) {
    if (role !== null) await db.pg.query(`INSERT INTO household_members_synced (id, user_id, household_id, role) VALUES (gen_random_uuid(), 'me', $1, $2)`, [household(role), role]);
  }
}, 120_000);

afterAll(async () => {
  await db?.close();
});

/** The client's verdict on a write (null: allowed), as the refusal's fields. */
async function clientVerdict(op: string, row: Record<string, unknown> | undefined, values: Record<string, unknown>) {
  try {
    await client.checkWrite(db.pg, "contacts", op, row, values);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(client.PermissionError);
    const e = error as PermissionErrorLike;
    return { entity: e.entity, op: e.op, field: e.field, role: e.role, reason: e.reason, message: e.message };
  }
}

async function serverVerdict(op: "create" | "update" | "delete", row: Record<string, unknown>, values: Record<string, unknown>, extra: [string, string][] = []) {
  const roles = new Map([...ROLE_CASES.filter((r) => r.role !== null).map((r): [string, string] => [household(r.role), r.role!]), ...extra]);
  return findRefusal(rules, { entity: "contacts", op, row, values, roleOf: (v) => roles.get(String(v)) ?? null });
}

describe("R1–R4 edit: role × field group × x-owner-only", () => {
  for (const r of ROLE_CASES) {
    for (const f of FIELD_CASES) {
      const want = expectedEdit(r.role, r.groups, f);
      it(`${r.role ?? "no role"} ${want ? "may" : "may not"} set ${f.field} (group ${f.group}${f.ownerOnly ? ", x-owner-only" : ""})`, async () => {
        expect(client.canEditField("contacts", f.field, r.role)).toBe(want);
        expect(client.editableFields("contacts", r.role).includes(f.field)).toBe(want);
        expect(client.canDo("contacts", r.role, "edit", f.field)).toBe(want);
        const row = { id: "00000000-0000-4000-8000-000000000001", household_id: household(r.role) };
        const changes = { [f.field]: f.field === "budget" || f.field === "credit_limit" ? 5 : "x" };
        // The update hook's check and the server's: the same refusal, naming entity, field and role.
        const local = await clientVerdict("update", row, changes);
        const server = await serverVerdict("update", row, changes);
        expect(local).toEqual(server);
        if (want) return expect(local).toBeNull();
        expect(local).toMatchObject({ entity: "contact", op: "update", role: r.role });
        const wholeWrite = r.role === null || r.groups === null || r.groups.length === 0;
        expect(local!.field).toBe(wholeWrite ? null : f.field);
        expect(local!.reason).toBe(r.role === null ? "no-role" : wholeWrite ? "read-only" : f.ownerOnly && r.role !== "owner" ? "owner-only" : "field-group");
        expect(local!.message).toContain(wholeWrite ? "contact" : `contact.${f.field}`);
        if (r.role !== null) expect(local!.message).toContain(`"${r.role}"`);
        // A create that sets the field is refused alike (R5: a field with a value is written).
        const created = await clientVerdict("create", undefined, { household_id: household(r.role), ...changes });
        expect(created).toEqual(await serverVerdict("create", { household_id: household(r.role) }, { household_id: household(r.role), ...changes }));
        expect(created).not.toBeNull();
      });
    }
  }
});

describe("R2, R3 create and delete per role", () => {
  for (const r of ROLE_CASES) {
    for (const op of ["create", "delete"] as const) {
      const want = expectedOp(r.role, r.groups, op);
      it(`${r.role ?? "no role"} ${want ? "may" : "may not"} ${op} a contact`, async () => {
        const row = { id: "00000000-0000-4000-8000-000000000002", household_id: household(r.role) };
        const values = op === "create" ? { ...row, notes: null } : {};
        expect(client.canDo("contacts", r.role, op)).toBe(want);
        const local = await clientVerdict(op, op === "create" ? undefined : row, values);
        expect(local).toEqual(await serverVerdict(op, row, values));
        expect(local === null).toBe(want);
        if (!want) expect(local).toMatchObject({ entity: "contact", op, field: null, role: r.role });
      });
    }
  }
});

describe("R6 moving a row to another household", () => {
  const cases: [string, string | null, string | null, boolean][] = [
    ["an editor moves a row between two households where they edit", "editor", "editor", true],
    ["an editor may not move a row into a household where they only view", "editor", "viewer", false],
    ["an editor may not move a row into a household where they have no role", "editor", null, false],
  ];
  for (const [name, from, to, want] of cases) {
    it(name, async () => {
      // The second household where the caller is an editor.
      await db.pg.query(`INSERT INTO household_members_synced (id, user_id, household_id, role) VALUES (gen_random_uuid(), 'me', 'h-editor-2', 'editor') ON CONFLICT DO NOTHING`);
      const target = to === "editor" ? "h-editor-2" : household(to);
      const row = { id: "00000000-0000-4000-8000-000000000003", household_id: household(from) };
      const local = await clientVerdict("update", row, { household_id: target });
      expect(local).toEqual(await serverVerdict("update", row, { household_id: target }, [["h-editor-2", "editor"]]));
      expect(local === null).toBe(want);
      if (!want) expect(local).toMatchObject({ reason: "move", field: "household_id", role: "editor" });
      await db.pg.query(`DELETE FROM household_members_synced WHERE household_id = 'h-editor-2'`);
    });
  }
});

it("client and server decide with the same code (sync/permission-rules.ts is src/server/permission-rules.ts)", () => {
  const shipped = fs.readFileSync(path.join(REPO, "src/server/permission-rules.ts"), "utf8");
  expect(fs.readFileSync(path.join(REPO, "templates/runtime/permission-rules.ts"), "utf8")).toBe(shipped);
  expect(fs.readFileSync(path.join(out, "sync/permission-rules.ts"), "utf8")).toContain(shipped.split("\n").slice(5).join("\n"));
});

it("permissions.json holds the spec's rules and lists the entities without x-rbac", () => {
  expect(rules.entities.contacts).toMatchObject({
    entity: "contact",
    scope: "household_id",
    roles: { table: "household_members", match: "household_id", role: "role" },
    groups: { basic: ["name", "nickname"], financial: ["budget", "credit_limit"] },
    edit: { viewer: [], editor: ["basic"], accountant: ["financial"], owner: ["basic", "financial"] },
    create: ["editor", "accountant", "owner"],
    delete: ["owner"],
    ownerOnly: ["secret_note", "nickname", "credit_limit"],
    ownerRole: "owner",
  });
  expect(rules.unprotected).toEqual(["household_members"]);
});

describe("watchRoles: rows whose role drops to none leave the device", () => {
  interface Watching {
    watchRoles(db: unknown): (() => void) & { idle(): Promise<void> };
  }
  const households = async (d: Db) => (await d.pg.query<{ h: string }>(`SELECT household_id AS h FROM contacts ORDER BY household_id`)).rows.map((r) => r.h);

  it("a revoked membership takes its household's synced rows off the device, and no other", async () => {
    const fresh = (await client.createDatabase()) as Db & { feed: unknown };
    const watch = (client as unknown as Watching).watchRoles(fresh);
    try {
      await fresh.pg.query(`INSERT INTO household_members_synced (id, user_id, household_id, role) VALUES (gen_random_uuid(), 'me', 'h1', 'editor'), (gen_random_uuid(), 'me', 'h2', 'viewer')`);
      await fresh.pg.query(`INSERT INTO contacts_synced (id, household_id, name) VALUES (gen_random_uuid(), 'h1', 'a'), (gen_random_uuid(), 'h2', 'b'), (gen_random_uuid(), 'h2', 'c')`);
      await watch.idle();
      await fresh.pg.query(`DELETE FROM household_members_synced WHERE household_id = 'h2'`);
      await watch.idle();
      expect(await households(fresh)).toEqual(["h1"]);
      // A role changed (not revoked) keeps the rows.
      await fresh.pg.query(`UPDATE household_members_synced SET role = 'viewer' WHERE household_id = 'h1'`);
      await watch.idle();
      expect(await households(fresh)).toEqual(["h1"]);
    } finally {
      watch();
      await fresh.close();
    }
  }, 120_000);

  it("leaves the rows to the server when it answered the shape anew since (a role revoked and granted again)", async () => {
    const fresh = (await client.createDatabase()) as Db & { feed: unknown };
    await fresh.pg.query(`INSERT INTO "_sync_shapes" ("entity", "handle", "offset") VALUES ('contacts', 'h-before', '0_0')`);
    const watch = (client as unknown as Watching).watchRoles(fresh);
    try {
      await fresh.pg.query(`INSERT INTO household_members_synced (id, user_id, household_id, role) VALUES (gen_random_uuid(), 'me', 'h1', 'editor'), (gen_random_uuid(), 'me', 'h2', 'editor')`);
      await fresh.pg.query(`INSERT INTO contacts_synced (id, household_id, name) VALUES (gen_random_uuid(), 'h1', 'a'), (gen_random_uuid(), 'h2', 'b')`);
      await watch.idle();
      // The server's shape answered anew (its where has h1 again) before the membership rows caught up.
      await fresh.pg.query(`UPDATE "_sync_shapes" SET "handle" = 'h-after' WHERE "entity" = 'contacts'`);
      await fresh.pg.query(`DELETE FROM household_members_synced WHERE household_id = 'h1'`);
      await watch.idle();
      expect(await households(fresh)).toEqual(["h1", "h2"]);
      // A revocation after that answer: acted on.
      await fresh.pg.query(`DELETE FROM household_members_synced WHERE household_id = 'h2'`);
      await watch.idle();
      expect(await households(fresh)).toEqual(["h1"]);
    } finally {
      watch();
      await fresh.close();
    }
  }, 120_000);
});

it("role and group names with quotes, backslashes and comment ends are data, not code", async () => {
  const spec = ROLES_SPEC.replace("basic: [name, nickname]", `"ba'sic */ \\\\": [name, nickname]`)
    .replace("editor: [basic]", `"ed\\"itor */": ["ba'sic */ \\\\"]`)
    .replace("owner: [basic, financial]", `owner: ["ba'sic */ \\\\", financial]`);
  const dir = await generateClient("roles-hostile", spec);
  const hostile = (await import(`${dir}/permissions.ts`)) as Pick<Client, "canEditField" | "editableFields">;
  expect(hostile.canEditField("contacts", "name", 'ed"itor */')).toBe(true);
  expect(hostile.canEditField("contacts", "budget", 'ed"itor */')).toBe(false);
  expect(hostile.editableFields("contacts", "owner")).toContain("nickname");
  const json = JSON.parse(fs.readFileSync(path.join(dir, "server/permissions.json"), "utf8")) as SpecPermissions;
  expect(json.entities.contacts!.edit['ed"itor */']).toEqual(["ba'sic */ \\"]);
}, 60_000);
