/**
 * The change writer's decisions (templates/runtime/writer-decisions.ts), case by case: what a
 * response means for a change, how long it waits, which request a change becomes, what a key in a
 * create's response does. No database, no network, no timers. SPEC.md section W.
 */
import { describe, expect, it } from "vitest";
import {
  BACKOFF_DEFAULTS,
  blockedRow,
  decide,
  delayFor,
  dueTime,
  endpointPath,
  keyDecision,
  needsCurrentRow,
  planRequest,
  retryAfter,
  staleAfter,
  type Answer,
  type ChangeRow,
  type Outcome,
  type SyncEntity,
} from "../../templates/runtime/writer-decisions.js";

const column = (name: string, over: Partial<SyncEntity["columns"][number]> = {}): SyncEntity["columns"][number] => ({ name, codec: "text", sqlType: "text", key: false, readOnly: false, writeOnly: false, device: false, ...over });
const endpoint = (method: string, path: string, parts: (string | { param: string; field: string })[]) => ({ method, path, params: parts.flatMap((p) => (typeof p === "string" ? [] : [p.param])), parts });
const things: SyncEntity = {
  table: "things",
  sql: { view: "things", synced: "things_synced", local: "things_local", rebuild: "things_rebuild", onInsert: "things_ins", onUpdate: "things_upd", onDelete: "things_del", feed: "things_feed", ack: "things_ack", keyType: "uuid" },
  key: "id",
  keySource: "client",
  newKey: "uuid",
  mode: "local-first",
  localFirst: true,
  columns: [column("id", { codec: "uuid", sqlType: "uuid", key: true }), column("name"), column("created_at", { codec: "timestamp", sqlType: "timestamptz", readOnly: true }), column("private_note", { device: true })],
  create: endpoint("post", "/things", ["/things"]),
  update: endpoint("patch", "/things/{id}", ["/things/", { param: "id", field: "id" }]),
  remove: endpoint("delete", "/things/{id}", ["/things/", { param: "id", field: "id" }]),
  references: [],
};
const echoed: SyncEntity = { ...things, writeId: "write_id" };
const serverKeyed: SyncEntity = { ...things, table: "orders", keySource: "server", createKeyPath: ["data", "id"] };

function change(over: Partial<ChangeRow> = {}): ChangeRow {
  return {
    seq: 1,
    change_id: "0190a5c4-0000-7000-8000-000000000001",
    entity: "things",
    op: "insert",
    row_key: "0190a5c4-0000-7000-8000-0000000000aa",
    value: { id: "0190a5c4-0000-7000-8000-0000000000aa", name: "a" },
    status: "pending",
    attempts: 0,
    last_error: null,
    txid: null,
    created_at: "2026-01-01T00:00:00Z",
    ...over,
  };
}

const response = (status: number, body = "", headers: Record<string, string> = {}, statusText = ""): Answer => ({ kind: "response", status, statusText, headers: new Headers(headers), text: body });
const problem = JSON.stringify({ type: "about:blank", title: "Unprocessable content", status: 422, detail: "name must not be empty" });
const backoff = { initialMs: 100, maxMs: 10_000, multiplier: 2 };
/** The largest delay full jitter can pick for this attempt. */
const top = () => 0.999999;

describe("W3: a 2xx confirms the change", () => {
  const cases: { name: string; answer: Answer; entity: SyncEntity; status: "sent" | "synced"; txid: number | null }[] = [
    { name: "201 with an x-txid header → sent (waits for the txid on the stream)", answer: response(201, "{}", { "x-txid": "7321" }), entity: things, status: "sent", txid: 7321 },
    { name: "200 with a txid in the JSON body → sent", answer: response(200, JSON.stringify({ txid: "88" })), entity: things, status: "sent", txid: 88 },
    { name: "201 without a txid → synced at once", answer: response(201, "{}"), entity: things, status: "synced", txid: null },
    { name: "204 without a body → synced at once", answer: response(204), entity: things, status: "synced", txid: null },
    { name: "200 with a body that is not JSON → synced, no txid", answer: response(200, "OK"), entity: things, status: "synced", txid: null },
    { name: "an empty x-txid header is no txid", answer: response(201, "{}", { "x-txid": "" }), entity: things, status: "synced", txid: null },
    { name: "write-id entity without a txid → sent (the echo of the change id confirms)", answer: response(201, "{}"), entity: echoed, status: "sent", txid: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(decide(change(), c.entity, c.answer)).toEqual({ kind: "confirm", status: c.status, txid: c.txid, key: { kind: "keep" } });
    });
  }

  it("reads the txid from the configured header", () => {
    const outcome = decide(change(), things, response(201, "{}", { "x-pg-txid": "5" }), { txidHeader: "x-pg-txid" });
    expect(outcome).toMatchObject({ kind: "confirm", status: "sent", txid: 5 });
  });
});

