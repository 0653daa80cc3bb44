/**
 * The HTTP layer: one route per spec operation, validation, the write path, faults, problems.
 *
 * Response conventions:
 *  - bodies are the spec's schemas (no envelope); errors are application/problem+json;
 *  - every successful write carries its txid in the `X-Txid` header (a decimal string), also on
 *    the 204 of DELETE and on a replayed idempotent response.
 *
 * Who is asking (auth.ts): `POST /api/login` signs in; every other `/api/*` route and the shape
 * proxy (`GET /v1/shape`) need the bearer token it returns (401 without) and see the user's
 * household only. Idempotency keys are per user.
 */
import type { HttpBindings } from "@hono/node-server";
import { Hono, type Context } from "hono";
import { cors } from "hono/cors";
import { createShapeProxy, shapesFromSpec, type SpecPermissions, type SpecShapes } from "../../../src/server/index.js";
import type { Auth, SessionUser } from "./auth.js";
import { withTransaction, type Db } from "./db.js";
import type { Faults, FaultSettings } from "./faults.js";
import { buildHandlers, type Handler, type Reply, type RequestData } from "./handlers.js";
import { HttpError, notFound } from "./problem.js";
import type { Json, Operation, Spec } from "./spec.js";
import { bodyValidator, paramValidator, type BodyValidator, type ParamValidator } from "./validate.js";
import { runWrite } from "./write.js";

type Env = { Bindings: HttpBindings; Variables: { user: SessionUser } };
type Ctx = Context<Env>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AppOptions {
  spec: Spec;
  db: Db;
  faults: Faults | null;
  auth: Auth;
  /** Electric's shape endpoint the proxy at /v1/shape asks; without it /v1/shape answers 503. */
  electricUrl?: string;
  /** The generated `server/shapes.json` (columns and scope column per synced table). */
  shapes: SpecShapes;
  /** The generated `server/permissions.json` (x-rbac's rules, checked on every write). */
  permissions: SpecPermissions;
  log: (message: string) => void;
}

/** Electric's response headers the browser's client must read (cross-origin). */
const ELECTRIC_HEADERS = ["electric-handle", "electric-offset", "electric-schema", "electric-cursor", "electric-up-to-date", "electric-has-data", "etag"];

export function createApp({ spec, db, faults, auth, electricUrl, shapes, permissions, log }: AppOptions): Hono<Env> {
  const app = new Hono<Env>();
  const handlers = buildHandlers(spec, permissions);

  app.use("*", cors({ origin: "*", exposeHeaders: ["X-Txid", "Retry-After", "Idempotent-Replayed", ...ELECTRIC_HEADERS], maxAge: 600 }));

  app.post("/api/login", async (c) => c.json(await auth.login(await c.req.json().catch(() => null))));
  app.use("/api/*", async (c, next) => {
    const user = await auth.authenticate(c.req.header("Authorization"));
    if (!user) throw new HttpError(401, "Sign in first: this request has no valid bearer token.", undefined, { "WWW-Authenticate": "Bearer" });
    c.set("user", user);
    await next();
  });
  app.get("/api/me", (c) => {
    const u = c.get("user");
    return c.json({ user: { id: u.userId, email: u.email, name: u.name }, household: { id: u.householdId, name: u.householdName }, role: u.role });
  });

  // The shape proxy: the server decides table, columns and the `where`: the user's own
  // memberships (household_members, scope user_id), the household's rows of the others.
  const proxy = electricUrl
    ? createShapeProxy<SessionUser>({
        electricUrl,
        shapes: shapesFromSpec<SessionUser>(shapes, { scope: (user, shape) => (shape.scope === "user_id" ? user.userId : user.householdId) }),
        authenticate: (request) => auth.authenticate(request.headers.get("authorization")),
      })
    : null;
  app.on(["GET", "HEAD"], "/v1/shape", (c) => (proxy ? proxy(c.req.raw) : Promise.resolve(problem(new HttpError(503, "This server has no Electric URL (ELECTRIC_URL) to proxy shapes to.")))));
  if (faults) {
    app.use("/api/*", async (c, next) => {
      await next();
      const ms = faults.current.delayMs;
      if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    });
    mountFaultAdmin(app, faults);
  }

  for (const op of spec.operations) {
    const handler = handlers.get(op.operationId);
    if (!handler) throw new Error(`no handler for ${op.operationId}`);
    const route = op.path.replace(/\{([^}]+)\}/g, ":$1");
    app.on(op.method.toUpperCase(), route, operationRoute(spec, op, handler, db, faults));
  }

  app.notFound(() => problem(notFound("Route")));
  app.onError((err) => {
    if (err instanceof HttpError) return problem(err);
    log(`internal error: ${err.stack ?? String(err)}`);
    return problem(new HttpError(500, "The server failed to handle the request."));
  });
  return app;
}

