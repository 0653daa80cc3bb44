/**
 * `sync-patterns doctor`: checks a running backend and its shape endpoint against the contract
 * the generated client relies on (docs/backend.md). Each broken rule is a diagnostic with its
 * own code, what came back, and the fix. Read-only unless `write` is set; then it creates one
 * marked row per entity and removes it again, also when a check fails.
 */
import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { error, warning, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { Entity, SpecModel, WriteEndpointRef } from "../model/types.js";
import { checkColumns } from "./columns.js";
import { describe, isFailure, parseJson, request, type HttpAnswer, type HttpResult } from "./http.js";
import { fillPath, invalidBody, MARKER, newKey, parentOf, sampleRow, sampleUpdate, type SeenRows } from "./sample.js";
import { readShape, waitForChange, type ShapeMessage, type ShapeRead, type ShapeTarget } from "./shape.js";

export interface DoctorOptions {
  model: SpecModel;
  apiUrl: string;
  shapeUrl: string;
  /** Sent with every request (`--auth`). */
  headers: Record<string, string>;
  /** The entities to check (default: every synced entity). */
  entities: Entity[];
  write: boolean;
  /** Deadline of one request, ms. */
  requestTimeoutMs?: number;
  /** How long a write's change may take to arrive in the shape, ms. */
  changeTimeoutMs?: number;
  /** Response header with the write's txid (as the client's `txidHeader`). */
  txidHeader?: string;
}

export interface EntityReport {
  entity: string;
  table: string;
  /** The checks that passed, in order. */
  passed: string[];
}

export interface DoctorReport {
  entities: EntityReport[];
  diagnostics: Diagnostic[];
}

const HINT_AUTH = "If the endpoint needs credentials, pass them with --auth HEADER=VALUE (e.g. --auth 'Authorization=Bearer …').";

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const diagnostics: Diagnostic[] = [];
  const entities: EntityReport[] = [];
  const api = options.apiUrl.replace(/\/$/, "");
  const seen: SeenRows = new Map();
  let tableForced: boolean | undefined;

  // Reachability of the API, once.
  const apiAnswer = await request(api + "/", { headers: options.headers, timeoutMs: requestTimeoutMs });
  const apiUp = !isFailure(apiAnswer);
  if (!apiUp) {
    diagnostics.push(error("doctor/api-unreachable", `The API at ${api} does not answer: ${apiAnswer.error}.`, { file: api }, `Start the backend, or point doctor at it with --api URL (or apiUrl in the config).`));
  }

  for (const entity of options.entities) {
    const report: EntityReport = { entity: entity.names.original, table: entity.table, passed: [] };
    entities.push(report);
    const target: ShapeTarget = { url: options.shapeUrl, params: { table: entity.table }, headers: options.headers, timeoutMs: requestTimeoutMs };
    const where = `${options.shapeUrl}?table=${entity.table}`;

    if (apiUp && entity.endpoints.list && !entity.endpoints.list.path.includes("{")) {
      const url = api + entity.endpoints.list.path;
      const list = await request(url, { headers: options.headers, timeoutMs: requestTimeoutMs });
      if (!isFailure(list) && list.status >= 200 && list.status < 300) report.passed.push("api");
      else diagnostics.push(error("doctor/api-error", `GET ${entity.endpoints.list.path} (${entity.endpoints.list.operationId}) answered ${describe(list)}.`, { file: url }, `The list endpoint of ${entity.names.original} must answer 2xx. ${HINT_AUTH}`));
    }

    const shape = await readShape(target);
    if (!shape.ok) {
      const answer = shape.answer;
      const notElectric = !isFailure(answer) && answer.status >= 200 && answer.status < 300;
      diagnostics.push(
        error(
          notElectric ? "doctor/shape-not-electric" : "doctor/shape-unreachable",
          `The shape of ${entity.names.original} (table=${entity.table}) ${notElectric ? "is not Electric's shape protocol" : "cannot be read"}: ${shape.reason}.`,
          { file: where },
          notElectric
            ? "Point --electric (electricUrl) at Electric's /v1/shape or at a proxy that forwards Electric's body and its electric-* headers unchanged."
            : isFailure(answer)
              ? "Start Electric (or your shape proxy), or point doctor at it with --electric URL (electricUrl in the config)."
              : answer.status === 401 || answer.status === 403
                ? HINT_AUTH
                : `Check that the table "${entity.table}" exists, is in the publication Electric reads, and that a proxy lets table=${entity.table} through (x-sync table names the Postgres table).`,
        ),
      );
      continue;
    }
    const read = shape.read;
    seen.set(entity.table, [...read.rows.values()]);
    report.passed.push("shape");

    const missing = ["electric-handle", "electric-offset", "electric-schema"].filter((h) => !read.first.headers.has(h));
    if (missing.length || !read.schema) {
      diagnostics.push(error("doctor/shape-headers", `The shape answer of ${entity.table} lacks ${missing.length ? missing.join(", ") : "a JSON electric-schema header"}.`, { file: where }, "A proxy must forward Electric's electric-* headers unchanged (and list them in Access-Control-Expose-Headers for browsers): the client needs them to follow the shape and parse its values."));
    } else {
      report.passed.push("headers");
      const found = checkColumns(entity, read.schema, where);
      diagnostics.push(...found);
      if (!found.some((d) => d.code === "doctor/shape-key")) report.passed.push("key");
      if (!found.some((d) => d.severity === "error" && d.code !== "doctor/shape-key")) report.passed.push("columns");
    }

    // A tampered `where` must not widen what comes back.
    const widened = await readShape({ ...target, params: { ...target.params, where: "true" } });
    if (widened.ok) {
      const extra = [...widened.read.rows.keys()].filter((k) => !read.rows.has(k));
      if (extra.length) {
        diagnostics.push(
          error(
            "doctor/shape-where-not-forced",
            `A request with where=true for ${entity.table} returned ${extra.length} row${extra.length === 1 ? "" : "s"} the client's own request does not see (${widened.read.rows.size} instead of ${read.rows.size}), e.g. ${extra[0]}.`,
            { file: `${where}&where=true` },
            "Your shape proxy passes the client's `where` on to Electric. Let the proxy set `where` (and `columns`) itself from the authenticated user and drop the client's, as Electric's auth guide shows: otherwise any user reads any row of the table.",
          ),
        );
      } else report.passed.push("where");
    } else report.passed.push("where");

    // A tampered `table` must not reach a table the spec does not sync (asked once: the answer is the endpoint's).
    const other = otherTable(options.model);
    if (other && tableForced === undefined) {
      const foreign = await readShape({ ...target, params: { ...target.params, table: other } });
      const leaked = foreign.ok && [...foreign.read.rows.keys()].some((k) => !read.rows.has(k));
      tableForced = !(foreign.ok && (leaked || !sameSchema(foreign.read, read)));
      if (!tableForced) {
        diagnostics.push(
          warning(
            "doctor/shape-table-not-forced",
            `The shape endpoint serves table=${other}, a table the spec does not sync, to whoever asks.`,
            { file: `${options.shapeUrl}?table=${other}` },
            "Fine against Electric itself in development. In production put Electric behind a proxy that serves only the synced tables (an allow-list of `table`, or one URL per entity) and sets `where` per user.",
          ),
        );
      }
    }
    if (tableForced) report.passed.push("table");

    if (options.write && apiUp) {
      await checkWrites(entity, options, { api, target, read, seen, diagnostics, report, requestTimeoutMs });
    }
  }
  return { entities, diagnostics };
}

