/**
 * One handler per operationId: generic CRUD for the spec's resources, and the reports.
 * Handlers run inside a transaction opened by the app (for writes, the one whose txid is returned)
 * and get already validated parameters and body.
 */
import type { SessionUser } from "./auth.js";
import type { Tx } from "./db.js";
import { tableSql } from "./crud.js";
import { invalid, notFound } from "./problem.js";
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

export function buildHandlers(spec: Spec): Map<string, Handler> {
  const handlers = new Map<string, Handler>();
  for (const op of spec.operations) {
    const handler = op.resource && op.kind ? crudHandler(spec, op, op.resource) : REPORTS[op.operationId];
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

function crudHandler(spec: Spec, op: Operation, resource: Resource): Handler {
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
      return async (tx, req) => ({ status, body: project(await sql.insert(tx, req.user.householdId, checked(req), req.writeId)) });
    case "update":
      return async (tx, req) => {
        const row = await sql.update(tx, req.user.householdId, idOf(req), checked(req), req.writeId);
        if (!row) throw notFound(what);
        return { status, body: project(row) };
      };
    case "delete":
      return async (tx, req) => {
        if (!(await sql.remove(tx, req.user.householdId, idOf(req), req.writeId))) throw notFound(what);
        return { status };
      };
    default:
      throw new Error(`${op.operationId}: unsupported ${op.method.toUpperCase()} ${op.path}`);
  }
}
