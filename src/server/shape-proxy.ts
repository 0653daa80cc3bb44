/**
 * The shape proxy: the app's API in front of Electric. It authenticates the request, looks the
 * client's shape name up in the server's own definitions and asks Electric for exactly that
 * shape: `table`, `where`, `params[n]` and `columns` come from the server, never from the client.
 * Only Electric's protocol params that move a stream along (offset, handle, live, …) are taken
 * from the client, and a subset snapshot only in the one form the generated client sends (rows by
 * key), which Electric evaluates inside the server's `where`. Electric's response headers are passed through and its body is streamed.
 *
 * Built on the Fetch API (`Request` → `Response`), so it runs as a Hono handler, a Next.js
 * route handler, in Deno or Bun, and in Express through `toNodeHandler` (./node.ts).
 * See docs/backend.md#the-shape-proxy.
 */

/** A value of a `where` parameter, sent to Electric as `params[n]`. */
export type WhereParam = string | number | bigint | boolean;

/** A filter of a shape: SQL with `$1`, `$2`, … and their values (Electric evaluates it in Postgres). */
export interface ShapeWhere {
  where: string;
  params?: readonly WhereParam[];
}

export interface ShapeDefinition<User> {
  /** The Postgres table (optionally `schema.table`) Electric reads. */
  table: string;
  /** The columns the client may see (the key included). Default: every column. */
  columns?: readonly string[];
  /**
   * The primary key column. With it, the client's subset snapshots by key (`subset__where="<key>"
   * IN ($1, …)`, what the generated client sends to re-read a confirmed write) are passed on;
   * Electric evaluates them inside this shape's `where`. Without it, subset requests get 400.
   */
  key?: string;
  /**
   * The rows this user may see. `undefined` (or no `where` at all): every row of the table.
   * `null`: the user may not read this shape at all (403).
   */
  where?: (user: User, request: Request) => ShapeWhere | null | undefined | Promise<ShapeWhere | null | undefined>;
}

export interface ShapeProxyOptions<User> {
  /** Electric's shape endpoint, e.g. `http://localhost:3000/v1/shape`. */
  electricUrl: string;
  /** Shape name (the `table` the client asks for) → the server's definition. */
  shapes: Readonly<Record<string, ShapeDefinition<User>>>;
  /** The user of a request, or null when it is not authenticated (401). */
  authenticate: (request: Request) => User | null | undefined | Promise<User | null | undefined>;
  /** Electric's API secret (`ELECTRIC_SECRET`), sent as the `secret` param; never from the client. */
  secret?: string;
  /**
   * Request headers a cached answer depends on, added to the response's `Vary` (Electric's own
   * `Vary` is kept). Default `["authorization", "cookie"]`: a shared cache (CDN) never serves one
   * user's rows to another. See docs/electric.md#cdn-caching.
   */
  varyOn?: readonly string[];
  /** The fetch used to call Electric (tests, instrumentation). */
  fetch?: typeof fetch;
}

/**
 * Electric's protocol params a client may set: they say where in the stream it is and how to
 * wait, not which rows it gets. Everything else the client sends is dropped.
 */
export const CLIENT_PARAMS: readonly string[] = ["offset", "handle", "live", "cursor", "live_sse", "experimental_live_sse", "replica", "log"];

/**
 * Response headers not passed through: `fetch` already decoded the body (so its encoding and
 * length no longer describe what is sent) and hop-by-hop headers belong to one connection.
 */
const DROPPED_RESPONSE_HEADERS = new Set(["content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"]);