/** A table some resource of the spec names that is not synced: `categories` for a resource /api/categories. */
function otherTable(model: SpecModel): string | undefined {
  const synced = new Set(model.entities.map((e) => e.table));
  return model.resources.map((r) => r.specSync?.table ?? r.names.snakePlural).find((t) => !synced.has(t));
}

function sameSchema(a: ShapeRead, b: ShapeRead): boolean {
  return JSON.stringify(a.schema) === JSON.stringify(b.schema);
}

interface WriteContext {
  api: string;
  target: ShapeTarget;
  read: ShapeRead;
  seen: SeenRows;
  diagnostics: Diagnostic[];
  report: EntityReport;
  requestTimeoutMs: number;
}

interface Sent {
  answer: HttpResult;
  url: string;
  body: unknown;
}

async function send(ctx: WriteContext, options: DoctorOptions, method: string, path: string, body: unknown, idempotencyKey: string): Promise<Sent> {
  const url = ctx.api + path;
  const headers: Record<string, string> = { ...options.headers, "Idempotency-Key": idempotencyKey, "X-Change-Id": idempotencyKey };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await request(url, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), timeoutMs: ctx.requestTimeoutMs });
  return { answer, url, body };
}

const ok2xx = (r: HttpResult): r is HttpAnswer => !isFailure(r) && r.status >= 200 && r.status < 300;

