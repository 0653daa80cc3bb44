/**
 * The decisions of shape sync (templates/runtime/shape-sync-state.ts), case by case, without
 * I/O: messages and results in, next state and planned effects out. Each test names the
 * invariant of templates/runtime/SPEC.md (section S) it enforces. The whole loop (a real stream,
 * PGlite, the shape server) is tested end to end in test/e2e, test/tenancy and test/browser.
 */
import type { ChangeMessage, Message, Row } from "@electric-sql/client";
import { describe, expect, it } from "vitest";
import {
  BULK_ROWS,
  initialShapeSyncState,
  isCurrent,
  isVisible,
  onFetchError,
  OVERDUE_AFTER_UP_TO_DATES,
  RETRY_INITIAL_MS,
  RETRY_MAX_MS,
  stepShapeSync,
  type CommitPlan,
  type SentWrite,
  type ShapeSyncEffect,
  type ShapeSyncState,
  type ShapeSyncTransition,
  type SubsetRequest,
} from "../../templates/runtime/shape-sync-state.js";

type Op = "insert" | "update" | "delete";

/** A change message as the stream delivers it; `at` is the log position `[lsn, op_position]` (none: a snapshot row). */
function change(id: string, operation: Op, opts: { at?: [number, number]; txids?: number[]; value?: Record<string, unknown> } = {}): ChangeMessage<Row> {
  return {
    key: `"public"."things"/"${id}"`,
    value: { id, ...opts.value },
    headers: {
      operation,
      ...(opts.at ? { lsn: String(opts.at[0]), op_position: opts.at[1] } : {}),
      ...(opts.txids ? { txids: opts.txids } : {}),
    },
  };
}
const upToDate: Message<Row> = { headers: { control: "up-to-date" } };
const mustRefetch: Message<Row> = { headers: { control: "must-refetch" } };
const snapshotEnd = (xmin: string, xmax: string, xip: string[]): Message<Row> => ({ headers: { control: "snapshot-end", xmin, xmax, xip_list: xip } }) as unknown as Message<Row>;

/** The stream delivered `messages`; it stands at `offset` with `handle`. */
function deliver(state: ShapeSyncState, messages: Message<Row>[], offset = "10_0", handle = "h1"): ShapeSyncTransition {
  return stepShapeSync(state, { type: "messages", generation: state.generation, messages, streamOffset: offset, streamHandle: handle });
}
function effect<T extends ShapeSyncEffect["type"]>(t: ShapeSyncTransition, type: T): Extract<ShapeSyncEffect, { type: T }> | undefined {
  return t.effects.find((e): e is Extract<ShapeSyncEffect, { type: T }> => e.type === type);
}
function commitPlan(t: ShapeSyncTransition): CommitPlan {
  const c = effect(t, "commit");
  if (!c) throw new Error(`no commit planned: ${JSON.stringify(t.effects.map((e) => e.type))}`);
  return c.plan;
}
/** Delivers `messages` ending with an up-to-date and lets the commit succeed. */
function sync(state: ShapeSyncState, messages: Message<Row>[], offset = "10_0", handle = "h1"): { state: ShapeSyncState; plan: CommitPlan; committed: ShapeSyncTransition } {
  const delivered = deliver(state, [...messages, upToDate], offset, handle);
  const plan = commitPlan(delivered);
  const committed = stepShapeSync(delivered.state, { type: "committed", plan });
  return { state: committed.state, plan, committed };
}
const ids = (rows: readonly ChangeMessage<Row>[]) => rows.map((m) => `${m.headers.operation}:${String(m.value.id)}`);
const fresh = () => initialShapeSyncState("id");