export function createShapeProxy<User>(options: ShapeProxyOptions<User>): (request: Request) => Promise<Response> {
  const doFetch = options.fetch ?? fetch;
  const varyOn = options.varyOn ?? ["authorization", "cookie"];
  return async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") return problem(405, "Shapes are read with GET.", { allow: "GET, HEAD" });
    const user = await options.authenticate(request);
    if (user === null || user === undefined) return problem(401, "Sign in to sync: this request has no valid credentials.", { "www-authenticate": "Bearer" });
    const incoming = new URL(request.url);
    const name = incoming.searchParams.get("table");
    const shape = name !== null && Object.hasOwn(options.shapes, name) ? options.shapes[name] : undefined;
    if (!shape) return problem(404, name === null ? "The shape request names no table." : `There is no shape ${JSON.stringify(name)}.`);
    const filter = shape.where ? await shape.where(user, request) : undefined;
    if (filter === null) return problem(403, `You may not read the shape ${JSON.stringify(name)}.`);

    const upstream = new URL(options.electricUrl);
    for (const param of CLIENT_PARAMS) {
      const value = incoming.searchParams.get(param);
      if (value !== null) upstream.searchParams.set(param, value);
    }
    upstream.searchParams.set("table", shape.table);
    if (shape.columns) upstream.searchParams.set("columns", shape.columns.map(quoteColumn).join(","));
    if (filter) {
      upstream.searchParams.set("where", filter.where);
      (filter.params ?? []).forEach((value, i) => upstream.searchParams.set(`params[${i + 1}]`, String(value)));
    }
    const subsetWhere = incoming.searchParams.get("subset__where");
    if (subsetWhere !== null) {
      const subset = shape.key !== undefined ? subsetByKey(subsetWhere, incoming.searchParams.get("subset__params"), shape.key) : undefined;
      if (!subset) {
        return problem(400, `This shape endpoint serves subset snapshots by key only: subset__where=${JSON.stringify(`${quoteColumn(shape.key ?? "<key>")} IN ($1, …)`)} with subset__params {"1": …}.`);
      }
      upstream.searchParams.set("subset__where", subset.where);
      upstream.searchParams.set("subset__params", subset.params);
    }
    if (options.secret) upstream.searchParams.set("secret", options.secret);

    let response: Response;
    try {
      response = await doFetch(upstream, { method: request.method, signal: request.signal });
    } catch (error) {
      if (request.signal.aborted) throw error;
      return problem(502, `Electric did not answer: ${(error as Error).message}`);
    }
    const headers = new Headers();
    response.headers.forEach((value, header) => {
      if (!DROPPED_RESPONSE_HEADERS.has(header)) headers.append(header, value);
    });
    if (varyOn.length) {
      const vary = new Set((headers.get("vary") ?? "").split(",").map((v) => v.trim()).filter(Boolean));
      const known = new Set([...vary].map((v) => v.toLowerCase()));
      for (const h of varyOn) if (!known.has(h.toLowerCase())) vary.add(h);
      headers.set("vary", [...vary].join(", "));
    }
    return new Response(request.method === "HEAD" ? null : response.body, { status: response.status, statusText: response.statusText, headers });
  };
}

/**
 * A subset snapshot the client may ask for: its rows by key, `"<key>" IN ($1, …, $n)` with
 * `{"1": v1, …, "n": vn}` (scalars). Returns the canonical where and params, or undefined for
 * anything else (other columns, operators, functions, subqueries).
 */
export function subsetByKey(where: string, params: string | null, key: string): { where: string; params: string } | undefined {
  const m = /^\s*("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)\s+IN\s*\(\s*(\$\d+(?:\s*,\s*\$\d+)*)\s*\)\s*$/i.exec(where);
  if (!m) return undefined;
  const column = m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replace(/""/g, '"') : m[1]!.toLowerCase();
  if (column !== key) return undefined;
  const refs = m[2]!.split(",").map((r) => Number(r.trim().slice(1)));
  if (!refs.every((n, i) => n === i + 1) || refs.length > 1000) return undefined;
  let values: unknown;
  try {
    values = JSON.parse(params ?? "");
  } catch {
    return undefined;
  }
  if (!values || typeof values !== "object" || Array.isArray(values)) return undefined;
  const entries = Object.entries(values as Record<string, unknown>);
  if (entries.length !== refs.length) return undefined;
  const out: Record<string, string | number> = {};
  for (let i = 1; i <= refs.length; i++) {
    const v = (values as Record<string, unknown>)[String(i)];
    if (typeof v !== "string" && typeof v !== "number") return undefined;
    out[String(i)] = v;
  }
  return { where: `${quoteIdent(key)} IN (${refs.map((n) => `$${n}`).join(", ")})`, params: JSON.stringify(out) };
}

/** A Postgres identifier, always quoted. */
function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Electric's `columns` list: a name with anything but lowercase letters, digits and `_` (or that
 * starts with a digit) is quoted, `"` doubled, as Electric's parser expects.
 */
export function quoteColumn(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** An RFC 9457 problem+json response. */
function problem(status: number, detail: string, headers: Record<string, string> = {}): Response {
  const titles: Record<number, string> = { 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed", 502: "Bad gateway" };
  return new Response(JSON.stringify({ type: "about:blank", title: titles[status] ?? `HTTP ${status}`, status, detail }), {
    status,
    headers: { "content-type": "application/problem+json", "cache-control": "no-store", ...headers },
  });
}