function txidOf(answer: HttpAnswer, header: string): string | null {
  const h = answer.headers.get(header);
  if (h !== null && h.trim() !== "") return h.trim();
  const body = parseJson(answer.text);
  if (body && typeof body === "object" && "txid" in body && (body as { txid: unknown }).txid != null) return String((body as { txid: unknown }).txid);
  return null;
}

async function checkWrites(entity: Entity, options: DoctorOptions, ctx: WriteContext): Promise<void> {
  const { diagnostics, report } = ctx;
  const create = entity.endpoints.create;
  if (!create) {
    diagnostics.push(warning("doctor/write-skipped", `${entity.names.original} has no create endpoint in the spec; --write checks nothing for it.`, { file: entity.path }, "Nothing to do if the entity is read-only."));
    return;
  }
  const txidHeader = (options.txidHeader ?? "x-txid").toLowerCase();
  const changeTimeoutMs = options.changeTimeoutMs ?? 15_000;
  // Server keys (`keySource: "server"`): the create is sent without a key, as the client sends it,
  // and the server's key is read where the spec documents it (`createKeyPath`).
  const serverKeys = entity.keySource === "server";
  const keyPath = entity.createKeyPath ?? [entity.key];
  const keyOf = (body: unknown): string | undefined => {
    let v = body;
    for (const step of keyPath) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[step] : undefined;
    return v === undefined || v === null || typeof v === "object" ? undefined : String(v);
  };
  /** Keys of rows doctor created, removed in `finally`. */
  const created = new Map<string, Record<string, unknown>>();
  let wrote = false;
  const clientKey = serverKeys ? null : newKey(entity.keyField);
  // References (`account_id`) are taken from rows of the parent's shape: read it when this run has not.
  for (const field of entity.writableFields) {
    const parent = parentOf(entity, field, options.model.entities);
    if (!parent || ctx.seen.has(parent.table)) continue;
    const parentShape = await readShape({ ...ctx.target, params: { ...ctx.target.params, table: parent.table } });
    if (parentShape.ok) ctx.seen.set(parent.table, [...parentShape.read.rows.values()]);
  }
  const { row, unfilled } = sampleRow(entity, clientKey, ctx.seen, options.model.entities);
  let label = `${entity.names.original} (${MARKER} row ${clientKey ?? "with the server's key"})`;

  /** Waits for the row's change in the shape and checks its txid. */
  const arrives = async (op: string, key: string, txid: string | null, url: string): Promise<boolean> => {
    const change = await waitForChange(ctx.target, ctx.read, (m: ShapeMessage) => m.value !== undefined && String(m.value[entity.key]) === key && (op === "insert" || m.headers.operation === op), Date.now() + changeTimeoutMs);
    if (!change) {
      diagnostics.push(error("doctor/write-not-in-shape", `The ${op} of ${label} answered 2xx, but no ${op} of that row arrived in the shape of ${entity.table} within ${changeTimeoutMs / 1000} s.`, { file: url }, `Write to the table the shape reads (${entity.table}) and commit before answering; if a proxy scopes the shape, the doctor's row must be inside the scope of the credentials given with --auth.`));
      return false;
    }
    if (txid === null) return true;
    const txids = (change.headers.txids ?? []).map(String);
    if (txids.includes(txid)) return true;
    const wide = /^\d+$/.test(txid) && BigInt(txid) > 0xffffffffn && txids.includes(String(BigInt(txid) & 0xffffffffn));
    diagnostics.push(
      error(
        "doctor/write-txid-mismatch",
        `The ${op} of ${label} answered txid ${txid}, but its change arrived in the shape with txids [${txids.join(", ")}]: the client would wait for ${txid} forever and the change would stay "sent".`,
        { file: url },
        wide
          ? "Send the 32-bit xid Electric reports: `SELECT pg_current_xact_id()::xid::text`, not the 64-bit pg_current_xact_id() / txid_current()."
          : "Read the txid inside the transaction that writes the row, after the write and before COMMIT: `SELECT pg_current_xact_id()::xid::text` on the same connection (not a pool's other connection, not a transaction of its own).",
      ),
    );
    return false;
  };
  const txidPresent = (op: string, answer: HttpAnswer, url: string): string | null => {
    const txid = txidOf(answer, txidHeader);
    if (txid === null) {
      diagnostics.push(
        error(
          "doctor/write-no-txid",
          `The ${op} of ${label} answered ${answer.status} without a txid (no ${txidHeader} header, no "txid" in the body): the client cannot tell when the change is in the shape.`,
          { file: url },
          `Return the write's transaction id: \`SELECT pg_current_xact_id()::xid::text\` inside the writing transaction, in an ${txidHeader === "x-txid" ? "X-Txid" : txidHeader} response header (expose it with Access-Control-Expose-Headers) or a JSON body field "txid" — also on a 204 and on a replayed response.`,
        ),
      );
    }
    return txid;
  };

  try {
    if (unfilled.length) {
      const what = unfilled.map((u) => `${u.field} (a ${u.parent})`).join(", ");
      diagnostics.push(warning("doctor/write-skipped", `--write skipped ${entity.names.original}: its test row needs ${what}, and the shapes show no row to take it from.`, { file: ctx.api + create.path }, `Create one ${unfilled[0]!.parent} (or one ${entity.names.original}) that the credentials given with --auth can see, then run doctor again; it writes its test row next to it.`));
      return;
    }
    const path = fillPath(create.parts, row);
    if (typeof path !== "string") {
      diagnostics.push(warning("doctor/write-skipped", `Cannot build the URL ${create.method.toUpperCase()} ${create.path} for ${entity.names.original}: no value for ${path.missing} (the shape shows no row to take it from).`, { file: create.path }, `Create one row of ${entity.names.original} (or of its parent) first, so doctor can write next to it.`));
      return;
    }
    const idem = randomUUID();
    const first = await send(ctx, options, create.method.toUpperCase(), path, row, idem);
    if (!ok2xx(first.answer)) {
      diagnostics.push(error("doctor/write-create-failed", `${create.method.toUpperCase()} ${create.path} with doctor's row ${JSON.stringify(row)} answered ${describe(first.answer)}.`, { file: first.url }, `A create with the client's key and every required field must succeed. If the row needs values the spec does not describe (a scope, a reference), run doctor with --auth for a user that may write, or add one row of ${entity.names.original} that doctor can copy references from.`));
      return;
    }
    const answeredKey = keyOf(parseJson(first.answer.text));
    wrote = true;
    if (clientKey === null && answeredKey === undefined) {
      // Doctor's row is found by its marker in the shape instead, so that `finally` deletes it.
      const marked = (m: ShapeMessage) => m.headers.operation === "insert" && m.value !== undefined && Object.values(m.value).some((v) => typeof v === "string" && v.includes(MARKER));
      const found = (await waitForChange(ctx.target, ctx.read, marked, Date.now() + changeTimeoutMs))?.value?.[entity.key];
      if (found !== undefined && found !== null) created.set(String(found), { ...row, [entity.key]: found });
      diagnostics.push(
        error(
          "doctor/write-server-key-missing",
          `${create.method.toUpperCase()} ${create.path} created doctor's row but answered ${describe(first.answer)}, with no ${entity.key} at ${keyPath.join(".")}: the client could not replace the temporary key of a row it created.${found !== undefined && found !== null ? ` (The row arrived in the shape as ${entity.key}=${String(found)}.)` : ""}`,
          { file: first.url },
          `The server assigns the key of ${entity.names.original} (key_source: server): return the created row with its key (${keyPath.length > 1 ? `{ "${keyPath[0]}": { "${entity.key}": 42, … } }` : `{ "${entity.key}": 42, … }`}), as the spec's create response documents, also on a replayed answer.`,
        ),
      );
      return;
    }
    const serverKey = answeredKey ?? String(clientKey);
    if (clientKey !== null) created.set(String(clientKey), row);
    created.set(serverKey, row);
    if (clientKey === null) {
      label = `${entity.names.original} (${MARKER} row ${serverKey})`;
      report.passed.push("server key");
    } else if (serverKey !== String(clientKey)) {
      diagnostics.push(
        error(
          "doctor/write-key-replaced",
          `${create.method.toUpperCase()} ${create.path} was sent ${entity.key}=${clientKey} and answered a row with ${entity.key}=${serverKey}: the server replaced the client's key.`,
          { file: first.url },
          `Keep the ${entity.key} the client sends (it names the row on this device and in every later change). If the server must choose keys, declare it in the spec (\`x-sync: { key_source: server }\` on ${entity.path}) so the client sends creates without a key and waits for the server's.`,
        ),
      );
    } else report.passed.push("client key kept");
    const txid = txidPresent("create", first.answer, first.url);
    if (txid !== null && (await arrives("insert", serverKey, txid, first.url))) report.passed.push("create txid");

    // Replay: same request, same Idempotency-Key → the first answer, no second row.
    const again = await send(ctx, options, create.method.toUpperCase(), path, row, idem);
    const againKey = ok2xx(again.answer) ? keyOf(parseJson(again.answer.text)) : undefined;
    if (againKey !== undefined) created.set(againKey, row);
    const againTxid = ok2xx(again.answer) ? txidOf(again.answer, txidHeader) : null;
    const differs = !ok2xx(again.answer)
      ? `answered ${describe(again.answer)}`
      : again.answer.status !== first.answer.status
        ? `answered ${describe(again.answer)}`
        : !sameJson(again.answer.text, first.answer.text)
          ? `answered another body: ${describe(again.answer)}`
          : againTxid !== txid
            ? `answered the same body with another txid (${againTxid ?? "none"} instead of ${txid}): the write ran again`
            : null;
    if (differs) {
      const second = againKey !== undefined && againKey !== serverKey;
      diagnostics.push(
        error(
          "doctor/write-not-idempotent",
          `Replaying ${create.method.toUpperCase()} ${create.path} with the same Idempotency-Key ${differs}${second ? `, and created a second row (${entity.key}=${againKey})` : ""}; the first answer was ${describe(first.answer)}${txid ? ` with txid ${txid}` : ""}.`,
          { file: again.url },
          "Store each write's answer (status, body, txid) under its Idempotency-Key in the same transaction, and answer a repeated key with the stored answer without writing again. The client re-sends a change whose answer it did not get (crash, timeout, lost connection) with the same key.",
        ),
      );
    } else report.passed.push("idempotency");

    // A body the server must refuse: a 4xx problem+json the client can show.
    const badKey = serverKeys ? null : newKey(entity.keyField);
    const bad = invalidBody(entity, badKey, row);
    if (bad) {
      const refused = await send(ctx, options, create.method.toUpperCase(), path, bad, randomUUID());
      if (ok2xx(refused.answer)) {
        const accepted = keyOf(parseJson(refused.answer.text)) ?? (badKey === null ? undefined : String(badKey));
        if (accepted !== undefined) created.set(accepted, bad);
        if (badKey !== null) created.set(String(badKey), bad);
      }
      diagnostics.push(...checkProblem(refused, create, label));
      if (!isFailure(refused.answer) && isProblem(refused.answer) && refused.answer.status >= 400 && refused.answer.status < 500) report.passed.push("problem+json");
    }

    const update = entity.endpoints.update;
    const change = sampleUpdate(entity, row);
    if (update) {
      const url = fillPath(update.parts, { ...row, [entity.key]: serverKey });
      if (typeof url === "string") {
        const body = update.method === "put" ? { ...row, [entity.key]: serverKey, ...(change ?? {}) } : (change ?? {});
        const sent = await send(ctx, options, update.method.toUpperCase(), url, body, randomUUID());
        if (!ok2xx(sent.answer)) {
          diagnostics.push(error("doctor/write-update-failed", `${update.method.toUpperCase()} ${update.path} for ${label} answered ${describe(sent.answer)}.`, { file: sent.url }, `The update endpoint must accept the row's ${entity.key} in its URL (${update.path}) and a body of the changed fields.`));
        } else {
          const utxid = txidPresent("update", sent.answer, sent.url);
          if (utxid !== null && (!change || (await arrives("update", serverKey, utxid, sent.url)))) report.passed.push("update txid");
        }
      }
    }

    const remove = entity.endpoints.delete;
    if (remove) {
      const url = fillPath(remove.parts, { ...row, [entity.key]: serverKey });
      if (typeof url === "string") {
        const sent = await send(ctx, options, remove.method.toUpperCase(), url, undefined, randomUUID());
        if (!ok2xx(sent.answer)) {
          diagnostics.push(error("doctor/write-delete-failed", `${remove.method.toUpperCase()} ${remove.path} for ${label} answered ${describe(sent.answer)}.`, { file: sent.url }, `The delete endpoint must remove the row named by ${entity.key} in its URL (${remove.path}) and answer 2xx.`));
        } else {
          created.delete(serverKey);
          const dtxid = txidPresent("delete", sent.answer, sent.url);
          if (dtxid !== null && (await arrives("delete", serverKey, dtxid, sent.url))) report.passed.push("delete txid");
        }
      }
    }
  } finally {
    await cleanUp(entity, options, ctx, created, label, wrote);
  }
}