describe("S1: one transaction per consistent point", () => {
  it("S1: changes are buffered until an up-to-date; nothing is planned before it", () => {
    const t = deliver(fresh(), [change("a", "insert", { at: [5, 0] }), change("b", "insert", { at: [5, 1] })]);
    expect(t.effects).toEqual([]);
    expect(t.state.buffer.flat()).toHaveLength(2);
  });

  it("S1: at an up-to-date, every change since the last consistent point is in ONE commit plan, in order, across batches", () => {
    const first = deliver(fresh(), [change("a", "insert", { at: [5, 0] }), change("b", "insert", { at: [5, 1] })]);
    const second = deliver(first.state, [change("a", "update", { at: [6, 0] }), change("b", "delete", { at: [7, 0] }), upToDate]);
    expect(second.effects.filter((e) => e.type === "commit")).toHaveLength(1);
    expect(ids(commitPlan(second).rows)).toEqual(["insert:a", "insert:b", "update:a", "delete:b"]);
    expect(second.state.buffer).toEqual([]);
  });

  it("S1: the next commit holds only what came after the previous consistent point", () => {
    const { state } = sync(fresh(), [change("a", "insert", { at: [5, 0] })]);
    const next = deliver(state, [change("b", "insert", { at: [8, 0] }), upToDate], "20_0");
    expect(ids(commitPlan(next).rows)).toEqual(["insert:b"]);
  });

  it("S1: an up-to-date with no new change still commits (the offset moves on)", () => {
    const { state } = sync(fresh(), [change("a", "insert", { at: [5, 0] })]);
    const plan = commitPlan(deliver(state, [upToDate], "30_0"));
    expect(plan.rows).toEqual([]);
    expect(plan.offset).toBe("30_0");
  });

  it("S1: a batch of at least BULK_ROWS inserts may be loaded with COPY; one update among them may not", () => {
    const inserts = Array.from({ length: BULK_ROWS }, (_, i) => change(`r${i}`, "insert"));
    expect(commitPlan(deliver(fresh(), [...inserts, upToDate])).bulk).toBe(true);
    expect(commitPlan(deliver(fresh(), [...inserts.slice(1), upToDate])).bulk).toBe(false);
    expect(commitPlan(deliver(fresh(), [...inserts, change("r1", "update", { at: [9, 0] }), upToDate])).bulk).toBe(false);
  });

  it("S1, S12: the commit counts its rows as applied, and the sync is up to date only once it is stored", () => {
    const delivered = deliver(fresh(), [change("a", "insert"), change("b", "insert"), upToDate]);
    expect(delivered.state.upToDate).toBe(false);
    const committed = stepShapeSync(delivered.state, { type: "committed", plan: commitPlan(delivered) });
    expect(committed.state.upToDate).toBe(true);
    expect(committed.state.stats.applied).toBe(2);
    expect(effect(committed, "notify")).toEqual({ type: "notify", rows: 2, txids: [], refetched: false });
  });
});

describe("S2: the offset is saved with the batch", () => {
  it("S2: the plan carries the stream's handle and offset at the up-to-date", () => {
    const plan = commitPlan(deliver(fresh(), [change("a", "insert"), upToDate], "0_inf", "h-42"));
    expect(plan).toMatchObject({ handle: "h-42", offset: "0_inf" });
  });

  it("S2: a stored commit becomes the saved offset; a commit not (yet) stored does not", () => {
    const delivered = deliver(fresh(), [change("a", "insert", { at: [5, 0] }), upToDate], "12_3");
    expect(delivered.state.saved).toBeNull();
    const committed = stepShapeSync(delivered.state, { type: "committed", plan: commitPlan(delivered) });
    expect(committed.state.saved).toEqual({ lsn: 12n, op: 3 });
  });

  it("S2: a sync started from a saved handle and offset resumes there; without a handle it starts from scratch", () => {
    expect(initialShapeSyncState("id", { handle: "h1", offset: "40_2" })).toMatchObject({ saved: { lsn: 40n, op: 2 }, position: { lsn: 40n, op: 2 } });
    expect(initialShapeSyncState("id", { handle: null, offset: "40_2" })).toMatchObject({ saved: null, position: null });
    expect(initialShapeSyncState("id", { handle: "h1", offset: "-1" })).toMatchObject({ saved: null, position: null });
  });
});

