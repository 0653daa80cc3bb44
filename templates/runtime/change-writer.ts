// The change writer: drains `_changes` to the REST API, in order. Plain TypeScript, copied as
// is into the generated output (sync/change-writer.ts); eject it to change it.
//
// A thin I/O loop around writer-decisions.ts (what a response means, how long to wait, which SQL
// records it): read a batch of queued changes in one query, send them one at a time in order,
// and record their outcomes in a few transactions that run while the next changes are sent (on
// `idb://` every PGlite query copies the database to IndexedDB: a few copies per burst, not two
// per change). Scheduling: scheduler.ts. Invariants
// W1–W13 and K1–K2 (order, idempotency, outcomes, backoff, monotonic waits, forward-only status,
// one writer per database, batched bookkeeping, key swaps, local failures): SPEC.md, section W.
// U1 (a stopped writer sends nothing) and U2 (credentials are the database's user's or none): section U.
import type { PGliteInterface } from "@electric-sql/pglite";
import { byTable, isLeaderChange, listenShared, quoteIdent } from "../db/local-db.js";
import { Serial } from "../db/scheduler.js";
import {
  BACKOFF_DEFAULTS,
  blockedRow,
  decide,
  dueTime,
  keyProblem,
  needsCurrentRow,
  planRequest,
  recordOutcome,
  rowId,
  staleAfter,
  type Answer,
  type BackoffOptions,
  type ChangeRow,
  type ChangeStatus,
  type Outcome,
  type SyncEntity,
} from "./writer-decisions.js";

export { BACKOFF_DEFAULTS, endpointPath, retryAfter, type BackoffOptions, type ChangeRow, type ChangeStatus, type Endpoint, type SyncEntity } from "./writer-decisions.js";

/**
 * Thrown by a `headers()` function that has no credentials for this database's user now (another
 * user is signed in, or nobody): the writer sends nothing and keeps the change pending (U2).
 */
export class CredentialsWithheldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CredentialsWithheldError";
  }
}

/** A CredentialsWithheldError (by name: it may come from another copy of this module). */
export function isCredentialsWithheld(error: unknown): boolean {
  return error instanceof Error && error.name === "CredentialsWithheldError";
}

export interface ChangeWriterOptions {
  pg: PGliteInterface;
  entities: readonly SyncEntity[];
  baseUrl: string;
  /** Headers for every request (auth goes here); may be computed per request. */
  headers?: () => HeadersInit | Promise<HeadersInit>;
  /**
   * Called on a 401 before the change is sent again (with `headers` read anew): refresh the
   * credentials here. A 401 never fails a change; it stays queued until the server accepts it.
   */
  onUnauthorized?: () => void | Promise<void>;
  fetch?: typeof fetch;
  backoff?: Partial<BackoffOptions>;
  /** Response header carrying the write's txid (default `x-txid`); a JSON body `txid` works too. */
  txidHeader?: string;
}

export interface WriterStatus {
  /** False after a network failure, until a request gets through again. */
  online: boolean;
  /** Open changes: stored on this device, their server version not back yet (pending + sent, every op). */
  queued: number;
  /** Changes the server rejected, until retried or discarded (`failedChanges()` lists them). */
  failed: number;
  /**
   * Why the queue is not moving now: a network error, a 5xx / 408 / 429, a failure of the local
   * database. `null` again as soon as a request gets through. A rejection (4xx) is not an
   * obstacle to the queue: it is counted in `failed` and listed by `failedChanges()`.
   */
  lastError: string | null;
  /** This tab sends the changes of every tab (W9); false in the other tabs of the profile. */
  leading: boolean;
}

/** A server rejection of a change, as stored in `_changes.last_error`. */
export class ChangeRejectedError extends Error {
  readonly changeId: string;
  readonly status: number | undefined;
  readonly body: unknown;

  constructor(message: string, changeId: string, status?: number, body?: unknown) {
    super(message);
    this.name = "ChangeRejectedError";
    this.changeId = changeId;
    this.status = status;
    this.body = body;
  }
}

export class ChangeTimeoutError extends Error {
  readonly changeId: string;

  constructor(changeId: string, timeoutMs: number) {
    super(`Change ${changeId} was not confirmed within ${timeoutMs} ms; it stays queued.`);
    this.name = "ChangeTimeoutError";
    this.changeId = changeId;
  }
}