function sameJson(a: string, b: string): boolean {
  const x = parseJson(a);
  const y = parseJson(b);
  return x === undefined && y === undefined ? a === b : isDeepStrictEqual(x, y);
}

function isProblem(answer: HttpAnswer): boolean {
  const type = answer.headers.get("content-type") ?? "";
  const body = parseJson(answer.text) as { title?: unknown; detail?: unknown } | undefined;
  return /^application\/problem\+json/i.test(type) && !!body && typeof body === "object" && (typeof body.title === "string" || typeof body.detail === "string");
}

function checkProblem(sent: Sent, create: WriteEndpointRef, label: string): Diagnostic[] {
  const a = sent.answer;
  const what = `${create.method.toUpperCase()} ${create.path} with an invalid body ${JSON.stringify(sent.body)} (for ${label})`;
  if (isFailure(a)) return [error("doctor/api-unreachable", `${what} got no answer: ${a.error}.`, { file: sent.url }, "Keep the backend running; doctor stopped reaching it mid-check.")];
  if (a.status >= 200 && a.status < 300) {
    return [error("doctor/write-invalid-accepted", `${what} was accepted: ${describe(a)}.`, { file: sent.url }, "Validate request bodies against the spec's schema and refuse invalid ones with a 4xx (422) problem+json; the client relies on the server to reject what it cannot store.")];
  }
  if (a.status >= 500 || a.status === 408 || a.status === 429) {
    return [error("doctor/write-invalid-retried", `${what} answered ${describe(a)}: the client retries ${a.status} forever instead of showing the error.`, { file: sent.url }, "Answer a request the server will never accept with a 4xx (400 or 422), not a 5xx/408/429: those mean \"try again\" to the client.")];
  }
  if (!isProblem(a)) {
    return [warning("doctor/write-error-not-problem", `${what} answered ${describe(a)}, not application/problem+json with a title or detail.`, { file: sent.url }, "Answer errors as RFC 9457 problem+json ({\"title\", \"detail\", \"errors\"}): the client shows title and detail to the user, otherwise only the raw text.")];
  }
  return [];
}