function operationRoute(spec: Spec, op: Operation, handler: Handler, db: Db, faults: Faults | null) {
  const pathParams = paramValidator(op.parameters.filter((p) => p.in === "path"));
  const queryParams = paramValidator(op.parameters.filter((p) => p.in === "query"));
  const mode = op.kind === "update" ? "update" : "create";
  const component = op.requestSchema ? spec.schemas[op.requestSchema] : undefined;
  if (op.requestSchema && !component) throw new Error(`${op.operationId}: schema ${op.requestSchema} not found`);
  const body = component ? bodyValidator(component, mode) : null;
  const isWrite = op.method !== "get";

  return async (c: Ctx): Promise<Response> => {
    const rawBody = isWrite ? await c.req.text() : "";
    const req = parseRequest(c, rawBody, pathParams, queryParams, body, op.resource?.synced === true);
    const user = req.user;
    if (!isWrite) {
      return json(await withTransaction(db, (tx) => handler(tx, req)));
    }
    const retryAfter = faults?.takeFailure() ?? null;
    if (retryAfter !== null) {
      throw new HttpError(503, "Injected failure: try again later.", undefined, { "Retry-After": retryAfter });
    }
    // Per user: another user's request under the same key is a request of its own.
    const key = c.req.header("Idempotency-Key");
    const idempotencyKey = key === undefined ? null : `${user.userId}:${key}`;
    const result = await runWrite(db, { method: op.method.toUpperCase(), path: c.req.path, rawBody, idempotencyKey }, (tx) =>
      handler(tx, req),
    );
    if (faults?.takeDrop()) {
      c.env.incoming.socket.destroy();
    }
    return json(result.reply, { "X-Txid": result.txid, ...(result.replayed ? { "Idempotent-Replayed": "true" } : {}) });
  };
}

function parseRequest(
  c: Ctx,
  rawBody: string,
  pathParams: ParamValidator,
  queryParams: ParamValidator,
  body: BodyValidator | null,
  synced: boolean,
): RequestData {
  const params = pathParams(c.req.param());
  // A malformed id cannot name an existing row.
  if (!params.ok) throw notFound("Resource");
  const query = queryParams(c.req.query());
  if (!query.ok) throw new HttpError(422, "Invalid query parameters.", query.errors);
  let value: Record<string, Json> = {};
  if (body) {
    let parsed: unknown;
    try {
      parsed = rawBody === "" ? undefined : JSON.parse(rawBody);
    } catch {
      throw new HttpError(400, "The request body is not valid JSON.");
    }
    const checked = body(parsed);
    if (!checked.ok) throw new HttpError(422, "The request body does not match the schema.", checked.errors);
    value = checked.value;
  }
  return { params: params.value, query: query.value, body: value, writeId: synced ? writeIdOf(c) : null, user: c.get("user") };
}

/** X-Change-Id (must be a uuid), else an Idempotency-Key that happens to be a uuid, else none. */
function writeIdOf(c: Ctx): string | null {
  const changeId = c.req.header("X-Change-Id");
  if (changeId !== undefined) {
    if (!UUID.test(changeId)) throw new HttpError(400, "X-Change-Id must be a uuid.");
    return changeId.toLowerCase();
  }
  const key = c.req.header("Idempotency-Key");
  return key !== undefined && UUID.test(key) ? key.toLowerCase() : null;
}

function json(reply: Reply, headers: Record<string, string> = {}): Response {
  if (reply.body === undefined) return new Response(null, { status: reply.status, headers });
  return new Response(JSON.stringify(reply.body), {
    status: reply.status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

function problem(err: HttpError): Response {
  return new Response(JSON.stringify(err.problem), {
    status: err.status,
    headers: { "Content-Type": "application/problem+json", ...err.headers },
  });
}

/** GET shows, POST changes (a partial FaultState), DELETE resets the fault settings. */
function mountFaultAdmin(app: Hono<Env>, faults: Faults): void {
  app.get("/__faults", (c) => c.json(faults.current));
  app.post("/__faults", async (c) => {
    const settings: unknown = await c.req.json().catch(() => null);
    if (typeof settings !== "object" || settings === null || Array.isArray(settings)) {
      throw new HttpError(400, "Expected a JSON object of fault settings.");
    }
    try {
      faults.set(settings as FaultSettings);
    } catch (err) {
      throw new HttpError(422, err instanceof Error ? err.message : String(err));
    }
    return c.json(faults.current);
  });
  app.delete("/__faults", (c) => {
    faults.reset();
    return c.json(faults.current);
  });
}