describe("S3: the saved offset never goes back", () => {
  it("S3: a stale response (the stream's offset behind the saved one) saves the saved offset again", () => {
    const { state } = sync(fresh(), [change("a", "insert", { at: [50, 0] })], "50_0");
    const plan = commitPlan(deliver(state, [upToDate], "20_0"));
    expect(plan.offset).toBe("50_0");
    expect(stepShapeSync(state, { type: "committed", plan }).state.saved).toEqual({ lsn: 50n, op: 0 });
  });

  it("S3: a newer offset is saved; the end of the snapshot (`0_inf`) sorts after its rows", () => {
    const { state } = sync(fresh(), [change("a", "insert")], "0_3");
    expect(commitPlan(deliver(state, [upToDate], "0_inf")).offset).toBe("0_inf");
    expect(commitPlan(deliver(state, [upToDate], "60_1")).offset).toBe("60_1");
  });

  it("S3: after a must-refetch, the new shape's offset is saved even when it is lower", () => {
    const { state } = sync(fresh(), [change("a", "insert", { at: [50, 0] })], "50_0");
    const plan = commitPlan(deliver(state, [mustRefetch, change("a", "insert"), upToDate], "0_inf", "h2"));
    expect(plan).toMatchObject({ truncate: true, offset: "0_inf", handle: "h2" });
  });
});

describe("S4: replays are skipped", () => {
  it("S4: a change at or before the newest position received is skipped and counted", () => {
    const { state } = sync(fresh(), [change("a", "update", { at: [10, 0], value: { v: 2 } }), change("b", "update", { at: [10, 1] })]);
    const replay = deliver(state, [change("a", "update", { at: [9, 0], value: { v: 1 } }), change("b", "update", { at: [10, 1] }), change("c", "insert", { at: [10, 2] }), upToDate]);
    expect(ids(commitPlan(replay).rows)).toEqual(["insert:c"]);
    expect(replay.state.stats.skipped).toBe(2);
  });

  it("S4: a change repeated within one batch (a duplicated response) is applied once", () => {
    const twice = [change("a", "update", { at: [10, 0] }), change("a", "update", { at: [10, 0] })];
    expect(ids(commitPlan(deliver(fresh(), [...twice, upToDate])).rows)).toEqual(["update:a"]);
  });

  it("S4: snapshot rows (no log position) are accepted before the log, skipped once it was entered", () => {
    const snapshot = deliver(fresh(), [change("a", "insert"), change("b", "insert")]);
    expect(snapshot.state.stats.skipped).toBe(0);
    const entered = deliver(snapshot.state, [change("a", "update", { at: [70, 0] }), change("c", "insert"), upToDate]);
    expect(ids(commitPlan(entered).rows)).toEqual(["insert:a", "insert:b", "update:a"]);
    expect(entered.state.stats.skipped).toBe(1);
  });

  it("S4: a sync resumed from a saved log offset skips snapshot rows and changes up to it", () => {
    const resumed = initialShapeSyncState("id", { handle: "h1", offset: "40_2" });
    const t = deliver(resumed, [change("a", "insert"), change("b", "update", { at: [40, 2] }), change("c", "update", { at: [40, 3] }), upToDate], "40_3");
    expect(ids(commitPlan(t).rows)).toEqual(["update:c"]);
  });
});

describe("S5: must-refetch starts the shape again, atomically", () => {
  it("S5: must-refetch drops the buffered changes, the snapshot bounds and the position; the next commit truncates first", () => {
    const before = deliver(fresh(), [change("old", "insert", { at: [5, 0] }), snapshotEnd("1", "2", [])]);
    const t = deliver(before.state, [mustRefetch, change("new", "insert"), upToDate], "0_inf", "h2");
    const plan = commitPlan(t);
    expect(plan.truncate).toBe(true);
    expect(ids(plan.rows)).toEqual(["insert:new"]);
    expect(plan.snapshot).toBeUndefined();
    expect(t.state.stats.refetches).toBe(1);
  });

  it("S5: a must-refetch ending a batch empties the table only with the next consistent point (never an empty table in between)", () => {
    const { state } = sync(fresh(), [change("a", "insert", { at: [5, 0] })]);
    const refetch = deliver(state, [mustRefetch]);
    expect(refetch.effects).toEqual([]);
    expect(refetch.state.refetch).toBe(true);
    // A snapshot row of the new shape is not a replay (the position was reset).
    const plan = commitPlan(deliver(refetch.state, [change("a", "insert"), upToDate], "0_inf", "h2"));
    expect(plan).toMatchObject({ truncate: true, handle: "h2" });
    expect(ids(plan.rows)).toEqual(["insert:a"]);
  });

  it("S5: the truncate is planned once; the commit after it does not truncate again", () => {
    const first = deliver(fresh(), [mustRefetch, change("a", "insert"), upToDate], "0_inf");
    expect(commitPlan(first).truncate).toBe(true);
    const committed = stepShapeSync(first.state, { type: "committed", plan: commitPlan(first) });
    expect(effect(committed, "notify")?.refetched).toBe(true);
    expect(commitPlan(deliver(committed.state, [upToDate], "5_0")).truncate).toBe(false);
  });
});

