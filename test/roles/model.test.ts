/**
 * `x-rbac.roles`, `x-rbac.create` / `delete`: read by the model (src/model/rbac.ts) into
 * `entity.rbac`; each wrong setting is an error located at the setting, with a hint, and nothing
 * is generated.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildModel } from "../../src/model/build.js";
import { loadSpec } from "../../src/spec/load.js";
import { ROLES_SPEC } from "./spec.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-roles-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function build(spec: string) {
  const file = path.join(dir, `spec-${n++}.yaml`);
  fs.writeFileSync(file, spec);
  const loaded = await loadSpec(file, dir);
  if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => d.message).join("\n"));
  return buildModel({ document: loaded.value.document, locate: loaded.value.locate, configFile: "sync-patterns.config.yaml" });
}

const RBAC = `      roles: household_members
      field_groups:
        basic: [name, nickname]
        financial: [budget, credit_limit]
      role_permissions:
        viewer: []
        editor: [basic]
        accountant: [financial]
        owner: [basic, financial]
      delete: [owner]
`;

/** The roles spec with its x-rbac block replaced (`rbac`) and other text swapped (`swaps`). */
function variant(rbac: string, swaps: [string, string][] = []): string {
  let spec = ROLES_SPEC.replace(RBAC, rbac);
  for (const [from, to] of swaps) spec = spec.replace(from, to);
  return spec;
}

describe("x-rbac.roles", () => {
  it("binds the entity to the membership entity that gives the caller's role per scope value", async () => {
    const r = await build(ROLES_SPEC);
    expect(r.ok, JSON.stringify(r.diagnostics)).toBe(true);
    if (!r.ok) return;
    const contacts = r.value.entities.find((e) => e.table === "contacts")!;
    expect(contacts.rbac).toMatchObject({
      roles: { entity: "household_member", table: "household_members", collection: "householdMembers", match: "household_id", role: "role", scope: "household_id" },
      create: ["editor", "accountant", "owner"],
      delete: ["owner"],
      ownerRole: "owner",
    });
  });

  it("takes the long form with other column names", async () => {
    const spec = variant(RBAC.replace("roles: household_members", "roles: { entity: household_members, match: home, role: level }"), [
      ["        household_id: { type: string }\n        role: { type: string }", "        home: { type: string }\n        level: { type: string }"],
      ["required: [id, user_id, household_id, role]", "required: [id, user_id, home, level]"],
    ]);
    const r = await build(spec);
    expect(r.ok, JSON.stringify(r.diagnostics)).toBe(true);
    if (r.ok) expect(r.value.entities.find((e) => e.table === "contacts")!.rbac!.roles).toMatchObject({ match: "home", role: "level", scope: "household_id" });
  });

  const P = "/paths/~1contacts/x-rbac";
  it.each([
    ["a roles entity that is not synced, with a did-you-mean", RBAC.replace("roles: household_members", "roles: household_member5"), [], "model/rbac-unknown-roles-entity", `${P}/roles`, "not a synced entity", 'Did you mean "household_members"?'],
    ["roles naming the entity itself", RBAC.replace("roles: household_members", "roles: contacts"), [], "model/rbac-unknown-roles-entity", `${P}/roles`, "the entity itself", "membership"],
    ["an entity without x-sync.scope", RBAC, [["x-sync: { local_first: true, scope: household_id }", "x-sync: { local_first: true }"]], "model/rbac-needs-scope", `${P}/roles`, "needs x-sync.scope", "scope: household_id"],
    ["a membership entity not scoped to the user", RBAC, [["x-sync: { local_first: true, scope: user_id }", "x-sync: { local_first: true }"]], "model/rbac-roles-unscoped", `${P}/roles`, "every user's memberships", "scope: user_id"],
    ["a match column the membership entity lacks", RBAC.replace("roles: household_members", "roles: { entity: household_members, match: house }"), [], "model/rbac-unknown-field", `${P}/roles/match`, 'no synced property "house"', "household_id"],
    ["a role column the membership entity lacks", RBAC.replace("roles: household_members", "roles: { entity: household_members, role: rank }"), [], "model/rbac-unknown-field", `${P}/roles/role`, 'no synced property "rank"', "Set roles.role"],
    ["a default role column the membership entity lacks", RBAC, [["        role: { type: string }", "        level: { type: string }"], ["required: [id, user_id, household_id, role]", "required: [id, user_id, household_id, level]"]], "model/rbac-unknown-field", `${P}/roles`, 'no synced property "role"', "level"],
    ["roles that is neither a name nor an object", RBAC.replace("roles: household_members", "roles: [household_members]"), [], "model/invalid-x-rbac", `${P}/roles`, "must name the synced entity", "extensions.md"],
    ["an unknown setting in roles", RBAC.replace("roles: household_members", "roles: { entity: household_members, scope: household_id }"), [], "model/invalid-x-rbac", `${P}/roles/scope`, 'unknown setting "scope"', "entity, match, role"],
    ["an unknown x-rbac setting, with a did-you-mean", RBAC.replace("delete: [owner]", "delete: [owner]\n      creat: [owner]"), [], "model/invalid-x-rbac", `${P}/creat`, 'unknown setting "creat"', 'Did you mean "create"?'],
    ["create naming a role not in role_permissions", RBAC.replace("delete: [owner]", "delete: [owner]\n      create: [ownr]"), [], "model/rbac-unknown-role", `${P}/create/0`, 'the role "ownr"', 'Did you mean "owner"?'],
    ["delete that is not a list of roles", RBAC.replace("delete: [owner]", "delete: owner"), [], "model/invalid-x-rbac", `${P}/delete`, "must be a list of roles", "delete: ["],
  ] as [string, string, [string, string][], string, string, string, string][])("refuses %s, located at the setting", async (_, rbac, swaps, code, pointer, message, hint) => {
    const r = await build(variant(rbac, swaps));
    expect(r.ok).toBe(false);
    const d = r.diagnostics.find((x) => x.severity === "error")!;
    expect(d.code).toBe(code);
    expect(d.location?.pointer).toBe(pointer);
    expect(d.location?.line).toBeGreaterThan(0);
    expect(d.message).toContain(message);
    expect(d.hint).toContain(hint);
  });

  it("without roles, x-rbac still builds (the client cannot know the role: nothing is checked in the hooks)", async () => {
    const r = await build(variant(RBAC.replace("      roles: household_members\n", "")));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.entities.find((e) => e.table === "contacts")!.rbac!.roles).toBeUndefined();
  });
});

describe("hostile names in x-rbac", () => {
  it("refuses a role or group named __proto__, located at it", async () => {
    const r = await build(variant(RBAC.replace("        viewer: []", '        "__proto__": []')));
    expect(r.ok).toBe(false);
    const d = r.diagnostics.find((x) => x.severity === "error")!;
    expect(d).toMatchObject({ code: "model/invalid-x-rbac", location: { pointer: "/paths/~1contacts/x-rbac/role_permissions/__proto__" } });
  });
});
