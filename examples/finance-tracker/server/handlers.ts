/**
 * One handler per operationId: generic CRUD for the spec's resources, and the reports.
 * Handlers run inside a transaction opened by the app (for writes, the one whose txid is returned)
 * and get already validated parameters and body.
 *
 * Roles (issue #15): every create, update and delete of an entity with x-rbac is checked with
 * `findRefusal` against the generated `server/permissions.json` (the same rules as the client's
 * hooks) and the caller's role in `household_members`; a refused write is a 403 problem+json
 * that names the entity, field, role and reason, and nothing is written.
 */
import { findRefusal, refusalProblem, type SpecPermissions, type WriteOp } from "../../../src/server/index.js";
import type { SessionUser } from "./auth.js";
import type { Row, Tx } from "./db.js";
import { tableSql } from "./crud.js";
import { ForbiddenError, invalid, notFound } from "./problem.js";
import { projector } from "./project.js";
import { REPORTS } from "./reports.js";
import { checkRules } from "./rules.js";
import type { Json, Operation, Resource, Spec } from "./spec.js";

export interface RequestData {
  params: Record<string, Json>;
  query: Record<string, Json>;
  body: Record<string, Json>;
  /** The client's change id (X-Change-Id, or an Idempotency-Key that is a uuid). */
  writeId: string | null;
  /** Who is asking: every read and write is limited to `user.householdId`. */
  user: SessionUser;
}

export interface Reply {
  status: number;
  /** Absent for 204. */
  body?: Json;
}

export type Handler = (tx: Tx, req: RequestData) => Promise<Reply>;

/** The signed-in user's own memberships (the synced, read-only `household_members`). */
const OWN: Record<string, Handler> = {
  listHouseholdMembers: async (tx, req) => ({
    status: 200,
    body: (await tx.query<Row>(`SELECT id, user_id, household_id, role FROM household_members WHERE user_id = $1 ORDER BY household_id`, [req.user.userId])).rows as Json,
  }),
};

export function buildHandlers(spec: Spec, permissions: SpecPermissions): Map<string, Handler> {
  const handlers = new Map<string, Handler>();
  for (const op of spec.operations) {
    const handler = op.resource && op.kind ? crudHandler(spec, op, op.resource, permissions) : (REPORTS[op.operationId] ?? OWN[op.operationId]);
    if (!handler) throw new Error(`no handler for operation ${op.operationId} (${op.method.toUpperCase()} ${op.path})`);
    handlers.set(op.operationId, handler);
  }
  return handlers;
}

/** Columns that name a row of another table; the row must be of the same household. */
const REFERENCES: Record<string, Record<string, string>> = {
  accounts: { contact_id: "contacts" },
  transactions: { account_id: "accounts", category_id: "categories" },
  categories: { parent_id: "categories" },
};

/**
 * Throws a 403 when the caller's role does not allow the write (entities without x-rbac: no check).
 * `row`: the stored row (update, delete) or the row to insert with its household (create).
 */
async function checkRole(tx: Tx, permissions: SpecPermissions, table: string, op: WriteOp, req: RequestData, row: Record<string, unknown>): Promise<void> {
  if (!permissions.entities[table]) return;
  const roleOf = async (household: unknown): Promise<string | null> =>
    (await tx.query<{ role: string }>(`SELECT role FROM household_members WHERE user_id = $1 AND household_id = $2`, [req.user.userId, String(household)])).rows[0]?.role ?? null;
  const refusal = await findRefusal(permissions, { entity: table, op, row, values: req.body, roleOf });
  if (refusal) throw new ForbiddenError(refusalProblem(refusal));
}

function crudHandler(spec: Spec, op: Operation, resource: Resource, permissions: SpecPermissions): Handler {
  const component = spec.schemas[resource.schemaName];
  if (!component) throw new Error(`${op.operationId}: schema ${resource.schemaName} not found`);
  const props = component.properties;
  const sql = tableSql({
    table: resource.table,
    writeId: resource.synced,
    updatedAt: typeof props === "object" && props !== null && !Array.isArray(props) && "updated_at" in props,
    references: REFERENCES[resource.table] ?? {},
  });
  const project = projector(component);
  const what = resource.schemaName;
  const idOf = (req: RequestData): string => String(req.params.id);
  const checked = (req: RequestData): Record<string, Json> => {
    const errors = checkRules(resource.table, req.body);
    if (errors) throw invalid(errors);
    return req.body;
  };
  const status = op.successStatus;

  switch (op.kind) {
    case "list":
      return async (tx, req) => ({ status, body: (await sql.list(tx, req.user.householdId)).map(project) });
    case "get":
      return async (tx, req) => {
        const row = await sql.get(tx, req.user.householdId, idOf(req));
        if (!row) throw notFound(what);
        return { status, body: project(row) };
      };
    case "create":
      return async (tx, req) => {
        await checkRole(tx, permissions, resource.table, "create", req, { ...req.body, household_id: req.user.householdId });
        return { status, body: project(await sql.insert(tx, req.user.householdId, checked(req), req.writeId)) };
      };
    case "update":
      return async (tx, req) => {
        const stored = await sql.get(tx, req.user.householdId, idOf(req));
        if (!stored) throw notFound(what);
        await checkRole(tx, permissions, resource.table, "update", req, stored);
        const row = await sql.update(tx, req.user.householdId, idOf(req), checked(req), req.writeId);
        if (!row) throw notFound(what);
        return { status, body: project(row) };
      };
    case "delete":
      return async (tx, req) => {
        const stored = await sql.get(tx, req.user.householdId, idOf(req));
        if (!stored) throw notFound(what);
        await checkRole(tx, permissions, resource.table, "delete", req, stored);
        if (!(await sql.remove(tx, req.user.householdId, idOf(req), req.writeId))) throw notFound(what);
        return { status };
      };
    default:
      throw new Error(`${op.operationId}: unsupported ${op.method.toUpperCase()} ${op.path}`);
  }
}
