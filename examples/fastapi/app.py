"""A FastAPI backend for a sync-patterns client: the whole backend contract (docs/backend.md).

- Writes: one transaction each, answering with the transaction's id in `X-Txid`
  (`pg_current_xact_id()::xid::text`, read inside that transaction).
- Idempotency: the first answer to an `Idempotency-Key` (status, body and txid) is stored in the
  write's own transaction and replayed for 24 hours; keys belong to the user who sent them; a key
  reused with another request is a 422.
- Errors: RFC 9457 problem+json, with `errors` per field for invalid bodies.
- Scope: every todo belongs to a household (`x-sync: { scope: household_id }`); the server sets
  it from the signed-in user and filters every read and write by it.
- Roles: a user's role in a household is their `household_members` row. Every create, update
  and delete of a todo is checked against the rules the generator wrote to `server/permissions.json`
  from the spec's `x-rbac` and `x-owner-only` (permissions.py: rules R1-R6, the client's hooks
  decide with the same rules); a refused write is a 403 problem+json naming entity, op, field,
  role and reason, and nothing is written.
- The shape proxy (`GET /v1/shape`): authenticates, then asks Electric for the server's shape
  (table, columns, where + params) — never the client's — passes Electric's headers through and
  streams the body.

Run: DATABASE_URL=postgres://… ELECTRIC_URL=http://localhost:3000/v1/shape \
     SHAPES_JSON=../app/src/generated/server/shapes.json uvicorn app:app --port 8000
(PERMISSIONS_JSON defaults to the permissions.json beside SHAPES_JSON.)
Debian packages: python3-fastapi python3-uvicorn python3-psycopg2 python3-httpx.
"""

import hashlib
import json
import os
import re
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Dict, List, Optional
from uuid import UUID

import httpx
import psycopg2
import psycopg2.errors
import psycopg2.extras
import psycopg2.pool
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Extra, StrictBool, ValidationError, conint, constr
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

import permissions

DATABASE_URL = os.environ["DATABASE_URL"]
# Electric's shape endpoint, e.g. http://localhost:3000/v1/shape.
ELECTRIC_URL = os.environ.get("ELECTRIC_URL", "http://localhost:3000/v1/shape")
ELECTRIC_SECRET = os.environ.get("ELECTRIC_SECRET")
# Written by `sync-patterns generate` next to the client: each entity's table, columns and scope.
SHAPES_JSON = Path(os.environ.get("SHAPES_JSON", Path(__file__).parent / "shapes.json"))
# Written by the same `generate`: the write rules of x-rbac and x-owner-only per entity.
PERMISSIONS_JSON = Path(os.environ.get("PERMISSIONS_JSON", SHAPES_JSON.parent / "permissions.json"))
KEY_TTL = "24 hours"

app = FastAPI(title="Household todos")
pool: Optional[psycopg2.pool.ThreadedConnectionPool] = None
electric: Optional[httpx.AsyncClient] = None
SHAPES: Dict[str, Dict[str, Any]] = json.loads(SHAPES_JSON.read_text())["shapes"]
RULES: Dict[str, Any] = permissions.load(PERMISSIONS_JSON)


@app.on_event("startup")
async def startup() -> None:
    global pool, electric
    pool = psycopg2.pool.ThreadedConnectionPool(1, 10, DATABASE_URL)
    with connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(4242)")
        cur.execute((Path(__file__).parent / "schema.sql").read_text())
    # Electric holds live requests up to 20 s: read timeout above that.
    electric = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0))


@app.on_event("shutdown")
async def shutdown() -> None:
    if electric:
        await electric.aclose()
    if pool:
        pool.closeall()


@contextmanager
def connection():
    """A pooled connection; the block is one transaction (committed, or rolled back on error)."""
    assert pool is not None
    conn = pool.getconn()
    try:
        with conn:
            yield conn
    finally:
        pool.putconn(conn)


# ---------------------------------------------------------------- errors: problem+json


class Problem(Exception):
    def __init__(self, status: int, detail: str, errors: Optional[Dict[str, List[str]]] = None, headers: Optional[Dict[str, str]] = None, extra: Optional[Dict[str, Any]] = None):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers, self.extra = status, detail, errors, headers or {}, extra or {}


TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed", 409: "Conflict", 422: "Unprocessable content"}


def problem_response(status: int, detail: str, errors=None, headers=None, extra=None) -> JSONResponse:
    body: Dict[str, Any] = {"type": "about:blank", "title": TITLES.get(status, f"HTTP {status}"), "status": status, "detail": detail, **(extra or {})}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers={"cache-control": "no-store", **(headers or {})})


@app.exception_handler(Problem)
async def on_problem(_: Request, exc: Problem) -> JSONResponse:
    return problem_response(exc.status, exc.detail, exc.errors, exc.headers, exc.extra)