describe("W4: a 4xx (but 401, 408, 429) rejects the change with a readable error", () => {
  for (const status of [400, 403, 404, 409, 410, 422]) {
    for (const attempts of [0, 3]) {
      it(`${status} after ${attempts} attempt(s) → rejected, whatever the attempts`, () => {
        const outcome = decide(change({ attempts }), things, response(status, problem, { "content-type": "application/problem+json" }));
        expect(outcome).toEqual({ kind: "reject", status, error: `${status} Unprocessable content: name must not be empty` });
      });
    }
  }

  it("a FastAPI detail list reads as text, not JSON", () => {
    const body = JSON.stringify({ detail: [{ loc: ["body", "name"], msg: "field required", type: "missing" }] });
    expect(decide(change(), things, response(422, body))).toEqual({ kind: "reject", status: 422, error: "422 name: field required" });
  });

  it("an empty body falls back to the status text", () => {
    expect(decide(change(), things, response(409, "", {}, "Conflict"))).toEqual({ kind: "reject", status: 409, error: "409 Conflict" });
  });

  it("a change that cannot be sent at all is rejected with status 0", () => {
    expect(decide(change(), things, { kind: "unsendable", error: "no endpoint" })).toEqual({ kind: "reject", status: 0, error: "no endpoint" });
  });
});

describe("W5: network errors, 5xx, 408, 429 and 401 are retried with backoff", () => {
  const retried: { name: string; answer: Answer; network: boolean; refresh: boolean; error: RegExp }[] = [
    { name: "network error", answer: { kind: "network", message: "fetch failed" }, network: true, refresh: false, error: /^Network error: fetch failed$/ },
    { name: "500", answer: response(500, "boom"), network: false, refresh: false, error: /^500 boom$/ },
    { name: "502", answer: response(502, "", {}, "Bad Gateway"), network: false, refresh: false, error: /^502 Bad Gateway$/ },
    { name: "503 problem+json", answer: response(503, JSON.stringify({ title: "Maintenance" })), network: false, refresh: false, error: /^503 Maintenance$/ },
    { name: "408", answer: response(408), network: false, refresh: false, error: /^408$/ },
    { name: "429", answer: response(429, "slow down"), network: false, refresh: false, error: /^429 slow down$/ },
    { name: "401 (refresh the credentials first; never fails the change)", answer: response(401, JSON.stringify({ detail: "token expired" })), network: false, refresh: true, error: /^401 token expired$/ },
  ];
  for (const c of retried) {
    for (const attempts of [0, 1, 4, 20]) {
      it(`${c.name}, attempt ${attempts + 1} → retry after full jitter up to min(max, initial × 2^${attempts})`, () => {
        const bound = Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempts);
        const high = decide(change({ attempts }), things, c.answer, { backoff, random: top }) as Extract<Outcome, { kind: "retry" }>;
        expect(high).toMatchObject({ kind: "retry", network: c.network, refreshCredentials: c.refresh });
        expect(high.error).toMatch(c.error);
        expect(high.delayMs).toBe(bound);
        const low = decide(change({ attempts }), things, c.answer, { backoff, random: () => 0 }) as Extract<Outcome, { kind: "retry" }>;
        expect(low.delayMs).toBe(0);
      });
    }
  }

  it("the default backoff is 500 ms doubling up to 30 s", () => {
    expect(BACKOFF_DEFAULTS).toEqual({ initialMs: 500, maxMs: 30_000, multiplier: 2 });
    expect(delayFor(0, BACKOFF_DEFAULTS, top)).toBe(500);
    expect(delayFor(3, BACKOFF_DEFAULTS, top)).toBe(4000);
    expect(delayFor(12, BACKOFF_DEFAULTS, top)).toBe(30_000);
  });
});

