// Who may write what: the decisions of x-rbac and x-owner-only, as pure functions over the rules
// the generator emits (permissions.ts in the client, server/permissions.json for the backend).
// The same file is the client's `permission-rules.ts` and `sync-patterns/server`'s
// `permission-rules.ts` (a test keeps them identical), so client and server decide alike.
//
//  R1 No role (no membership for the row's scope value): no write at all.
//  R2 A role not in role_permissions, or with no field group, is read-only: no create, update
//     or delete.
//  R3 create needs a role in `create`, delete a role in `delete` (default: the roles with a group).
//  R4 Each field written needs: not x-owner-only, or the owner role; and, when the field is in
//     field groups, one of them among the role's groups (a field in no group: every writing role).
//  R5 The fields written: an update's changed fields; a create's fields with a value (not null),
//     except the key and the scope column (which decide the row and its role, R6).
//  R6 An update that changes the scope column moves the row: the role at the new scope value
//     must allow create there (R1–R3), besides the role at the old one allowing the update.

/** The rules of one entity (one entry of server/permissions.json). */
export interface EntityRules {
  entity: string;
  table: string;
  key: string;
  /** x-sync.scope: the column a membership grants a role on; null when the entity is not scoped. */
  scope: string | null;
  /** Where the caller's role comes from (x-rbac.roles); null: the server (or the caller) supplies it. */
  roles: { table: string; match: string; role: string } | null;
  /** Every field a client may set: all but the key and readOnly fields. */
  fields: string[];
  /** x-rbac field_groups. */
  groups: Record<string, string[]>;
  /** x-rbac role_permissions: role → the groups it may edit. */
  edit: Record<string, string[]>;
  create: string[];
  delete: string[];
  /** x-owner-only fields, and the role they need. */
  ownerOnly: string[];
  ownerRole: string;
}

/** The contents of server/permissions.json. */
export interface PermissionRules {
  entities: Record<string, EntityRules>;
}

export type WriteOp = "create" | "update" | "delete";
export type Action = "create" | "edit" | "delete";

/** Why a write is refused: what a PermissionError and a 403 problem+json carry. */
export interface Refusal {
  entity: string;
  op: WriteOp;
  /** The field refused (R4), or null when the whole write is. */
  field: string | null;
  /** The caller's role, null when they have none on the row (R1). */
  role: string | null;
  reason: "no-role" | "read-only" | "op" | "owner-only" | "field-group" | "move";
  message: string;
}

const has = (o: Record<string, unknown>, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function writes(rules: EntityRules, role: string | null): role is string {
  return role !== null && has(rules.edit, role) && rules.edit[role]!.length > 0;
}

/** Whether `role` may edit `field` (R2, R4). */
export function canEditField(rules: EntityRules, field: string, role: string | null): boolean {
  if (!writes(rules, role)) return false;
  if (rules.ownerOnly.includes(field) && role !== rules.ownerRole) return false;
  const containing = Object.keys(rules.groups).filter((g) => rules.groups[g]!.includes(field));
  return containing.length === 0 || containing.some((g) => rules.edit[role]!.includes(g));
}

/** The fields `role` may edit. */
export function editableFields(rules: EntityRules, role: string | null): string[] {
  return rules.fields.filter((f) => canEditField(rules, f, role));
}

/** Whether `role` may do `action` (with `field`: edit that field) on a row (R1–R4). */
export function can(rules: EntityRules, role: string | null, action: Action, field?: string): boolean {
  if (!writes(rules, role)) return false;
  if (action === "create") return rules.create.includes(role);
  if (action === "delete") return rules.delete.includes(role);
  return field === undefined ? editableFields(rules, role).length > 0 : canEditField(rules, field, role);
}

/** The fields a write sets (R5). */
export function writtenFields(rules: EntityRules, op: WriteOp, values: Record<string, unknown>): string[] {
  if (op === "delete") return [];
  return Object.keys(values).filter((f) => {
    if (f === rules.key || f === "_sync_status" || values[f] === undefined) return false;
    if (op === "create") return f !== rules.scope && values[f] !== null;
    return true;
  });
}

/**
 * The refusal of a write, or null when `role` may make it. `values`: the create's row or the
 * update's changes; `targetRole`: for an update that changes the scope column, the caller's
 * role at the new scope value (R6).
 */
export function refusalOf(rules: EntityRules, op: WriteOp, role: string | null, values: Record<string, unknown> = {}, targetRole?: string | null): Refusal | null {
  const refuse = (reason: Refusal["reason"], field: string | null, message: string): Refusal => ({ entity: rules.entity, op, field, role, reason, message });
  const who = role === null ? "You have no role" : `The role "${role}" is read-only`;
  if (!writes(rules, role)) return refuse(role === null ? "no-role" : "read-only", null, `${who} on this ${rules.entity}: it may not ${op === "update" ? "edit" : op} it.`);
  if (op === "create" && !rules.create.includes(role)) return refuse("op", null, `The role "${role}" may not create a ${rules.entity} (x-rbac.create: ${rules.create.join(", ") || "none"}).`);
  if (op === "delete" && !rules.delete.includes(role)) return refuse("op", null, `The role "${role}" may not delete a ${rules.entity} (x-rbac.delete: ${rules.delete.join(", ") || "none"}).`);
  for (const field of writtenFields(rules, op, values)) {
    if (canEditField(rules, field, role)) continue;
    if (rules.ownerOnly.includes(field) && role !== rules.ownerRole) return refuse("owner-only", field, `The role "${role}" may not set ${rules.entity}.${field}: only the ${rules.ownerRole} may (x-owner-only).`);
    return refuse("field-group", field, `The role "${role}" may not set ${rules.entity}.${field}: it is outside the role's field groups (${rules.edit[role]!.join(", ")}).`);
  }
  if (op === "update" && rules.scope !== null && has(values, rules.scope) && targetRole !== undefined) {
    const there = refusalOf(rules, "create", targetRole, {});
    if (there) return refuse("move", rules.scope, `This ${rules.entity} may not move to ${rules.scope} ${JSON.stringify(values[rules.scope])}: ${there.message}`);
  }
  return null;
}