describe("S6: confirmed txids are recorded with the batch", () => {
  it("S6: the plan carries each txid of its changes once", () => {
    const plan = commitPlan(
      deliver(fresh(), [change("a", "insert", { at: [5, 0], txids: [700] }), change("b", "insert", { at: [5, 1], txids: [700, 701] }), change("c", "insert", { at: [6, 0] }), upToDate]),
    );
    expect(plan.txids).toEqual([700, 701]);
  });

  it("S6: the txids of skipped replays are not recorded again", () => {
    const { state } = sync(fresh(), [change("a", "insert", { at: [5, 0], txids: [700] })]);
    expect(commitPlan(deliver(state, [change("a", "insert", { at: [5, 0], txids: [700] }), upToDate])).txids).toEqual([]);
  });

  it("S6: the app is told which txids a stored commit acknowledged", () => {
    const { committed } = sync(fresh(), [change("a", "insert", { at: [5, 0], txids: [700] })]);
    expect(effect(committed, "notify")).toEqual({ type: "notify", rows: 1, txids: [700], refetched: false });
  });
});

describe("S7: writes the initial snapshot contains are synced", () => {
  it("S7: the snapshot-end bounds go with the next commit, once", () => {
    const t = deliver(fresh(), [change("a", "insert"), snapshotEnd("100", "105", ["102"]), upToDate], "0_inf");
    expect(commitPlan(t).snapshot).toEqual({ xmin: "100", xmax: "105", xip: ["102"] });
    expect(commitPlan(deliver(t.state, [upToDate], "1_0")).snapshot).toBeUndefined();
  });

  it("S7: visible in a snapshot: below xmin, or below xmax and not in progress", () => {
    const bounds = { xmin: "100", xmax: "105", xip: ["102"] };
    expect([99, 100, 101, 102, 104, 105, 200].map((t) => isVisible(t, bounds))).toEqual([true, true, true, false, true, false, false]);
    expect(isVisible("18446744073709551000", { xmin: "18446744073709551001", xmax: "18446744073709551002", xip: [] })).toBe(true);
  });
});