/** Changes read from the queue at once (W12). */
const BATCH = 250;
/**
 * While a batch is sent, its answers are recorded once the oldest unrecorded one is this old
 * (W12): status keeps moving during a long burst, and a fast API does not pay a transaction (and
 * the change feed's reads after it) per change.
 */
const RECORD_AFTER_MS = 250;

type Queued = ChangeRow & { wait_ms: number | null };

export class ChangeWriter {
  private readonly backoff: BackoffOptions;
  private readonly fetchFn: typeof fetch;
  private readonly serial: Serial;
  private readonly emitter: Serial;
  /** When each change waiting for a retry is due, on the monotonic clock (W7). */
  private readonly dueAt = new Map<string, number>();
  private stopped = true;
  /** Aborts the request in flight when the writer stops (U1). */
  private aborter = new AbortController();
  /** Sends changes (this tab leads); otherwise only watches their status. */
  private sending = true;
  private online = true;
  private lastError: string | null = null;
  private readonly listeners = new Set<(status: WriterStatus) => void>();
  private readonly waiters = new Map<string, Set<(status: ChangeStatus, error: string | null) => void>>();
  private unlisten: (() => Promise<void>)[] = [];
  private readonly options: ChangeWriterOptions;
  private readonly byTable: ReadonlyMap<string, SyncEntity>;
  /** The last problem with a create's key (K1, K2): kept as the last error, since no retry fixes it. */
  private keyProblem: string | undefined;
  /** The error that stopped the last drain (W10); `flush()` rejects with it. */
  private failure: Error | undefined;

  constructor(options: ChangeWriterOptions) {
    this.options = options;
    this.byTable = byTable(options.entities);
    this.backoff = { ...BACKOFF_DEFAULTS, ...options.backoff };
    this.fetchFn = options.fetch ?? ((...args) => fetch(...args));
    // One scheduler (scheduler.ts) for the drain, the status emitter and the change feed.
    this.serial = new Serial((current) => this.drain(current), {
      rerun: isLeaderChange,
      onError: (error) => {
        if (this.stopped) return;
        // A local failure (W10): kept for flush(), shown as the last error, tried again later.
        this.failure = error instanceof Error ? error : new Error(String(error));
        this.report(this.failure.message, this.online);
        this.emit();
        this.serial.runIn(this.backoff.maxMs);
      },
    });
    this.emitter = new Serial(
      async () => {
        if (!this.listeners.size || this.stopped) return;
        const s = await this.status();
        for (const l of this.listeners) l(s);
      },
      { rerun: isLeaderChange },
    );
  }

  /** `send: false`: only watch (another tab sends); `lead()` makes it send later. */
  async start(options: { send?: boolean } = {}): Promise<void> {
    const { pg } = this.options;
    this.stopped = false;
    if (this.aborter.signal.aborted) this.aborter = new AbortController();
    this.serial.resume();
    this.emitter.resume();
    this.sending = options.send ?? true;
    if (this.sending) await this.prune();
    // After a change of PGlite's leader: start anew (a query in progress may never be answered;
    // a change it was sending is sent again with the same Idempotency-Key, W2).
    const resumed = (): void => {
      if (this.sending && !this.stopped) this.serial.restart();
      this.emitter.restart();
    };
    this.unlisten.push(
      await listenShared(pg, "_changes", () => (this.kick(), this.emit()), resumed),
      await listenShared(
        pg,
        "_changes_status",
        (payload) => {
          const [changeId, status] = payload.split(" ") as [string, ChangeStatus];
          void this.notifyWaiters(changeId, status);
          if (status === "pending") this.kick(); // retried, maybe in another tab
          this.emit();
        },
        resumed,
      ),
      await listenShared(pg, "_sync_writer", (payload) => this.heard(payload), () => void this.announce("?")),
    );
    if (this.sending) this.kick();
    else await this.announce("?");
  }

  /** This writer starts sending (its tab became the leader). */
  async lead(): Promise<void> {
    if (this.stopped) return;
    if (!this.sending) {
      await this.prune();
      // Stopped while pruning (U1): this writer never sends.
      if (this.stopped) return;
      this.sending = true;
    }
    await this.announce();
    this.kick();
    this.emit();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.aborter.abort();
    this.serial.stop();
    this.emitter.stop();
    for (const u of this.unlisten.splice(0)) await u();
    await this.serial.idle();
    await this.emitter.idle();
  }

