/**
 * A TEST DOUBLE of the Electric sync service: a node:http server on 127.0.0.1 answering
 * `GET /v1/shape` with Electric's HTTP shape protocol, backed by real Postgres logical
 * replication (pgoutput). What it implements and what not: ../README.md. Not for production.
 *
 * Request flow (each step mirrors `Electric.Shapes.Api`):
 *   validate params ─▶ resolve the shape (handle mismatch → 409 + new handle)
 *   ─▶ offset -1: first snapshot chunk, no up-to-date | offset now: up-to-date at once
 *   ─▶ offset X: entries after X (+ up-to-date at the end of the log); live and nothing new:
 *      hold until data (answer it), rotation (409) or timeout (bare up-to-date)
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { HttpError, NOT_SUPPORTED, invalid, parseShapeParams, parseTable } from "./params.js";
import {
  CACHE_CONTROL,
  CURSOR_HEADER,
  DEFAULT_LONG_POLL_TIMEOUT_MS,
  HANDLE_HEADER,
  HANDLE_PARAM,
  HAS_DATA_HEADER,
  MUST_REFETCH,
  OFFSET_HEADER,
  OFFSET_PARAM,
  SCHEMA_HEADER,
  SHAPE_PATH,
  TABLE_PARAM,
  UP_TO_DATE_HEADER,
  formatOffset,
  nextCursor,
  upToDate,
  type LogOffset,
  type Message,
} from "./protocol.js";
import { DISPLAY_OPTIONS, TableNotFoundError, evaluateWhere, qualified, takeSnapshot } from "./postgres.js";
import { ChangeFeed } from "./replication.js";
import { ShapeDefinitionError, ShapeRegistry, type ReplicaMode, type Shape, type ShapeDefinition } from "./shapes.js";

export interface ShapeServerOptions {
  /**
   * The Postgres database to serve: `wal_level=logical`, a free replication slot and WAL sender,
   * and a role that may create a publication FOR ALL TABLES (a superuser) and replicate.
   */
  databaseUrl: string;
  /** How long a live request is held without data. Electric's default: 20 s. */
  longPollTimeoutMs?: number;
  /** Most messages per response (Electric chunks by size, ~10 MB). Default: no limit. */
  chunkSize?: number;
  /** Set REPLICA IDENTITY FULL on served tables, as Electric does. Default true. */
  setReplicaIdentityFull?: boolean;
  /** Default: a free port. */
  port?: number;
  /**
   * Compaction: once a shape's log has this many entries since the last compaction, a new client
   * (offset -1) gets a fresh snapshot of the live rows instead of a replay of the log. Default 1000.
   */
  compactAfterEntries?: number;
  /** How long a `live_sse` response stays open (Electric's `sse_timeout`). Default 60 s. */
  sseTimeoutMs?: number;
  /**
   * Fault injection (off by default): Electric's publication gap. When a table's last shape is
   * removed, a write in progress while a client asks for the table again never reaches the new
   * shape (its txid is in the snapshot's `xip_list`, and no change carries it).
   */
  publicationGap?: boolean;
}

export interface ShapeInfo {
  handle: string;
  table: string;
  columns: string[];
  replica: ReplicaMode;
  /** The where clause and its params, if any. */
  where: string | undefined;
  params: string[];
  lastOffset: string;
  entries: number;
}

export interface RequestRecord {
  method: string;
  url: URL;
  status: number;
}

export interface ShapeServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `http://127.0.0.1:<port>/v1/shape`: what `ShapeStream({ url })` takes. */
  shapeUrl: string;
  port: number;
  /** Stops the HTTP server (ending held requests), the change feed (dropping its slot) and the pool. */
  stop(): Promise<void>;
  /**
   * Test hook: invalidates the current shapes of `table` (`name` or `schema.name`). Their next
   * request, and any held live request, gets 409 must-refetch with a new handle. Returns the
   * rotated handles.
   */
  rotate(table: string): string[];
  /** Test hook: after it resolves, every transaction committed before the call is in the shape logs. */
  flush(): Promise<void>;
  /** Test hook: the current shapes. */
  shapes(): ShapeInfo[];
  /** Test hook: every request answered so far, in order. */
  requests: RequestRecord[];
  /** Test hook: the `global_last_seen_lsn` now. */
  lastSeenLsn(): bigint;
}

// ---------------------------------------------------------------------------------------------
// Server

let slotCounter = 0;