describe("W7: Retry-After is a floor, read against the server's clock", () => {
  it("429 with Retry-After seconds waits at least that long, even when jitter picks less", () => {
    const outcome = decide(change(), things, response(429, "", { "retry-after": "7" }), { backoff, random: () => 0 });
    expect(outcome).toMatchObject({ kind: "retry", delayMs: 7000 });
  });

  it("503 with Retry-After shorter than the jitter: the jitter wins", () => {
    const outcome = decide(change({ attempts: 6 }), things, response(503, "", { "retry-after": "1" }), { backoff, random: top });
    expect(outcome).toMatchObject({ kind: "retry", delayMs: 6400 });
  });

  it("a Retry-After date is measured from the response's Date, not the client's clock", () => {
    const headers = { "retry-after": "Wed, 21 Oct 2026 07:28:30 GMT", date: "Wed, 21 Oct 2026 07:28:00 GMT" };
    // The client's clock is a year off: it does not matter.
    const outcome = decide(change(), things, response(503, "", headers), { backoff, random: () => 0, now: () => Date.parse("2027-10-21T07:28:00Z") });
    expect(outcome).toMatchObject({ kind: "retry", delayMs: 30_000 });
  });

  it("a Retry-After date without a Date header uses the client's clock", () => {
    expect(retryAfter("Wed, 21 Oct 2026 07:28:10 GMT", null, () => Date.parse("2026-10-21T07:28:00Z"))).toBe(10_000);
  });

  const cases: [string | null, number][] = [
    [null, 0],
    ["", 0],
    ["0", 0],
    ["-5", 0],
    ["2.5", 2500],
    ["86400", 3_600_000],
    ["soon", 0],
  ];
  for (const [header, ms] of cases) {
    it(`Retry-After ${JSON.stringify(header)} → ${ms} ms (clamped to [0, 1 h])`, () => expect(retryAfter(header)).toBe(ms));
  }

  it("a wait saved before a restart is capped at maxMs (a clock set back does not stall the queue)", () => {
    expect(dueTime(undefined, 10 * 86_400_000, 1000, 30_000)).toBe(31_000);
    expect(dueTime(undefined, -5000, 1000, 30_000)).toBe(1000);
    expect(dueTime(undefined, null, 1000, 30_000)).toBe(1000);
    expect(dueTime(undefined, 2000, 1000, 30_000)).toBe(3000);
    // Planned by this writer on the monotonic clock: kept as is.
    expect(dueTime(5000, 10 * 86_400_000, 1000, 30_000)).toBe(5000);
  });
});

describe("W2: the request of a change", () => {
  it("carries the change id as Idempotency-Key and X-Change-Id", () => {
    const planned = planRequest(change(), things, "http://api.test/v1/");
    expect(planned).toMatchObject({ kind: "send", request: { method: "POST", url: "http://api.test/v1/things", headers: { "idempotency-key": change().change_id, "x-change-id": change().change_id, "content-type": "application/json" } } });
  });

  it("a create leaves out NULLs, device-only and read-only fields, but sends the client's key", () => {
    const c = change({ value: { id: "k1", name: "a", note: null, private_note: "mine", created_at: "2026-01-01", _sp_path: { x: 1 } } });
    const planned = planRequest(c, things, "http://api.test");
    expect(planned.kind === "send" && JSON.parse(planned.request.body!)).toEqual({ id: "k1", name: "a" });
  });

  it("a server-key create is sent without the (temporary) key", () => {
    const c = change({ entity: "orders", row_key: "-1", value: { id: "-1", name: "a" } });
    const planned = planRequest(c, serverKeyed, "http://api.test");
    expect(planned.kind === "send" && JSON.parse(planned.request.body!)).toEqual({ name: "a" });
  });

  it("an update sends the changed fields (PATCH) to the row's URL; a delete has no body", () => {
    const update = planRequest(change({ op: "update", value: { id: "k1", name: "b", private_note: "x" }, row_key: "k 1/2" }), things, "http://api.test");
    expect(update).toMatchObject({ kind: "send", request: { method: "PATCH", url: "http://api.test/things/k%201%2F2", body: JSON.stringify({ name: "b" }) } });
    const remove = planRequest(change({ op: "delete", value: {} }), things, "http://api.test");
    expect(remove.kind === "send" && remove.request).toEqual({ method: "DELETE", url: `http://api.test/things/${change().row_key}`, headers: { "idempotency-key": change().change_id, "x-change-id": change().change_id } });
  });

  it("an update through PUT sends the whole row as the view shows it, with the change on top", () => {
    const put: SyncEntity = { ...things, update: { method: "put", path: "/things/{id}", parts: ["/things/", { param: "id", field: "id" }] } };
    const c = change({ op: "update", value: { name: "new" } });
    expect(needsCurrentRow(c, put)).toBe(true);
    expect(needsCurrentRow(c, things)).toBe(false);
    const planned = planRequest(c, put, "http://api.test", { id: "k1", name: "old", qty: 2, _sync_status: "pending", private_note: "x", created_at: "t" });
    expect(planned.kind === "send" && JSON.parse(planned.request.body!)).toEqual({ id: "k1", name: "new", qty: 2 });
  });

  it("a path parameter other than the key comes from the values recorded with the change", () => {
    const nested = { method: "patch", path: "/files/{file_key}/comments/{id}", parts: ["/files/", { param: "file_key", field: "file_key" }, "/comments/", { param: "id", field: "id" }] };
    expect(endpointPath(nested, "id", { row_key: "c1", value: { _sp_path: { file_key: "f 1" } } })).toBe("/files/f%201/comments/c1");
    expect(endpointPath(nested, "id", { row_key: "c1", value: {} })).toEqual({ missing: { param: "file_key", field: "file_key" } });
  });

  it("W11: no endpoint, or a path parameter without a value → unsendable, with a reason naming it", () => {
    expect(planRequest(change({ op: "update" }), { ...things, update: undefined }, "http://api.test")).toEqual({ kind: "unsendable", error: "The API has no update endpoint for things; the change cannot be sent." });
    expect(planRequest(change({ entity: "gone" }), undefined, "http://api.test")).toMatchObject({ kind: "unsendable" });
    const nested: SyncEntity = { ...things, update: { method: "patch", path: "/files/{file_key}/things/{id}", parts: ["/files/", { param: "file_key", field: "file_key" }, "/things/", { param: "id", field: "id" }] } };
    expect(planRequest(change({ op: "update", value: { name: "x" } }), nested, "http://api.test")).toEqual({
      kind: "unsendable",
      error: "Cannot build the URL PATCH /files/{file_key}/things/{id}: the change has no value for {file_key} (file_key).",
    });
  });
});