  /**
   * Sends what can be sent now; resolves when the queue is empty or waiting for a retry. Rejects
   * when the local database failed while the writer recorded an outcome (W10).
   */
  async flush(): Promise<void> {
    this.failure = undefined;
    this.kick();
    await this.serial.idle();
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure;
  }

  /** Runs the drain loop now (also after a retry timer or coming back online); in a tab that does not lead, asks the leader to. */
  kick(): void {
    if (this.stopped) return;
    if (this.sending) this.serial.run();
    else void this.announce("kick");
  }

  /** Changes that reached their end long ago are history; the fold never reads them. */
  private async prune(): Promise<void> {
    await this.options.pg.query(`DELETE FROM "_changes" WHERE "status" IN ('synced', 'discarded') AND "created_at" < now() - interval '1 day'`);
    await this.options.pg.query(`DELETE FROM "_sync_seen_txids" WHERE "seen_at" < now() - interval '1 day'`);
  }

  /** The leader's online state and last error, for the other tabs (W9); "?" asks the leader for it. */
  private async announce(payload?: string): Promise<void> {
    const text = payload ?? JSON.stringify({ online: this.online, lastError: this.lastError });
    await this.options.pg.query(`SELECT pg_notify('_sync_writer', $1)`, [text]).catch(() => {});
  }

  private heard(payload: string): void {
    if (payload === "?" || payload === "kick") {
      if (this.sending) {
        if (payload === "kick") this.serial.runIn(0);
        else void this.announce();
      }
      return;
    }
    if (this.sending) return;
    const state = JSON.parse(payload) as { online: boolean; lastError: string | null };
    this.online = state.online;
    this.lastError = state.lastError;
    this.emit();
  }

  /** Records the writer's online state and last error, and tells the other tabs when it changed. */
  private report(lastError: string | null, online: boolean): void {
    if (this.lastError === lastError && this.online === online) return;
    this.lastError = lastError;
    this.online = online;
    void this.announce();
  }

  async status(): Promise<WriterStatus> {
    const r = await this.options.pg.query<{ queued: number; failed: number }>(
      `SELECT count(*) FILTER (WHERE "status" IN ('pending', 'sent'))::int AS queued, count(*) FILTER (WHERE "status" = 'failed')::int AS failed FROM "_changes"`,
    );
    return { online: this.online, queued: r.rows[0]?.queued ?? 0, failed: r.rows[0]?.failed ?? 0, lastError: this.lastError, leading: this.sending };
  }