async function cleanUp(entity: Entity, options: DoctorOptions, ctx: WriteContext, created: Map<string, Record<string, unknown>>, label: string, wrote: boolean): Promise<void> {
  const remove = entity.endpoints.delete;
  const before = ctx.diagnostics.length;
  for (const [key, row] of created) {
    const url = remove ? fillPath(remove.parts, { ...row, [entity.key]: key }) : null;
    let answer: HttpResult | null = null;
    if (typeof url === "string") {
      answer = (await send(ctx, options, remove!.method.toUpperCase(), url, undefined, randomUUID())).answer;
      // A 404 means the row is not there (never created, or already gone).
      if (!isFailure(answer) && ((answer.status >= 200 && answer.status < 300) || answer.status === 404)) continue;
    }
    ctx.diagnostics.push(
      error(
        "doctor/write-cleanup-failed",
        `Could not delete doctor's test row ${entity.key}=${key} of ${entity.table}${answer ? `: ${describe(answer)}` : remove ? "" : " (the spec has no delete endpoint)"}.`,
        { file: ctx.api + (typeof url === "string" ? url : entity.path) },
        `Delete it yourself: DELETE FROM ${entity.table} WHERE ${entity.key} = '${key}' (its text fields say "${MARKER}"). ${label}`,
      ),
    );
  }
  if (wrote && !ctx.diagnostics.slice(before).some((d) => d.code === "doctor/write-cleanup-failed")) ctx.report.passed.push("cleanup");
}
