/**
 * The shape proxy: the app's API in front of Electric. It authenticates the request, looks the
 * client's shape name up in the server's own definitions and asks Electric for exactly that
 * shape: `table`, `where`, `params[n]` and `columns` come from the server, never from the client.
 * Only Electric's protocol params that move a stream along (offset, handle, live, …) are taken
 * from the client. Electric's response headers are passed through and its body is streamed.
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