  subscribe(listener: (status: WriterStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Failed changes, oldest first: the error store a UI lists with retry / discard. */
  async failedChanges(): Promise<ChangeRow[]> {
    return (await this.options.pg.query<ChangeRow>(`SELECT * FROM "_changes" WHERE "status" = 'failed' ORDER BY "seq"`)).rows;
  }

  /** Queues a failed change again (its effect comes back in the view). */
  async retry(changeId: string): Promise<void> {
    await this.options.pg.query(`UPDATE "_changes" SET "status" = 'pending', "attempts" = 0, "next_attempt_at" = NULL WHERE "change_id" = $1 AND "status" = 'failed'`, [changeId]);
    this.kick();
  }

  /** Gives up a failed change for good (the row shows the server's state). */
  async discard(changeId: string): Promise<void> {
    await this.options.pg.query(`UPDATE "_changes" SET "status" = 'discarded' WHERE "change_id" = $1 AND "status" = 'failed'`, [changeId]);
  }

  /**
   * Resolves when the change is confirmed: the server accepted it and its txid came back
   * through the shape stream (`synced`). Rejects with ChangeRejectedError when the server
   * rejected it, and with ChangeTimeoutError after `timeoutMs` (the change stays queued).
   */
  async waitForChange(changeId: string, timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const set = this.waiters.get(changeId) ?? new Set();
      const done = (status: ChangeStatus, error: string | null): void => {
        if (status === "synced") resolve();
        else if (status === "failed" || status === "discarded") reject(new ChangeRejectedError(error ?? `Change ${changeId} was ${status}.`, changeId));
        else return;
        clearTimeout(timer);
        set.delete(done);
      };
      set.add(done);
      this.waiters.set(changeId, set);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          set.delete(done);
          reject(new ChangeTimeoutError(changeId, timeoutMs));
        }, timeoutMs);
      }
      this.notifyWaiters(changeId).catch(reject);
    });
  }

  private async notifyWaiters(changeId: string, status?: ChangeStatus): Promise<void> {
    const set = this.waiters.get(changeId);
    if (!set?.size) return;
    const row = await this.options.pg
      .query<{ status: ChangeStatus; last_error: string | null }>(`SELECT "status", "last_error" FROM "_changes" WHERE "change_id" = $1`, [changeId])
      .then((r) => r.rows[0], () => undefined); // cut off (a change of leader): the next status change tells again
    const current = row?.status ?? status;
    if (!current) return;
    for (const done of [...set]) done(current, row?.last_error ?? null);
    if (!set.size) this.waiters.delete(changeId);
  }

  /** Tells subscribers the status; bursts of changes coalesce into one read. */
  private emit(): void {
    this.emitter.run();
  }

  /**
   * The drain (W1, W12): reads up to BATCH pending changes in one query and sends them one at a
   * time in `seq` order. Their outcomes are recorded in order, one transaction at a time, while
   * the next changes are sent: once the oldest unrecorded answer is RECORD_AFTER_MS old and no
   * record is running, the answers so far go into one; the rest of the batch after it. So
   * bookkeeping never holds up sending, and the slower the database (idb://), the more outcomes
   * share a transaction. A change waiting for a retry ends the batch (it blocks the ones
   * after it); a rejected create keeps the row's later changes out of the batch (their failure is
   * part of its record); a key swap that makes later changes of the batch stale ends it, and the
   * queue is read again once everything is recorded.
   */
  private async drain(current: () => boolean): Promise<void> {
    const { pg } = this.options;
    while (!this.stopped && current()) {
      const batch = (await pg.query<Queued>(
        `SELECT *, (extract(epoch FROM ("next_attempt_at" - now())) * 1000)::int AS wait_ms FROM "_changes" WHERE "status" = 'pending' ORDER BY "seq" LIMIT ${BATCH}`,
      )).rows;
      if (!batch.length) break;
      let answered: { change: ChangeRow; outcome: Outcome }[] = [];
      let recording: Promise<void> | undefined;
      let failed: { error: unknown } | undefined;
      let oldest = 0;
      /** Records what was answered since the last record, unless a record is running (it goes next). */
      const recordSome = (): void => {
        if (recording || !answered.length || performance.now() - oldest < RECORD_AFTER_MS) return;
        const some = answered;
        answered = [];
        recording = this.record(some).then(
          () => {
            recording = undefined;
            this.emit();
          },
          (error: unknown) => {
            recording = undefined;
            failed ??= { error };
          },
        );
      };
      const blocked = new Set<string>();
      // Read again at once: the batch was full, or a key swap made the rest of it stale.
      let more = batch.length === BATCH;
      try {
        for (let i = 0; i < batch.length; i++) {
          const change = batch[i]!;
          if (this.stopped || !current() || failed) {
            more = false;
            break;
          }
          if (blocked.has(rowId(change))) {
            // Failed by the record of the row's create, or still pending if another writer had
            // confirmed that create meanwhile (W8): read again to know.
            more = true;
            continue;
          }
          const due = dueTime(this.dueAt.get(String(change.seq)), change.wait_ms, performance.now(), this.backoff.maxMs);
          const wait = due - performance.now();
          if (wait > 0) {
            this.dueAt.set(String(change.seq), due);
            this.serial.runIn(wait);
            more = false;
            break;
          }
          this.dueAt.delete(String(change.seq));
          const outcome = await this.attempt(change);
          if (outcome === "held") {
            // U1, U2: stopped, or no credentials for this database's user now. Nothing was sent and
            // nothing is recorded; a writer that goes on looks again later.
            if (!this.stopped) this.serial.runIn(this.backoff.maxMs);
            more = false;
            break;
          }
          if (!answered.length) oldest = performance.now();
          answered.push({ change, outcome });
          if (outcome.kind === "retry") {
            this.dueAt.set(String(change.seq), performance.now() + outcome.delayMs);
            this.report(outcome.error, !outcome.network);
            this.serial.runIn(outcome.delayMs);
            more = false;
            break;
          }
          // A request got through: whatever kept the writer from the server is gone. A key problem
          // (K1, K2) is the server's or the spec's to fix: it stays the last error until another one.
          this.keyProblem = keyProblem(outcome) ?? this.keyProblem;
          this.report(this.keyProblem ?? null, true);
          const block = blockedRow(change, outcome);
          if (block) blocked.add(block);
          if (staleAfter(outcome, batch.slice(i + 1))) {
            more = true;
            break;
          }
          recordSome();
        }
      } finally {
        // Recorded even when the loop stops early (the server has these answers), in order (W12).
        await recording;
        if (!failed && answered.length) {
          await this.record(answered).catch((error: unknown) => (failed = { error }));
        }
        this.emit();
      }
      if (failed) throw failed.error;
      if (!more) break;
    }
  }

  /** Sends one change and decides what its answer means (writer-decisions.ts). */
  private async attempt(change: ChangeRow): Promise<Outcome | "held"> {
    const entity = this.entity(change.entity);
    let row: Record<string, unknown> | undefined;
    if (entity && needsCurrentRow(change, entity)) {
      row = (await this.options.pg.query<Record<string, unknown>>(`SELECT * FROM ${quoteIdent(entity.sql.view)} WHERE ${quoteIdent(entity.key)}::text = $1`, [change.row_key])).rows[0];
    }
    const prepared = planRequest(change, entity, this.options.baseUrl, row);
    let answer: Answer;
    if (prepared.kind === "unsendable") answer = prepared;
    else {
      const { request } = prepared;
      let auth: HeadersInit | undefined;
      try {
        auth = await this.options.headers?.();
      } catch (error) {
        if (isCredentialsWithheld(error)) return "held";
        throw error;
      }
      // The credentials (or the row) may have taken a while: stopped meanwhile, nothing is sent (U1).
      if (this.stopped) return "held";
      const headers = new Headers(auth);
      for (const [name, value] of Object.entries(request.headers)) headers.set(name, value);
      try {
        const response = await this.fetchFn(request.url, { method: request.method, headers, signal: this.aborter.signal, ...(request.body !== undefined ? { body: request.body } : {}) });
        if (this.stopped) return "held";
        const text = await response.text().catch(() => "");
        answer = { kind: "response", status: response.status, statusText: response.statusText, headers: response.headers, text };
      } catch (error) {
        if (this.stopped) return "held";
        answer = { kind: "network", message: (error as Error).message };
      }
    }
    const outcome = decide(change, entity, answer, { backoff: this.backoff, ...(this.options.txidHeader ? { txidHeader: this.options.txidHeader } : {}) });
    if (outcome.kind === "retry" && outcome.refreshCredentials) {
      try {
        await this.options.onUnauthorized?.();
      } catch (error) {
        return { ...outcome, error: `${outcome.error}; refreshing the credentials failed: ${(error as Error).message}` };
      }
    }
    return outcome;
  }

  /** Records the outcomes of a batch in one local transaction (W12); a failure is the writer's (W10). */
  private async record(answered: { change: ChangeRow; outcome: Outcome }[]): Promise<void> {
    if (!answered.length) return;
    const statements = answered.flatMap(({ change, outcome }) => recordOutcome(change, outcome, this.byTable));
    const { pg } = this.options;
    try {
      if (statements.length === 1) await pg.query(statements[0]!.sql, statements[0]!.params);
      else {
        await pg.transaction(async (tx) => {
          for (const s of statements) await tx.query(s.sql, s.params);
        });
      }
    } catch (error) {
      if (isLeaderChange(error)) throw error;
      const first = answered.find((a) => a.outcome.kind === "confirm") ?? answered[0]!;
      const { change } = first;
      const verb = first.outcome.kind === "confirm" ? "accepted" : "answered";
      const others = answered.length > 1 ? ` (with ${answered.length - 1} other answered change(s) of the same batch)` : "";
      // `cause` set by hand: the Error constructor's options need lib ES2022, apps may use less.
      throw Object.assign(
        new Error(
          `The server ${verb} change ${change.change_id} (${change.op} of ${change.entity} ${change.row_key}), but the local database failed to record it: ${(error as Error).message}. The change stays pending${others} and is sent again (same Idempotency-Key) on the next flush.`,
        ),
        { cause: error },
      );
    }
  }

  private entity(table: string): SyncEntity | undefined {
    return this.byTable.get(table);
  }
}