@app.exception_handler(StarletteHTTPException)
async def on_http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    return problem_response(exc.status_code, str(exc.detail))


@app.exception_handler(RequestValidationError)
async def on_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
    return problem_response(422, "The request is invalid.", field_errors(exc.errors()))


def field_errors(errors) -> Dict[str, List[str]]:
    out: Dict[str, List[str]] = {}
    for e in errors:
        field = ".".join(str(p) for p in e["loc"] if p != "__root__") or "body"
        out.setdefault(field, []).append(e["msg"])
    return out


# ---------------------------------------------------------------- auth


def authenticate(request: Request) -> Optional[Dict[str, Any]]:
    """The user of a `Authorization: Bearer <token>` request, or None."""
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return None
    with connection() as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        # A user acts in users.household_id, as a member of it: without a membership there (one
        # revoked), the token no longer signs in (as the Hono example's). user_id: the scope value
        # of the user's own memberships (household_members' shape).
        cur.execute(
            """SELECT u.id, u.id AS user_id, u.household_id FROM users u
               JOIN household_members m ON m.user_id = u.id AND m.household_id = u.household_id
               WHERE u.token = %s""",
            (header[len("Bearer "):],),
        )
        return cur.fetchone()


async def require_user(request: Request) -> Dict[str, Any]:
    user = await run_in_threadpool(authenticate, request)
    if user is None:
        raise Problem(401, "Sign in: this request has no valid credentials.", headers={"www-authenticate": "Bearer"})
    return user


# ---------------------------------------------------------------- bodies

Title = constr(strict=True, min_length=1)
Priority = conint(strict=True, ge=1, le=3)
# The spec's readOnly properties: the server sets them, a body's value is ignored (as the Hono
# example does). household_id is the scope: it is never taken from a body, so a row never moves.
READ_ONLY = ("household_id", "created_at")


class TodoCreate(BaseModel):
    id: UUID
    title: Title  # type: ignore[valid-type]
    done: StrictBool = False
    tags: Optional[List[constr(strict=True)]] = None  # type: ignore[valid-type]
    due_on: Optional[date] = None
    priority: Optional[Priority] = None  # type: ignore[valid-type]

    class Config:
        extra = Extra.forbid


class TodoUpdate(BaseModel):
    title: Optional[Title]  # type: ignore[valid-type]
    done: Optional[StrictBool]
    tags: Optional[List[constr(strict=True)]]  # type: ignore[valid-type]
    due_on: Optional[date]
    priority: Optional[Priority]  # type: ignore[valid-type]

    class Config:
        extra = Extra.forbid


def parse(model, raw: bytes, ignored=READ_ONLY):
    try:
        data = json.loads(raw or b"null")
    except ValueError:
        raise Problem(400, "The request body is not valid JSON.")
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in ignored}
    try:
        return model.parse_obj(data)
    except ValidationError as e:
        raise Problem(422, "The request body does not match the schema.", field_errors(e.errors()))


def todo_json(row: Dict[str, Any]) -> Dict[str, Any]:
    due = row["due_on"]
    return {**row, "id": str(row["id"]), "created_at": row["created_at"].isoformat(timespec="milliseconds"), "due_on": due and due.isoformat()}


def json_value(value: Any) -> Any:
    """A parsed body value as JSON would carry it (dates as strings), for the role check."""
    return value.isoformat() if isinstance(value, date) else value


# ---------------------------------------------------------------- roles


def check_role(cur, user, op: str, row: Dict[str, Any], values: Dict[str, Any]) -> None:
    """Raises a 403 when the caller's role does not allow the write (permissions.py, rules from
    permissions.json). `row`: the stored row (update, delete) or the row to insert (create)."""

    def role_of(household):
        cur.execute("SELECT role FROM household_members WHERE user_id = %s AND household_id = %s", (user["id"], None if household is None else str(household)))
        found = cur.fetchone()
        return found["role"] if found else None

    refusal = permissions.find_refusal(RULES, "todos", op, row, {k: json_value(v) for k, v in values.items()}, role_of)
    if refusal is not None:
        raise Problem(403, refusal["message"], extra={k: refusal[k] for k in ("entity", "op", "field", "role", "reason")})


# ---------------------------------------------------------------- writes: one transaction, txid, idempotency