describe("S8: a confirmed write whose change never comes is read again", () => {
  /** Commits `n` up-to-dates, answering each overdue check's read with `sent`. */
  function upToDates(state: ShapeSyncState, n: number, sent: SentWrite[]): { state: ShapeSyncState; fetches: SubsetRequest[] } {
    const fetches: SubsetRequest[] = [];
    for (let i = 0; i < n; i++) {
      const { state: committed, committed: t } = sync(state, [], `${100 + i}_0`);
      const read = effect(t, "read-sent-writes");
      expect(read).toBeDefined();
      const answered = stepShapeSync(committed, { type: "sent-writes", generation: read!.generation, sent });
      const fetch = effect(answered, "fetch-subset");
      if (fetch) {
        fetches.push(fetch.request);
        state = stepShapeSync(answered.state, { type: "check-ended" }).state;
      } else state = answered.state;
      expect(state.checking).toBe(false);
    }
    return { state, fetches };
  }

  it("S8: a sent write is read again once its txid stayed unacknowledged through more than OVERDUE_AFTER_UP_TO_DATES up-to-dates", () => {
    const sent = [{ txid: 900, rowKey: "k1" }, { txid: 900, rowKey: "k2" }, { txid: 901, rowKey: "k3" }];
    const waited = upToDates(fresh(), OVERDUE_AFTER_UP_TO_DATES, sent);
    expect(waited.fetches).toEqual([]);
    const due = upToDates(waited.state, 1, sent);
    expect(due.fetches).toEqual([{ generation: 0, keys: ["k1", "k2", "k3"], txids: [900, 901] }]);
  });

  it("S8: only once: a txid read again is never fetched a second time", () => {
    const sent = [{ txid: 900, rowKey: "k1" }];
    const { state, fetches } = upToDates(fresh(), OVERDUE_AFTER_UP_TO_DATES + 4, sent);
    expect(fetches).toHaveLength(1);
    expect(state.reread.has(900)).toBe(true);
  });

  it("S8: a write acknowledged in between is forgotten; if it were sent again it would wait anew", () => {
    const sent = [{ txid: 900, rowKey: "k1" }];
    const first = upToDates(fresh(), OVERDUE_AFTER_UP_TO_DATES, sent);
    const gone = upToDates(first.state, 1, []);
    expect(gone.state.waiting.size).toBe(0);
    expect(upToDates(gone.state, OVERDUE_AFTER_UP_TO_DATES, sent).fetches).toEqual([]);
  });

  it("S8: the subset's rows are applied, requested rows it lacks are deleted, and the txids it contains acknowledged", () => {
    const request: SubsetRequest = { generation: 0, keys: ["k1", "k2"], txids: [900, 950] };
    const rows = [change("k1", "insert", { value: { name: "server" } })];
    const t = stepShapeSync({ ...fresh(), checking: true }, { type: "subset", request, bounds: { xmin: "920", xmax: "960", xip: ["950"] }, rows });
    expect(effect(t, "apply-subset")?.plan).toEqual({ generation: 0, rows, absentKeys: ["k2"], acknowledge: [900] });
    expect(stepShapeSync(t.state, { type: "check-ended" }).state.checking).toBe(false);
  });

  it("S8: one check at a time: a commit during a check starts no second one", () => {
    const { state, committed } = sync(fresh(), []);
    expect(effect(committed, "read-sent-writes")).toBeDefined();
    const again = sync(state, [], "11_0");
    expect(effect(again.committed, "read-sent-writes")).toBeUndefined();
  });

  it("S8: a check of a replaced stream, or after stop, ends without fetching", () => {
    const sent = [{ txid: 900, rowKey: "k1" }];
    const { state } = upToDates(fresh(), OVERDUE_AFTER_UP_TO_DATES, sent);
    const { state: checking } = sync(state, [], "200_0");
    const replaced = stepShapeSync(checking, { type: "stream-failed", generation: 0, error: new Error("gone") }).state;
    const stale = stepShapeSync(replaced, { type: "sent-writes", generation: 0, sent });
    expect(stale.effects).toEqual([]);
    expect(stale.state.checking).toBe(false);
    expect(stale.state.reread.size).toBe(0);
    const stopped = stepShapeSync(stepShapeSync(checking, { type: "stop" }).state, { type: "sent-writes", generation: 0, sent });
    expect(stopped.effects).toEqual([]);
  });

  it("S8: a failed check is reported (not once stopped) and lets the next one run", () => {
    const error = new Error("snapshot failed");
    const t = stepShapeSync({ ...fresh(), checking: true }, { type: "check-ended", error });
    expect(t.effects).toEqual([{ type: "report", error }]);
    expect(t.state.checking).toBe(false);
    expect(stepShapeSync({ ...fresh(), checking: true, stopped: true }, { type: "check-ended", error }).effects).toEqual([]);
  });
});