describe("K1, K2: a key in a create's response", () => {
  const create = change({ entity: "orders", row_key: "-3", value: { id: "-3" } });

  it("K1: a server-key create's response key replaces the temporary key", () => {
    expect(keyDecision(create, serverKeyed, { data: { id: 42 } })).toEqual({ kind: "swap", temp: "-3", key: "42", json: "42" });
    expect(decide(create, serverKeyed, response(201, JSON.stringify({ data: { id: "A-9" } })))).toMatchObject({ kind: "confirm", key: { kind: "swap", key: "A-9", json: '"A-9"' } });
  });

  it("K1: a server-key create accepted without a key: the row's later changes fail, with the reason", () => {
    const k = keyDecision(create, serverKeyed, { data: {} });
    expect(k).toMatchObject({ kind: "missing", temp: "-3" });
    expect(k.kind === "missing" && k.problem).toMatch(/response has no key at data\.id/);
  });

  it("K2: a client-key create stored under another key is swapped and reported, naming the fix", () => {
    const k = keyDecision(change(), things, { id: "0190a5c4-0000-7000-8000-0000000000bb" });
    expect(k).toMatchObject({ kind: "swap", key: "0190a5c4-0000-7000-8000-0000000000bb" });
    expect(k.kind === "swap" && k.problem).toMatch(/key_source: server/);
  });

  it("the same key (uuids in any letter case), no key, or not a create: nothing to swap", () => {
    expect(keyDecision(change(), things, { id: change().row_key.toUpperCase() })).toEqual({ kind: "keep" });
    expect(keyDecision(change(), things, {})).toEqual({ kind: "keep" });
    expect(keyDecision(change(), things, undefined)).toEqual({ kind: "keep" });
    expect(keyDecision(change({ op: "update" }), serverKeyed, {})).toEqual({ kind: "keep" });
    expect(keyDecision({ ...create, row_key: "42" }, serverKeyed, { data: { id: 42 } })).toEqual({ kind: "keep" });
  });
});

describe("W12, W13: a batch of changes", () => {
  it("W4: a rejected create keeps the row's later changes out of the batch; other rows go on", () => {
    const reject: Outcome = { kind: "reject", status: 422, error: "no" };
    expect(blockedRow(change(), reject)).toBe(`things\u0000${change().row_key}`);
    expect(blockedRow(change({ op: "update" }), reject)).toBeUndefined();
    expect(blockedRow(change(), { kind: "confirm", status: "synced", txid: null, key: { kind: "keep" } })).toBeUndefined();
    expect(blockedRow(change(), { kind: "confirm", status: "synced", txid: null, key: { kind: "missing", temp: "-1", problem: "p" } })).toBeDefined();
  });

  it("K1: a key swap ends the batch when a later change of the batch names the old key", () => {
    const swap: Outcome = { kind: "confirm", status: "synced", txid: null, key: { kind: "swap", temp: "-3", key: "42", json: "42" } };
    expect(staleAfter(swap, [change({ row_key: "-3", op: "update" })])).toBe(true);
    expect(staleAfter(swap, [change({ entity: "lines", row_key: "l1", value: { order_id: "-3" } })])).toBe(true);
    expect(staleAfter(swap, [change({ row_key: "k9", value: { name: "x" } })])).toBe(false);
    expect(staleAfter({ kind: "confirm", status: "synced", txid: null, key: { kind: "keep" } }, [change({ row_key: "-3" })])).toBe(false);
  });
});