def run_write(user, key: Optional[str], request: Request, raw: bytes, apply) -> Response:
    """Runs `apply(cursor) -> (status, body)` in one transaction with its txid and Idempotency-Key."""
    fingerprint = f"{request.method} {request.url.path} {hashlib.sha256(raw).hexdigest()}"
    with connection() as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        if key is not None:
            # Claim the key (new, or expired). A concurrent request with the same key waits here
            # until the first commits (then replays it) or rolls back (then runs itself).
            cur.execute(
                """INSERT INTO idempotency_keys (user_id, key, fingerprint) VALUES (%s, %s, %s)
                   ON CONFLICT (user_id, key) DO UPDATE
                     SET fingerprint = EXCLUDED.fingerprint, status = NULL, body = NULL, txid = NULL, created_at = now()
                     WHERE idempotency_keys.created_at < now() - %s::interval""",
                (user["id"], key, fingerprint, KEY_TTL),
            )
            if cur.rowcount == 0:
                cur.execute("SELECT fingerprint, status, body, txid FROM idempotency_keys WHERE user_id = %s AND key = %s", (user["id"], key))
                stored = cur.fetchone()
                if stored["fingerprint"] != fingerprint:
                    raise Problem(422, "This Idempotency-Key was already used for a different request.", {"Idempotency-Key": ["was used with another method, path or body"]})
                return reply(stored["status"], stored["body"], stored["txid"], replayed=True)
        try:
            status, body = apply(cur)
        except psycopg2.errors.UniqueViolation:
            raise Problem(409, "A row with this id exists.")
        cur.execute("SELECT pg_current_xact_id()::xid::text AS txid")
        txid = cur.fetchone()["txid"]
        if key is not None:
            cur.execute(
                "UPDATE idempotency_keys SET status = %s, body = %s, txid = %s WHERE user_id = %s AND key = %s",
                (status, None if body is None else psycopg2.extras.Json(body), txid, user["id"], key),
            )
    return reply(status, body, txid, replayed=False)


def reply(status: int, body, txid: str, replayed: bool) -> Response:
    headers = {"x-txid": txid, **({"idempotent-replayed": "true"} if replayed else {})}
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


@app.get("/api/todos")
async def list_todos(request: Request):
    user = await require_user(request)

    def query():
        with connection() as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute("SELECT * FROM todos WHERE household_id = %s ORDER BY created_at, id", (user["household_id"],))
            return [todo_json(r) for r in cur.fetchall()]

    return await run_in_threadpool(query)


@app.post("/api/todos")
async def create_todo(request: Request):
    user = await require_user(request)
    raw = await request.body()
    todo = parse(TodoCreate, raw)

    def apply(cur):
        sent = todo.dict(exclude_unset=True)
        check_role(cur, user, "create", {**sent, "household_id": user["household_id"]}, sent)
        cur.execute(
            "INSERT INTO todos (id, household_id, title, done, tags, due_on, priority) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
            (str(todo.id), user["household_id"], todo.title, todo.done, None if todo.tags is None else psycopg2.extras.Json(todo.tags), todo.due_on, todo.priority),
        )
        return 201, todo_json(cur.fetchone())

    return await run_in_threadpool(run_write, user, request.headers.get("idempotency-key"), request, raw, apply)


@app.patch("/api/todos/{todo_id}")
async def update_todo(todo_id: UUID, request: Request):
    user = await require_user(request)
    raw = await request.body()
    values = parse(TodoUpdate, raw, READ_ONLY + ("id",)).dict(exclude_unset=True)
    if "title" in values and values["title"] is None:
        raise Problem(422, "The request body does not match the schema.", {"title": ["may not be null"]})
    if "done" in values and values["done"] is None:
        raise Problem(422, "The request body does not match the schema.", {"done": ["may not be null"]})

    def apply(cur):
        # Scoped: another household's row is "not found", exactly like a missing one.
        cur.execute("SELECT * FROM todos WHERE id = %s AND household_id = %s FOR UPDATE", (str(todo_id), user["household_id"]))
        stored = cur.fetchone()
        if stored is None:
            raise Problem(404, "Todo not found.")
        check_role(cur, user, "update", stored, values)
        sets = ["id = id"] + [f'"{name}" = %s' for name in values]
        params = [psycopg2.extras.Json(v) if name == "tags" and v is not None else v for name, v in values.items()]
        cur.execute(f"UPDATE todos SET {', '.join(sets)} WHERE id = %s AND household_id = %s RETURNING *", (*params, str(todo_id), user["household_id"]))
        return 200, todo_json(cur.fetchone())

    return await run_in_threadpool(run_write, user, request.headers.get("idempotency-key"), request, raw, apply)


@app.delete("/api/todos/{todo_id}")
async def delete_todo(todo_id: UUID, request: Request):
    user = await require_user(request)

    def apply(cur):
        cur.execute("SELECT * FROM todos WHERE id = %s AND household_id = %s FOR UPDATE", (str(todo_id), user["household_id"]))
        stored = cur.fetchone()
        if stored is None:
            raise Problem(404, "Todo not found.")
        check_role(cur, user, "delete", stored, {})
        cur.execute("DELETE FROM todos WHERE id = %s AND household_id = %s", (str(todo_id), user["household_id"]))
        return 204, None

    return await run_in_threadpool(run_write, user, request.headers.get("idempotency-key"), request, b"", apply)


