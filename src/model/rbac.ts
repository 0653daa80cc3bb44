/**
 * `x-rbac` and `x-owner-only`: which role may write which field of an entity, and where the
 * caller's role on each row comes from (`x-rbac.roles`: a synced membership entity holding the
 * user's own role per scope value). Read per entity (`readRbac`), then resolved across entities
 * once all are built (`resolveRoleSources`). Pure; errors are diagnostics located at the setting.
 */
import { error, pointerJoin, type Diagnostic, type SourceLocation } from "../diagnostics/diagnostic.js";
import { closest } from "../diagnostics/suggest.js";
import { isObj } from "./schema-walk.js";
import type { Json } from "../spec/parse.js";
import type { Entity, Rbac } from "./types.js";

const RBAC_KEYS = ["field_groups", "role_permissions", "roles", "create", "delete"];

/** The role x-owner-only fields need. */
export const OWNER_ROLE = "owner";

/** What `readRbac` leaves for `resolveRoleSources`: the raw `x-rbac.roles` and where it is. */
export interface RoleSourceCandidate {
  entity: Entity;
  pointer: string;
  entityName: string;
  match?: string;
  role?: string;
}

export function readRbac(raw: Json, fields: Set<string>, pointer: string, locate: (p: string) => SourceLocation, diagnostics: Diagnostic[]): { rbac: Rbac; roles?: Omit<RoleSourceCandidate, "entity"> } | undefined {
  if (!isObj(raw)) {
    diagnostics.push(error("model/invalid-x-rbac", "x-rbac must be an object with field_groups and role_permissions.", locate(pointer)));
    return undefined;
  }
  for (const k of Object.keys(raw)) {
    if (!RBAC_KEYS.includes(k)) {
      const near = closest(k, RBAC_KEYS);
      diagnostics.push(error("model/invalid-x-rbac", `x-rbac has an unknown setting "${k}".`, locate(pointerJoin(pointer, k)), near ? `Did you mean "${near}"?` : `Known settings: ${RBAC_KEYS.join(", ")}.`));
    }
  }
  const groups = isObj(raw.field_groups) ? raw.field_groups : {};
  const roles = isObj(raw.role_permissions) ? raw.role_permissions : {};
  // Group and role names become object keys in the generated TypeScript, where `__proto__` would set the prototype.
  for (const [setting, names] of [["field_groups", groups], ["role_permissions", roles]] as const) {
    if (Object.hasOwn(names, "__proto__")) {
      diagnostics.push(error("model/invalid-x-rbac", `x-rbac.${setting} has an entry named "__proto__", which JavaScript objects cannot hold as a plain key.`, locate(pointerJoin(pointer, setting, "__proto__")), "Rename it."));
    }
  }
  const fieldGroups = Object.entries(groups).map(([name, list]) => {
    const names = Array.isArray(list) ? list.filter((x): x is string => typeof x === "string") : [];
    for (const [i, f] of names.entries()) {
      if (!fields.has(f)) {
        const near = closest(f, [...fields]);
        diagnostics.push(error("model/rbac-unknown-field", `x-rbac field group "${name}" names "${f}", which is not a field of the entity.`, locate(pointerJoin(pointer, "field_groups", name, i)), near ? `Did you mean "${near}"?` : "List only properties of the item schema."));
      }
    }
    return { name, fields: names };
  });
  const rolePermissions = Object.entries(roles).map(([role, list]) => {
    const names = Array.isArray(list) ? list.filter((x): x is string => typeof x === "string") : [];
    for (const [i, g] of names.entries()) {
      if (!(g in groups)) diagnostics.push(error("model/rbac-unknown-group", `x-rbac role "${role}" names group "${g}", which is not in field_groups.`, locate(pointerJoin(pointer, "role_permissions", role, i)), `Known groups: ${Object.keys(groups).join(", ") || "(none)"}.`));
    }
    return { role, groups: names };
  });
  const known = rolePermissions.map((r) => r.role);
  // A role with no group is read-only; by default every other role may create and delete.
  const writers = rolePermissions.filter((r) => r.groups.length > 0).map((r) => r.role);
  const roleList = (key: "create" | "delete"): string[] => {
    const value = raw[key];
    if (value === undefined) return writers;
    if (!Array.isArray(value) || !value.every((x) => typeof x === "string")) {
      diagnostics.push(error("model/invalid-x-rbac", `x-rbac.${key} must be a list of roles.`, locate(`${pointer}/${key}`), `E.g. \`${key}: [${writers.join(", ") || "owner"}]\`.`));
      return writers;
    }
    (value as string[]).forEach((role, i) => {
      if (!known.includes(role)) {
        const near = closest(role, known);
        diagnostics.push(error("model/rbac-unknown-role", `x-rbac.${key} names the role "${role}", which is not in role_permissions.`, locate(`${pointer}/${key}/${i}`), near ? `Did you mean "${near}"?` : `Known roles: ${known.join(", ") || "(none)"}.`));
      }
    });
    return value as string[];
  };
  const rbac: Rbac = { fieldGroups, rolePermissions, create: roleList("create"), delete: roleList("delete"), ownerRole: OWNER_ROLE };
  if (raw.roles === undefined) return { rbac };
  const source = readRoles(raw.roles, `${pointer}/roles`, locate, diagnostics);
  return source ? { rbac, roles: source } : { rbac };
}