export async function startShapeServer(options: ShapeServerOptions): Promise<ShapeServer> {
  const longPollTimeoutMs = options.longPollTimeoutMs ?? DEFAULT_LONG_POLL_TIMEOUT_MS;
  const pool = new pg.Pool({ connectionString: options.databaseUrl, options: DISPLAY_OPTIONS, max: 8 });
  pool.on("error", () => undefined); // idle clients may see the database go away
  let feedError: unknown;
  let registry: ShapeRegistry | undefined;
  const feed = await ChangeFeed.start({
    databaseUrl: options.databaseUrl,
    slotName: `shape_server_${process.pid}_${++slotCounter}_${Math.random().toString(36).slice(2, 8)}`,
    onTransactions: (txs) => registry?.apply(txs),
    onError: (err) => {
      if (!feedError) console.error("[shape-server] change feed failed:", err);
      feedError = err;
    },
  });
  registry = new ShapeRegistry(pool, {
    chunkSize: options.chunkSize ?? Infinity,
    setReplicaIdentityFull: options.setReplicaIdentityFull ?? true,
    publicationGap: options.publicationGap ?? false,
  });
  const compactAfter = options.compactAfterEntries ?? 1000;
  const sseTimeoutMs = options.sseTimeoutMs ?? 60_000;
  const compacting = new WeakMap<Shape, Promise<void>>();
  const shapes = registry;
  const requests: RequestRecord[] = [];

  const resolveShape = async (def: ShapeDefinition): Promise<Shape> => {
    try {
      return await shapes.getOrCreate(def);
    } catch (err) {
      if (err instanceof TableNotFoundError) {
        throw invalid({
          [TABLE_PARAM]: [
            `Table ${qualified(def.relation)} does not exist. If the table name contains capitals or special characters you must quote it.`,
          ],
        });
      }
      if (err instanceof ShapeDefinitionError) throw invalid({ [err.param]: [err.message] });
      throw err;
    }
  };

  const mustRefetch = async (def: ShapeDefinition): Promise<HttpError> => {
    const fresh = await resolveShape(def);
    return new HttpError(409, [MUST_REFETCH], { [HANDLE_HEADER]: fresh.handle, "cache-control": CACHE_CONTROL.mustRefetch });
  };

  /** The shape a request with a handle addresses, or a 409 pointing at the current one. */
  const shapeForHandle = async (def: ShapeDefinition, handle: string): Promise<Shape> => {
    const active = shapes.active(def);
    if (active && active.handle === handle) return active;
    throw await mustRefetch(def);
  };

  async function serveShape(res: http.ServerResponse, q: URLSearchParams): Promise<void> {
    const p = parseShapeParams(q);
    const def = p.definition;
    const closed = new AbortController();
    res.once("close", () => closed.abort());

    const send = (shape: Shape, body: Message[], o: { offset: LogOffset; upToDate: boolean; hasData: boolean; cacheControl: string }) => {
      const headers: Record<string, string> = {
        "content-type": "application/json; charset=utf-8",
        [HANDLE_HEADER]: shape.handle,
        [OFFSET_HEADER]: formatOffset(o.offset),
        [HAS_DATA_HEADER]: String(o.hasData),
        "cache-control": o.cacheControl,
        etag: `"${shape.handle}:${q.get(OFFSET_PARAM)}:${formatOffset(o.offset)}"`,
      };
      if (p.live) headers[CURSOR_HEADER] = nextCursor(longPollTimeoutMs, p.cursor);
      else headers[SCHEMA_HEADER] = JSON.stringify(shape.schema);
      if (o.upToDate) headers[UP_TO_DATE_HEADER] = "";
      reply(res, 200, body, headers);
    };

    if (p.subset) {
      const shape = p.handle ? await shapeForHandle(def, p.handle) : await resolveShape(def);
      await serveSubset(res, shape, p.subset);
      return;
    }
    if (p.offset.kind === "now") {
      const shape = await resolveShape(def);
      send(shape, [upToDate(feed.lastLsn)], { offset: shape.log.lastOffset, upToDate: true, hasData: false, cacheControl: CACHE_CONTROL.nonLive });
      return;
    }
    if (p.offset.kind === "before-all") {
      let shape = await resolveShape(def);
      if (shape.log.entriesSinceCompaction >= compactAfter) {
        let running = compacting.get(shape);
        if (!running) {
          running = shapes.compact(shape, () => feed.flush()).finally(() => compacting.delete(shape));
          compacting.set(shape, running);
        }
        await running;
        shape = await resolveShape(def);
      }
      const chunk = shape.log.read({ kind: "before-all" });
      // Never up-to-date on -1 (Electric keeps that response long-cacheable).
      send(shape, chunk.messages, { offset: chunk.end, upToDate: false, hasData: true, cacheControl: CACHE_CONTROL.initial });
      return;
    }

    const after = p.offset.offset;
    let shape = await shapeForHandle(def, p.handle as string);
    if (shape.log.isOutOfBounds(after)) {
      // Maybe the client is just ahead of us: wait a little, as Electric does, then give up.
      const deadline = Date.now() + longPollTimeoutMs / 2;
      while (shape.log.isOutOfBounds(after) && !shape.log.rotated && Date.now() < deadline && !closed.signal.aborted) {
        await shape.log.waitForChange(deadline - Date.now(), closed.signal);
      }
      if (closed.signal.aborted) return;
      shape = await shapeForHandle(def, shape.handle);
      if (shape.log.isOutOfBounds(after)) throw invalid({ [OFFSET_PARAM]: ["out of bounds for this shape"] });
    }

    if (p.sse) return serveSse(res, shape, after, p.cursor, closed.signal);

    let chunk = shape.log.read({ kind: "after", offset: after });
    if (p.live && chunk.messages.length === 0) {
      const outcome = await shape.log.waitForChange(longPollTimeoutMs, closed.signal);
      if (outcome === "aborted") return;
      // Rotated meanwhile: Electric 1.7 answers the held request with a 409 WITHOUT a handle
      // (retried within a second); the next request gets the 409 with the new handle.
      if (shape.log.rotated) throw new HttpError(409, [MUST_REFETCH], { "cache-control": CACHE_CONTROL.mustRefetchLive });
      if (outcome === "timeout") {
        send(shape, [upToDate(feed.lastLsn)], { offset: after, upToDate: true, hasData: false, cacheControl: CACHE_CONTROL.live });
        return;
      }
      chunk = shape.log.read({ kind: "after", offset: after });
    }
    // Live: the last change's LSN; otherwise the global progress, as Electric does.
    const lsn = p.live ? chunk.end.lsn : chunk.end.lsn > feed.lastLsn ? chunk.end.lsn : feed.lastLsn;
    const body = chunk.atEnd ? [...chunk.messages, upToDate(lsn === 0n ? feed.lastLsn : lsn)] : chunk.messages;
    send(shape, body, {
      offset: chunk.end,
      upToDate: chunk.atEnd,
      hasData: true,
      cacheControl: p.live ? CACHE_CONTROL.live : CACHE_CONTROL.nonLive,
    });
  }

  /**
   * A subset snapshot (`subset__where` + `subset__params[n]`): a fresh REPEATABLE READ query of
   * the rows matching both the subset's and the shape's where clauses, as
   * `{metadata: {xmin, xmax, xip_list, snapshot_mark, database_lsn}, data: [inserts]}`.
   */
  async function serveSubset(res: http.ServerResponse, shape: Shape, subset: { where: string; params: string[] }): Promise<void> {
    let snap: Awaited<ReturnType<typeof takeSnapshot>>;
    try {
      snap = await takeSnapshot(pool, shape.relation, undefined, subset);
    } catch (err) {
      throw invalid({ subset__where: [err instanceof Error ? err.message : String(err)] });
    }
    let rows = snap.rows;
    const filter = shape.filter;
    if (filter) {
      const ok = await evaluateWhere(pool, shape.table, filter, rows);
      rows = rows.filter((_, i) => ok[i] === true);
    }
    const metadata = {
      xmin: snap.snapshot.xmin.toString(),
      xmax: snap.snapshot.xmax.toString(),
      xip_list: snap.snapshot.xip.map(String),
      snapshot_mark: Math.floor(Math.random() * 2 ** 31),
      database_lsn: snap.lsn.toString(),
    };
    reply(res, 200, { metadata, data: shape.subsetMessages(rows) }, {
      [HANDLE_HEADER]: shape.handle,
      [OFFSET_HEADER]: formatOffset(shape.log.lastOffset),
      [SCHEMA_HEADER]: JSON.stringify(shape.schema),
      "cache-control": CACHE_CONTROL.error,
    });
  }

  /**
   * `live_sse=true`: one open `text/event-stream` response; each message is a `data:` event, and
   * each batch ends with an up-to-date whose `global_last_seen_lsn` is the batch's LSN (the client
   * resumes from `{lsn}_0`). `: keep-alive` comments while idle; closed after `sseTimeoutMs`, or
   * when the shape goes away (the next request then gets 409).
   */
  async function serveSse(res: http.ServerResponse, shape: Shape, from: LogOffset, cursor: string | null, signal: AbortSignal): Promise<void> {
    res.statusCode = 200;
    setCors(res);
    res.setHeader("content-type", "text/event-stream");
    res.setHeader("cache-control", CACHE_CONTROL.sse);
    res.setHeader(HANDLE_HEADER, shape.handle);
    res.setHeader(OFFSET_HEADER, formatOffset(from));
    res.setHeader(CURSOR_HEADER, nextCursor(longPollTimeoutMs, cursor));
    res.flushHeaders();
    const deadline = Date.now() + sseTimeoutMs;
    const keepAliveMs = Math.min(21_000, longPollTimeoutMs);
    let after = from;
    while (!signal.aborted && Date.now() < deadline && !shape.log.rotated) {
      const chunk = shape.log.read({ kind: "after", offset: after });
      if (chunk.messages.length > 0) {
        const lsn = chunk.end.lsn > 0n ? chunk.end.lsn : feed.lastLsn;
        const body = chunk.atEnd ? [...chunk.messages, upToDate(lsn)] : chunk.messages;
        res.write(body.map((m) => `data: ${JSON.stringify(m)}\n\n`).join(""));
        after = chunk.end;
        continue;
      }
      const outcome = await shape.log.waitForChange(Math.min(keepAliveMs, Math.max(1, deadline - Date.now())), signal);
      if (outcome === "timeout" && !signal.aborted) res.write(": keep-alive\n\n");
    }
    res.end();
  }

  function deleteShape(res: http.ServerResponse, q: URLSearchParams): void {
    const handle = q.get(HANDLE_PARAM);
    const tableText = q.get(TABLE_PARAM);
    if (handle) shapes.rotate({ handle });
    else if (tableText) {
      const relation = parseTable(tableText);
      if (typeof relation === "string") throw invalid({ [TABLE_PARAM]: [relation] });
      shapes.rotate({ relation });
    } else throw invalid({ [HANDLE_PARAM]: ["can't be blank when shape definition is missing"] });
    reply(res, 202, undefined, {});
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    res.once("finish", () => requests.push({ method: req.method ?? "GET", url, status: res.statusCode }));
    const handle = async () => {
      if (req.method === "OPTIONS") return reply(res, 204, undefined, {});
      if (url.pathname !== SHAPE_PATH) throw new HttpError(404, { message: "Not found" });
      if (req.method === "GET") return await serveShape(res, url.searchParams);
      if (req.method === "DELETE") return deleteShape(res, url.searchParams);
      throw new HttpError(405, { message: `${req.method} is ${NOT_SUPPORTED}` });
    };
    handle().catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return;
      if (err instanceof HttpError) {
        reply(res, err.status, err.body, { "cache-control": CACHE_CONTROL.error, ...err.headers });
      } else {
        console.error("[shape-server] request failed:", err);
        reply(res, 500, { message: `Unable to serve shape: ${err instanceof Error ? err.message : String(err)}` }, { "cache-control": CACHE_CONTROL.error });
      }
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  let stopping: Promise<void> | undefined;
  return {
    url,
    shapeUrl: `${url}${SHAPE_PATH}`,
    port,
    requests,
    stop() {
      stopping ??= (async () => {
        const closedServer = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closedServer;
        await feed.stop();
        await pool.end().catch(() => undefined);
      })();
      return stopping;
    },
    rotate(table: string) {
      const relation = parseTable(table);
      if (typeof relation === "string") throw new Error(relation);
      return shapes.rotate({ relation }).map((s) => s.handle);
    },
    flush: () => feed.flush(),
    shapes: () =>
      shapes.all().map((s) => ({
        handle: s.handle,
        table: `${s.relation[0]}.${s.relation[1]}`,
        columns: s.columns,
        replica: s.definition.replica,
        where: s.definition.where,
        params: s.definition.params ?? [],
        lastOffset: formatOffset(s.log.lastOffset),
        entries: s.log.entryCount,
      })),
    lastSeenLsn: () => feed.lastLsn,
  };
}

const EXPOSED_HEADERS = [HANDLE_HEADER, OFFSET_HEADER, SCHEMA_HEADER, CURSOR_HEADER, UP_TO_DATE_HEADER, HAS_DATA_HEADER, "etag", "retry-after"].join(", ");

function setCors(res: http.ServerResponse): void {
  res.setHeader("access-control-allow-origin", "*");
  res.setHeader("access-control-allow-methods", "GET, HEAD, DELETE, OPTIONS");
  res.setHeader("access-control-allow-headers", "*");
  res.setHeader("access-control-expose-headers", EXPOSED_HEADERS);
}

function reply(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  res.statusCode = status;
  setCors(res);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (body === undefined) {
    res.end();
    return;
  }
  if (!res.hasHeader("content-type")) res.setHeader("content-type", "application/json; charset=utf-8");
  res.end(JSON.stringify(body));
}