describe("S9: a failure resumes from the saved offset", () => {
  it("S9: a failed commit is reported, drops what was buffered, replaces the stream and reopens after a pause", () => {
    const { state } = sync(fresh(), [change("a", "insert", { at: [5, 0] })], "5_0");
    const delivered = deliver(state, [change("b", "insert", { at: [6, 0] }), upToDate], "6_0");
    const later = deliver(delivered.state, [change("c", "insert", { at: [7, 0] })]);
    const error = new Error("refused by a local trigger");
    const failed = stepShapeSync(later.state, { type: "commit-failed", plan: commitPlan(delivered), error });
    expect(failed.effects).toEqual([{ type: "report", error }, { type: "restart", delayMs: RETRY_INITIAL_MS }]);
    expect(failed.state).toMatchObject({ generation: 1, buffer: [], saved: { lsn: 5n, op: 0 }, position: { lsn: 5n, op: 0 } });
    // The new stream delivers b again from the saved offset: not a replay.
    const again = stepShapeSync(failed.state, { type: "messages", generation: 1, messages: [change("b", "insert", { at: [6, 0] }), upToDate], streamOffset: "6_0", streamHandle: "h1" });
    expect(ids(commitPlan(again).rows)).toEqual(["insert:b"]);
  });

  it("S9: the pause doubles with each failure up to RETRY_MAX_MS, and a stored commit resets it", () => {
    let state = fresh();
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = stepShapeSync(state, { type: "stream-failed", generation: state.generation, error: new Error("down") });
      delays.push(effect(t, "restart")!.delayMs);
      state = t.state;
    }
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 6400, RETRY_MAX_MS, RETRY_MAX_MS, RETRY_MAX_MS]);
    state = sync(state, []).state;
    expect(effect(stepShapeSync(state, { type: "stream-failed", generation: state.generation, error: new Error("down") }), "restart")?.delayMs).toBe(RETRY_INITIAL_MS);
  });

  it("S9: messages, failures and plans of a replaced stream are ignored", () => {
    const delivered = deliver(fresh(), [change("a", "insert", { at: [5, 0] }), upToDate]);
    const plan = commitPlan(delivered);
    const replaced = stepShapeSync(delivered.state, { type: "stream-failed", generation: 0, error: new Error("gave up") }).state;
    expect(isCurrent(replaced, plan.generation)).toBe(false);
    const old = stepShapeSync(replaced, { type: "messages", generation: 0, messages: [change("x", "insert", { at: [9, 0] }), upToDate], streamOffset: "9_0", streamHandle: "h1" });
    expect(old).toEqual({ state: replaced, effects: [] });
    expect(stepShapeSync(replaced, { type: "stream-failed", generation: 0, error: new Error("again") })).toEqual({ state: replaced, effects: [] });
    expect(effect(stepShapeSync(replaced, { type: "commit-failed", plan, error: new Error("late") }), "restart")).toBeUndefined();
  });

  it("S9: after stop, a failing stream is not restarted", () => {
    const stopped = stepShapeSync(fresh(), { type: "stop" }).state;
    expect(stepShapeSync(stopped, { type: "stream-failed", generation: 0, error: new Error("aborted") }).effects).toEqual([]);
  });
});

describe("S10: credentials are refreshed on 401 without losing the offset", () => {
  it("S10: a 401 of the current stream refreshes and retries in place; anything else gives up (and S9 restarts)", () => {
    const state = fresh();
    expect(onFetchError(state, { generation: 0, status: 401 })).toBe("refresh-and-retry");
    expect(onFetchError(state, { generation: 0, status: 403 })).toBe("give-up");
    expect(onFetchError(state, { generation: 0, status: undefined })).toBe("give-up");
    const replaced = stepShapeSync(state, { type: "stream-failed", generation: 0, error: new Error("x") }).state;
    expect(onFetchError(replaced, { generation: 0, status: 401 })).toBe("give-up");
    expect(onFetchError(stepShapeSync(state, { type: "stop" }).state, { generation: 0, status: 401 })).toBe("give-up");
  });

  it("S10: a refresh changes nothing of the state (the stream keeps its handle, offset and buffer)", () => {
    const buffered = deliver(fresh(), [change("a", "insert", { at: [5, 0] })]).state;
    onFetchError(buffered, { generation: 0, status: 401 });
    expect(buffered.buffer.flat()).toHaveLength(1);
  });
});

describe("the state is a value", () => {
  it("a step never changes the state it was given", () => {
    const start = sync(fresh(), [change("a", "insert", { at: [5, 0], txids: [1] })]).state;
    const copy = structuredClone(start);
    deliver(start, [mustRefetch, change("b", "insert"), snapshotEnd("1", "2", []), upToDate]);
    stepShapeSync(start, { type: "stream-failed", generation: 0, error: new Error("x") });
    stepShapeSync(start, { type: "sent-writes", generation: 0, sent: [{ txid: 3, rowKey: "k" }] });
    expect(start).toEqual(copy);
  });
});