@app.get("/api/household_members")
async def list_household_members(request: Request):
    """The signed-in user's own memberships: the synced table the client reads roles from."""
    user = await require_user(request)

    def query():
        with connection() as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute("SELECT id::text AS id, user_id, household_id, role FROM household_members WHERE user_id = %s ORDER BY household_id", (user["id"],))
            return cur.fetchall()

    return await run_in_threadpool(query)


@app.get("/health")
async def health():
    return {"ok": True}


# ---------------------------------------------------------------- the shape proxy

# Electric's protocol params a client may set: where in the stream it is, how to wait. Never
# `table`, `where`, `params[n]`, `columns` or `secret`: those are the server's. Subset snapshots
# only by key (subset_by_key).
CLIENT_PARAMS = ("offset", "handle", "live", "cursor", "live_sse", "experimental_live_sse", "replica", "log")
# The body is passed on as Electric encoded it (aiter_raw), so content-encoding stays; the length
# and hop-by-hop headers belong to the upstream connection.
DROPPED = {"content-length", "transfer-encoding", "connection", "keep-alive"}
VARY_ON = ("authorization", "cookie")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_column(name: str) -> str:
    simple = name[:1].isalpha() or name[:1] == "_"
    return name if simple and all(c.islower() or c.isdigit() or c == "_" for c in name) else quote_ident(name)


SUBSET_BY_KEY = re.compile(r'^\s*("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)\s+IN\s*\(\s*(\$\d+(?:\s*,\s*\$\d+)*)\s*\)\s*$', re.I)


def subset_by_key(where: str, params: Optional[str], key: str):
    """The one subset snapshot the client sends (rows by key: `"id" IN ($1, …)`), made canonical; else None."""
    m = SUBSET_BY_KEY.match(where)
    if not m:
        return None
    column = m.group(1)[1:-1].replace('""', '"') if m.group(1).startswith('"') else m.group(1).lower()
    refs = [int(r.strip()[1:]) for r in m.group(2).split(",")]
    if column != key or refs != list(range(1, len(refs) + 1)):
        return None
    try:
        values = json.loads(params or "")
    except ValueError:
        return None
    if not isinstance(values, dict) or len(values) != len(refs):
        return None
    out = {}
    for i in refs:
        v = values.get(str(i))
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            return None
        out[str(i)] = v
    return f"{quote_ident(key)} IN ({', '.join(f'${i}' for i in refs)})", json.dumps(out)


@app.get("/v1/shape")
async def shape_proxy(request: Request):
    user = await run_in_threadpool(authenticate, request)
    if user is None:
        return problem_response(401, "Sign in to sync: this request has no valid credentials.", headers={"www-authenticate": "Bearer"})
    name = request.query_params.get("table")
    shape = SHAPES.get(name) if name is not None else None
    if shape is None:
        return problem_response(404, f"There is no shape {json.dumps(name)}.")
    params = [(p, request.query_params[p]) for p in CLIENT_PARAMS if p in request.query_params]
    params += [("table", shape["table"]), ("columns", ",".join(quote_column(c) for c in shape["columns"]))]
    if shape["scope"] is not None:
        # The scope value is the user's own attribute of that name (users.household_id).
        params += [("where", f"{quote_ident(shape['scope'])} = $1"), ("params[1]", str(user[shape["scope"]]))]
    if "subset__where" in request.query_params:
        # A subset snapshot (the client re-reads a confirmed write): by key only; Electric
        # evaluates it inside the shape's where.
        subset = subset_by_key(request.query_params["subset__where"], request.query_params.get("subset__params"), shape["key"])
        if subset is None:
            return problem_response(400, "This shape endpoint serves subset snapshots by key only.")
        params += [("subset__where", subset[0]), ("subset__params", subset[1])]
    if ELECTRIC_SECRET:
        params.append(("secret", ELECTRIC_SECRET))
    assert electric is not None
    upstream = await electric.send(electric.build_request("GET", ELECTRIC_URL, params=params), stream=True)
    headers = {k: v for k, v in upstream.headers.items() if k.lower() not in DROPPED}
    vary = [v.strip() for v in headers.get("vary", "").split(",") if v.strip()]
    headers["vary"] = ", ".join(vary + [h for h in VARY_ON if h not in {v.lower() for v in vary}])
    return StreamingResponse(upstream.aiter_raw(), status_code=upstream.status_code, headers=headers, background=BackgroundTask(upstream.aclose))