function readRoles(raw: Json, pointer: string, locate: (p: string) => SourceLocation, diagnostics: Diagnostic[]): Omit<RoleSourceCandidate, "entity"> | undefined {
  if (typeof raw === "string" && raw !== "") return { pointer, entityName: raw };
  const bad = () => diagnostics.push(error("model/invalid-x-rbac", "x-rbac.roles must name the synced entity that holds the user's roles: `roles: household_members`, or `roles: { entity: household_members, match: household_id, role: role }`.", locate(pointer), "See docs/extensions.md#x-rbac."));
  if (!isObj(raw) || typeof raw.entity !== "string" || raw.entity === "") return void bad();
  for (const k of Object.keys(raw)) {
    if (!["entity", "match", "role"].includes(k)) {
      diagnostics.push(error("model/invalid-x-rbac", `x-rbac.roles has an unknown setting "${k}".`, locate(pointerJoin(pointer, k)), "Known settings: entity, match, role."));
    }
  }
  for (const k of ["match", "role"] as const) {
    if (raw[k] !== undefined && (typeof raw[k] !== "string" || raw[k] === "")) return void bad();
  }
  return { pointer, entityName: raw.entity, ...(typeof raw.match === "string" ? { match: raw.match } : {}), ...(typeof raw.role === "string" ? { role: raw.role } : {}) };
}

/**
 * Binds each `x-rbac.roles` to its membership entity: a synced entity scoped to the user
 * (`x-sync.scope`, so a device only ever holds the user's own memberships), with a `match`
 * column (default: the protected entity's scope column name) and a `role` column (default `role`).
 * The protected entity must itself be scoped: its scope value is what a membership grants a role on.
 */
export function resolveRoleSources(candidates: RoleSourceCandidate[], entities: Entity[], locate: (p: string) => SourceLocation, diagnostics: Diagnostic[]): void {
  const byName = new Map<string, Entity>();
  for (const e of entities) for (const n of [e.table, e.names.original, e.names.snake, e.names.snakePlural, e.names.camel, e.names.camelPlural]) if (!byName.has(n)) byName.set(n, e);
  for (const c of candidates) {
    const e = c.entity;
    const at = locate(c.pointer);
    const members = byName.get(c.entityName);
    if (!members) {
      const near = closest(c.entityName, [...byName.keys()]);
      diagnostics.push(error("model/rbac-unknown-roles-entity", `x-rbac.roles of ${e.names.original} names "${c.entityName}", which is not a synced entity.`, at, near ? `Did you mean "${near}"?` : "Sync the membership table (x-sync on its path, scoped to the user) and name it here."));
      continue;
    }
    if (members === e) {
      diagnostics.push(error("model/rbac-unknown-roles-entity", `x-rbac.roles of ${e.names.original} names the entity itself.`, at, "Name the membership entity (user, scope value, role)."));
      continue;
    }
    if (!e.scopeField) {
      diagnostics.push(error("model/rbac-needs-scope", `x-rbac.roles of ${e.names.original} needs x-sync.scope: a role is granted on a scope value (a household), and ${e.names.original} has none.`, at, "Add `scope: household_id` (the column a membership grants a role on) to x-sync."));
      continue;
    }
    if (!members.scopeField) {
      diagnostics.push(error("model/rbac-roles-unscoped", `x-rbac.roles names ${members.names.original}, which has no x-sync.scope: every user's memberships would reach every device.`, at, `Scope ${members.names.original} to the user (\`x-sync: { scope: user_id }\`); the shape proxy then serves each user their own roles.`));
      continue;
    }
    const names = members.fields.map((f) => f.name);
    const match = c.match ?? e.scopeField.name;
    const role = c.role ?? "role";
    let ok = true;
    for (const [setting, name] of [["match", match], ["role", role]] as const) {
      if (names.includes(name) && !members.fields.find((f) => f.name === name)!.syncExclude) continue;
      const near = closest(name, names);
      const explicit = setting === "match" ? c.match !== undefined : c.role !== undefined;
      diagnostics.push(
        error(
          "model/rbac-unknown-field",
          `x-rbac.roles: ${members.names.original} has no synced property "${name}" (${setting === "match" ? `the ${e.scopeField.name} a membership is for` : "the role"}).`,
          explicit ? locate(`${c.pointer}/${setting}`) : at,
          near ? `Did you mean "${near}"? Set \`${setting}: ${near}\`.` : `Set roles.${setting} to one of: ${names.join(", ")}.`,
        ),
      );
      ok = false;
    }
    if (!ok || !e.rbac) continue;
    e.rbac.roles = { entity: members.names.original, table: members.table, collection: members.names.camelPlural, match, role, scope: e.scopeField.name };
  }
}
