/**
 * Roles on the server: the same write rules as the client (x-rbac, x-owner-only), read from the
 * generated `server/permissions.json`, decided by the same code (./permission-rules.ts is the
 * client's sync/permission-rules.ts). A backend calls `checkWrite` before each create, update
 * and delete of a synced entity; a refused write gets 403 problem+json naming entity, field and
 * role, which the client shows and rolls back. See docs/backend.md#roles-on-the-server.
 */
import { refusalOf, type PermissionRules, type Refusal, type WriteOp } from "./permission-rules.js";

export { can, canEditField, editableFields, refusalOf, writtenFields, type Action, type EntityRules, type PermissionRules, type Refusal, type WriteOp } from "./permission-rules.js";

/** The contents of the generated `server/permissions.json`. */
export interface SpecPermissions extends PermissionRules {
  /** Synced entities without x-rbac: every write is allowed by the rules (scope still applies). */
  unprotected?: string[];
}

type Awaitable<T> = T | Promise<T>;

export interface WriteCheck {
  /** The entity's table (the key in permissions.json, as in shapes.json). */
  entity: string;
  op: WriteOp;
  /**
   * The row the write is about: for update and delete the row as stored (read it for the user's
   * scope anyway); for create the row about to be inserted, with the scope value the server sets.
   */
  row: Record<string, unknown>;
  /** The request's fields: the create's body or the update's changes. */
  values?: Record<string, unknown>;
  /**
   * The caller's role on rows with this scope value (`SELECT role FROM household_members WHERE
   * user_id = $1 AND household_id = $2`); null or undefined: none. For an entity without a scope
   * column it is called with undefined.
   */
  roleOf: (scopeValue: unknown) => Awaitable<string | null | undefined>;
}

/**
 * The refusal of a write, or null when the caller's role allows it (the rules R1–R6 of
 * permission-rules.ts). Throws a TypeError for an entity permissions.json does not know.
 */
export async function findRefusal(rules: SpecPermissions, check: WriteCheck): Promise<Refusal | null> {
  const entity = rules.entities[check.entity];
  if (!entity) {
    if (rules.unprotected?.includes(check.entity)) return null;
    throw new TypeError(`permissions.json has no entity ${JSON.stringify(check.entity)}: name it by its table (${[...Object.keys(rules.entities), ...(rules.unprotected ?? [])].join(", ")}).`);
  }
  const values = check.values ?? {};
  const scope = entity.scope;
  const roleAt = async (v: unknown): Promise<string | null> => (await check.roleOf(v)) ?? null;
  const role = await roleAt(scope === null ? undefined : check.row[scope]);
  const moved = check.op === "update" && scope !== null && Object.hasOwn(values, scope) && String(values[scope]) !== String(check.row[scope]);
  return refusalOf(entity, check.op, role, values, moved ? await roleAt(values[scope]) : undefined);
}

/**
 * `findRefusal` as a response: null when the write may go ahead, else a 403 problem+json whose
 * `detail` says who may not do what, with the refusal's `entity`, `op`, `field`, `role` and
 * `reason` as extension members. `if (refused) return refused;`
 */
export async function checkWrite(rules: SpecPermissions, check: WriteCheck): Promise<Response | null> {
  const refusal = await findRefusal(rules, check);
  return refusal ? refusalResponse(refusal) : null;
}

/** The 403 problem+json of a refusal. */
export function refusalResponse(refusal: Refusal): Response {
  return new Response(JSON.stringify(refusalProblem(refusal)), { status: 403, headers: { "content-type": "application/problem+json", "cache-control": "no-store" } });
}

/** The problem+json body of a refusal (for frameworks that build their own responses). */
export function refusalProblem(refusal: Refusal): Record<string, unknown> {
  return { type: "about:blank", title: "Forbidden", status: 403, detail: refusal.message, entity: refusal.entity, op: refusal.op, field: refusal.field, role: refusal.role, reason: refusal.reason };
}
