// The change writer: drains `_changes` to the REST API, in order. Plain TypeScript, copied as
// is into the generated output (sync/change-writer.ts); eject it to change it.
//
// Invariants (docs/sync-engine.md):
//  W1 Changes are sent one at a time in `seq` order; a change waiting for a retry blocks the
//     ones after it, so the server sees them in the order they were made.
//  W2 Every request carries the change id as `Idempotency-Key`: a change re-sent after a crash
//     or a lost response is applied once by the server.
//  W3 2xx → `sent` with the server's txid (the shape stream then marks it `synced`); without a
//     txid and without a write-id echo, `synced` at once.
//  W4 4xx (but 401/408/429) → `failed` with the server's error; the database rolls back that
//     change's effect only. Later changes of a row whose create was rejected fail too, with
//     that reason (they could never apply).
//  W5 Network error, 5xx, 408, 429 → retried with exponential backoff and full jitter, never
//     sooner than `Retry-After`; the attempt count and error are recorded. 401 too, after
//     `onUnauthorized` (refresh the credentials): expired credentials never fail a change.
//  W6 Status lives in the database only, so a restart resumes where it stopped.
//  W7 Waits do not trust the wall clock: a retry is timed with a monotonic clock (a clock set
//     back does not stall the queue), a delay saved before a restart is capped at `maxMs`, and
//     a `Retry-After` date is read against the response's own `Date` (client clock skew).
//  W8 A change's status only moves forward: pending → sent → synced, pending → failed, and
//     failed → pending only by `retry()`. A late answer (a 4xx after another writer on the same
//     database confirmed the change) never turns synced into failed; the database refuses it too.
//  W9 One writer sends per database: in the browser, the tab that leads (`lead()`); the others
//     only watch. Every tab sees the same status: the leader tells the others its online state
//     and last error (NOTIFY "_sync_writer"); queue and failed counts come from the database.
//  K1 A confirmed create of a server-key entity (2xx) replaces the row's temporary key with the
//     key of the response, in one local transaction with the change's new status: in the
//     overlay, in the row's changes (so later updates and deletes go to the server key's URL),
//     in other entities' foreign keys (overlay rows, queued values and recorded path values),
//     and in `_sync_temp_keys` (temporary → server key). A 2xx without a key fails the row's
//     later changes with that reason, is noted on the create, and stays the writer's last error
//     (no retry fixes it); it is never a silent swap.
//  K2 A create of a client-key entity whose response carries another key than the one sent
//     (a server that ignores the client's key) is swapped as in K1 and reported as the
//     writer's last error and on the create, naming the fix (`key_source: server`, or keep the
//     client's key).
//  U1 A stopped writer sends nothing: stop() aborts a request in flight, and the drain checks
//     again after every wait (the next change, the credentials) that it was not stopped meanwhile.
//     A database closes only after its writer stopped (SyncProvider, engine.stop()).
//  U2 Credentials are the database's user's or none: when `headers()` withholds them
//     (CredentialsWithheldError: the user of this database is not the one signed in now), no
//     request is made and the change stays pending, its attempts untouched, until that user is
//     signed in again. A change is never sent with another user's token.
//  W10 A failure of the local database while the writer records an outcome (the change stays
//     pending, so it is sent again, with the same idempotency key) is not swallowed: it is the
//     writer's `lastError`, subscribers hear of it, and `flush()` rejects with it. It is never
//     an unhandled promise rejection.
import type { PGliteInterface } from "@electric-sql/pglite";
import { describeErrorBody } from "../api/error-text.js";
import { byTable, listenShared, quoteIdent, Serial, type EntityDescription, type WriteEndpointDescription } from "../db/local-db.js";

/** A write endpoint of an entity (db/local-db.ts). */
export type Endpoint = WriteEndpointDescription;

/**
 * What the writer knows of an entity: its description (sync/entities.ts). Read-only and
 * device-only columns are never sent (the key is still sent on create, unless the server assigns
 * keys: `keySource: "server"`, K1); `references` are rewritten by K1 too.
 */
export type SyncEntity = EntityDescription;

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  multiplier: number;
}

/** 500 ms doubling up to 30 s, forever: clients go offline and come back. */
export const BACKOFF_DEFAULTS: BackoffOptions = { initialMs: 500, maxMs: 30_000, multiplier: 2 };

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

export interface ChangeRow {
  seq: number;
  change_id: string;
  entity: string;
  op: "insert" | "update" | "delete";
  row_key: string;
  value: Record<string, unknown>;
  status: ChangeStatus;
  attempts: number;
  last_error: string | null;
  txid: number | null;
  created_at: string;
}

export type ChangeStatus = "pending" | "sent" | "synced" | "failed" | "discarded";

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

type Outcome = { kind: "held" } | { kind: "ok"; txid: number | null; body: unknown } | { kind: "rejected"; error: string; status: number } | { kind: "retry"; error: string; retryAfterMs: number; network: boolean };

export class ChangeWriter {
  private readonly backoff: BackoffOptions;
  private readonly fetchFn: typeof fetch;
  private readonly serial: Serial;
  private readonly emitter: Serial;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When each change waiting for a retry is due, on the monotonic clock (W7). */
  private readonly dueAt = new Map<string, number>();
  private stopped = true;
  /** Sends changes (this tab leads); otherwise only watches their status. */
  private sending = true;
  private online = true;
  private lastError: string | null = null;
  private readonly listeners = new Set<(status: WriterStatus) => void>();
  private readonly waiters = new Map<string, Set<(status: ChangeStatus, error: string | null) => void>>();
  private unlisten: (() => Promise<void>)[] = [];
  /** Aborts the request in flight when the writer stops (U1). */
  private aborter = new AbortController();
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
    this.serial = new Serial(
      (current) => this.drain(current),
      (error) => {
        if (this.stopped) return;
        // A local failure (W10): kept for flush(), shown as the last error, tried again later.
        this.failure = error instanceof Error ? error : new Error(String(error));
        this.report(this.failure.message, this.online);
        this.emit();
        this.retryIn(this.backoff.maxMs);
      },
    );
    this.emitter = new Serial(
      async () => {
        if (!this.listeners.size || this.stopped) return;
        const s = await this.status();
        for (const l of this.listeners) l(s);
      },
      () => {},
    );
  }

  /** `send: false`: only watch (another tab sends); `lead()` makes it send later. */
  async start(options: { send?: boolean } = {}): Promise<void> {
    const { pg } = this.options;
    this.stopped = false;
    if (this.aborter.signal.aborted) this.aborter = new AbortController();
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
      if (this.stopped) return;
      this.sending = true;
    }
    await this.announce();
    this.kick();
    this.emit();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.aborter.abort();
    for (const u of this.unlisten.splice(0)) await u();
    await this.serial.idle();
    await this.emitter.idle();
  }

  /**
   * Sends what can be sent now; resolves when the queue is empty or waiting for a retry. Rejects
   * when the local database failed while the writer recorded an outcome (W8).
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
        if (payload === "kick") this.retryIn(0);
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

  private retryIn(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), ms);
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

  private async drain(current: () => boolean): Promise<void> {
    const { pg } = this.options;
    while (!this.stopped && current()) {
      const next = (await pg.query<ChangeRow & { wait_ms: number | null }>(
        `SELECT *, (extract(epoch FROM ("next_attempt_at" - now())) * 1000)::int AS wait_ms FROM "_changes" WHERE "status" = 'pending' ORDER BY "seq" LIMIT 1`,
      )).rows[0];
      if (!next) break;
      let due = this.dueAt.get(String(next.seq));
      if (due === undefined) {
        // Saved before a restart, by a clock that may have been set since: wait at most maxMs.
        due = performance.now() + Math.min(Math.max(next.wait_ms ?? 0, 0), this.backoff.maxMs);
        this.dueAt.set(String(next.seq), due);
      }
      const wait = due - performance.now();
      if (wait > 0) {
        this.retryIn(wait);
        break;
      }
      this.dueAt.delete(String(next.seq));
      if (this.stopped || !current()) break;
      const outcome = await this.send(next);
      if (outcome.kind === "held") {
        // U1, U2: stopped, or no credentials for this database's user now. Nothing was sent and
        // nothing is recorded; a writer that goes on looks again later.
        this.retryIn(this.backoff.maxMs);
        break;
      }
      if (outcome.kind === "ok") {
        const entity = this.entity(next.entity);
        const awaitsEcho = outcome.txid !== null || entity?.writeId !== undefined;
        // A key problem (K1, K2) is recorded on the create itself too.
        const record = (q: Queryable, note: string | null = null) =>
          q.query(`UPDATE "_changes" SET "status" = $2, "txid" = $3, "attempts" = "attempts" + 1, "last_error" = $4 WHERE "seq" = $1 AND "status" = 'pending'`, [
            next.seq,
            awaitsEcho ? "sent" : "synced",
            outcome.txid,
            note,
          ]);
        let keyProblem: string | undefined;
        // K1 (and K2: a server that stored a client-key row under a key of its own).
        const swaps = next.op === "insert" && entity !== undefined && (entity.keySource === "server" || returnedKey(entity, outcome.body, next.row_key) !== undefined);
        await (swaps
          ? pg.transaction(async (tx) => {
              keyProblem = await this.replaceTempKey(tx, entity!, next, outcome.body);
              await record(tx, keyProblem ?? null);
            })
          : record(pg)
        ).catch((error: unknown) => {
            // `cause` set by hand: the Error constructor's options need lib ES2022, apps may use less.
            throw Object.assign(
              new Error(
                `The server accepted change ${next.change_id} (${next.op} of ${next.entity} ${next.row_key}), but the local database failed to record it: ${(error as Error).message}. The change stays pending and is sent again (same Idempotency-Key) on the next flush.`,
              ),
              { cause: error },
            );
          });
        // A request got through: whatever kept the writer from the server is gone. A key problem
        // (K1, K2) is the server's or the spec's to fix: it stays the last error until another one.
        if (keyProblem) this.keyProblem = keyProblem;
        this.report(this.keyProblem ?? null, true);
      } else if (outcome.kind === "rejected") {
        await pg.transaction(async (tx) => {
          // Another writer on this database (a second tab, a second process) may have confirmed
          // this change meanwhile: a change's status only moves forward (W8).
          const hit = await tx.query(`UPDATE "_changes" SET "status" = 'failed', "attempts" = "attempts" + 1, "last_error" = $2 WHERE "seq" = $1 AND "status" = 'pending'`, [next.seq, outcome.error]);
          if (hit.affectedRows && next.op === "insert") {
            await tx.query(
              `UPDATE "_changes" SET "status" = 'failed', "last_error" = $4 WHERE "entity" = $1 AND "row_key" = $2 AND "seq" > $3 AND "status" = 'pending'`,
              [next.entity, next.row_key, next.seq, `Not sent: the create of this row was rejected (${outcome.error})`],
            );
          }
        });
        // The server answered: nothing stands in the queue's way. The rejection itself is in the error store.
        this.report(null, true);
      } else {
        const delay = Math.max(outcome.retryAfterMs, this.delayFor(next.attempts));
        this.dueAt.set(String(next.seq), performance.now() + delay);
        await pg.query(`UPDATE "_changes" SET "attempts" = "attempts" + 1, "last_error" = $2, "next_attempt_at" = now() + make_interval(secs => $3::float8 / 1000) WHERE "seq" = $1 AND "status" = 'pending'`, [next.seq, outcome.error, delay]);
        this.report(outcome.error, !outcome.network);
        this.emit();
        this.retryIn(delay);
        break;
      }
      this.emit();
    }
  }

  /**
   * K1: the server accepted the create of a row with a temporary key; its response names the
   * row's key. Replaces the temporary key everywhere on this device (inside the caller's
   * transaction). Returns the problem when the response has no key.
   */
  private async replaceTempKey(tx: Queryable, entity: SyncEntity, change: ChangeRow, body: unknown): Promise<string | undefined> {
    const at = entity.createKeyPath ?? [entity.key];
    const value = returnedKey(entity, body);
    const temp = change.row_key;
    if (value === undefined) {
      const problem = `The server accepted the create of ${entity.table} ${temp} (change ${change.change_id}) but its response has no key at ${at.join(".")}: the row's later changes cannot be addressed, and the row shows under the server's key only when it syncs.`;
      await tx.query(`UPDATE "_changes" SET "status" = 'failed', "last_error" = $4 WHERE "entity" = $1 AND "row_key" = $2 AND "seq" > $3 AND "status" = 'pending'`, [entity.table, temp, change.seq, `Not sent: ${problem}`]);
      return problem;
    }
    const key = String(value);
    if (sameKey(key, temp)) return undefined;
    const json = JSON.stringify(value);
    await tx.query(
      `INSERT INTO "_sync_temp_keys" ("entity", "temp_key", "server_key") VALUES ($1, $2, $3) ON CONFLICT ("entity", "temp_key") DO UPDATE SET "server_key" = EXCLUDED."server_key"`,
      [entity.table, temp, key],
    );
    // The row's own changes: this create and the updates and deletes queued after it.
    await tx.query(
      `UPDATE "_changes" SET "row_key" = $3, "value" = CASE WHEN "value" ? $4 THEN jsonb_set("value", ARRAY[$4], $5::jsonb) ELSE "value" END WHERE "entity" = $1 AND "row_key" = $2`,
      [entity.table, temp, key, entity.key, json],
    );
    // The overlay row moves to the server key; the feed hears of the temporary key's end too.
    await tx.query(`UPDATE ${quoteIdent(entity.sql.local)} SET ${quoteIdent(entity.key)} = $2 WHERE ${quoteIdent(entity.key)}::text = $1`, [temp, key]);
    await tx.query(`INSERT INTO "_sync_feed" ("entity", "row_key") VALUES ($1, $2)`, [entity.table, temp]);
    // Foreign keys of every entity that refers to this one.
    for (const other of this.options.entities) {
      for (const ref of (other.references ?? []).filter((r) => r.table === entity.table)) {
        await tx.query(`UPDATE ${quoteIdent(other.sql.local)} SET ${quoteIdent(ref.field)} = CAST($2 AS ${ref.sqlType}) WHERE ${quoteIdent(ref.field)}::text = $1`, [temp, key]);
        await tx.query(
          `UPDATE "_changes" SET "value" = jsonb_set("value", ARRAY[$2], $3::jsonb) WHERE "entity" = $1 AND "status" IN ('pending', 'failed') AND "value" ->> $2 = $4`,
          [other.table, ref.field, json, temp],
        );
        await tx.query(
          `UPDATE "_changes" SET "value" = jsonb_set("value", ARRAY['${PATH_VALUES}', $2], to_jsonb($3::text)) WHERE "entity" = $1 AND "status" IN ('pending', 'failed') AND "value" -> '${PATH_VALUES}' ->> $2 = $4`,
          [other.table, ref.field, key, temp],
        );
      }
    }
    await tx.query(`SELECT pg_notify('_sync_feed', $1)`, [entity.table]);
    if (entity.keySource === "server") return undefined;
    // K2: the client made this key and the server should have kept it.
    return `The server stored the create of ${entity.table} ${temp} (change ${change.change_id}) under its own key ${key}, not the key the client sent: the row and the changes that refer to it now use the server's key on this device. If the server assigns keys, set \`x-sync: { key_source: server }\` on the resource; otherwise it must keep the client's key (docs/backend.md, "Keys").`;
  }

  /** Full jitter: a random delay up to the exponential bound. */
  private delayFor(attempts: number): number {
    const bound = Math.min(this.backoff.maxMs, this.backoff.initialMs * this.backoff.multiplier ** attempts);
    return Math.round(Math.random() * bound);
  }

  private entity(table: string): SyncEntity | undefined {
    return this.byTable.get(table);
  }

  private async send(change: ChangeRow): Promise<Outcome> {
    const entity = this.entity(change.entity);
    const endpoint = !entity ? undefined : change.op === "insert" ? entity.create : change.op === "update" ? entity.update : entity.remove;
    if (!entity || !endpoint) {
      return { kind: "rejected", status: 0, error: `The API has no ${change.op} endpoint for ${change.entity}; the change cannot be sent.` };
    }
    const path = endpointPath(endpoint, entity.key, change);
    if (typeof path !== "string") return { kind: "rejected", status: 0, error: `Cannot build the URL ${endpoint.method.toUpperCase()} ${endpoint.path}: the change has no value for {${path.missing.param}} (${path.missing.field}).` };
    // The key is sent on create unless the server assigns it (then the row's key is a temporary one).
    const sendsKey = change.op === "insert" && entity.keySource !== "server";
    const omit = new Set([...entity.columns.filter((c) => c.device || (c.readOnly && (!sendsKey || !c.key))).map((c) => c.name), ...(change.op === "insert" && !sendsKey ? [entity.key] : []), PATH_VALUES]);
    let body: Record<string, unknown> | undefined;
    // A create leaves out what the client did not set (NULL): the server applies its defaults.
    if (change.op === "insert") body = Object.fromEntries(Object.entries(strip(change.value, omit)).filter(([, v]) => v !== null));
    else if (change.op === "update") {
      const changed = strip(change.value, new Set([...omit, entity.key]));
      if (endpoint.method.toUpperCase() === "PUT") {
        // No PATCH in the spec: send the whole row as this client sees it now.
        const row = (await this.options.pg.query<Record<string, unknown>>(`SELECT * FROM ${quoteIdent(entity.sql.view)} WHERE ${quoteIdent(entity.key)}::text = $1`, [change.row_key])).rows[0];
        body = { ...strip(row ?? {}, new Set([...omit, "_sync_status"])), ...changed };
      } else body = changed;
    }
    const url = this.options.baseUrl.replace(/\/$/, "") + path;
    let auth: HeadersInit | undefined;
    try {
      auth = await this.options.headers?.();
    } catch (error) {
      if (isCredentialsWithheld(error)) return { kind: "held" };
      throw error;
    }
    // The credentials may have taken a while (a refresh): stopped meanwhile, nothing is sent (U1).
    if (this.stopped) return { kind: "held" };
    const headers = new Headers(auth);
    headers.set("idempotency-key", change.change_id);
    headers.set("x-change-id", change.change_id);
    if (body) headers.set("content-type", "application/json");
    let response: Response;
    try {
      response = await this.fetchFn(url, { method: endpoint.method.toUpperCase(), headers, signal: this.aborter.signal, ...(body ? { body: JSON.stringify(body) } : {}) });
    } catch (error) {
      if (this.stopped) return { kind: "held" };
      return { kind: "retry", network: true, retryAfterMs: 0, error: `Network error: ${(error as Error).message}` };
    }
    const text = await response.text().catch(() => "");
    if (response.ok) {
      const header = response.headers.get(this.options.txidHeader ?? "x-txid");
      let txid = header !== null && header !== "" ? Number(header) : NaN;
      let parsed: unknown;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          // Not JSON: no txid (and no key) in the body.
        }
      }
      if (Number.isNaN(txid) && parsed !== null && typeof parsed === "object" && "txid" in parsed && parsed.txid !== undefined) txid = Number(parsed.txid);
      return { kind: "ok", txid: Number.isFinite(txid) ? txid : null, body: parsed };
    }
    const summary = `${response.status} ${describeErrorBody(text) ?? response.statusText}`.trim();
    if (response.status === 401) {
      // Expired or missing credentials say nothing about the change: refresh them and send it
      // again (same Idempotency-Key) rather than roll back the user's work.
      try {
        await this.options.onUnauthorized?.();
      } catch (error) {
        return { kind: "retry", network: false, retryAfterMs: 0, error: `${summary}; refreshing the credentials failed: ${(error as Error).message}` };
      }
      return { kind: "retry", network: false, retryAfterMs: 0, error: summary };
    }
    if (response.status >= 500 || response.status === 408 || response.status === 429) {
      return { kind: "retry", network: false, retryAfterMs: retryAfter(response.headers.get("retry-after"), response.headers.get("date")), error: summary };
    }
    return { kind: "rejected", status: response.status, error: summary };
  }
}

/**
 * The key a create's JSON response carries: at `createKeyPath` for server keys; for client keys,
 * the row's key property when it differs from the key sent (K2). Undefined when there is none.
 */
function returnedKey(entity: SyncEntity, body: unknown, sent?: string): string | number | undefined {
  let value: unknown = body;
  for (const step of entity.createKeyPath ?? [entity.key]) value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[step] : undefined;
  if ((typeof value !== "string" && typeof value !== "number") || value === "") return undefined;
  if (entity.keySource !== "server" && sent !== undefined && sameKey(String(value), sent)) return undefined;
  return value;
}

/** Keys compare as text; uuids whatever their letter case. */
function sameKey(a: string, b: string): boolean {
  return a === b || (/^[0-9a-f-]{36}$/i.test(a) && a.toLowerCase() === b.toLowerCase());
}

/** What a query runs on: the database or one of its transactions. */
type Queryable = Pick<PGliteInterface, "query">;

/** Where an update or delete records the fields its URL is built from, as they were when it was made. */
const PATH_VALUES = "_sp_path";

/**
 * The URL path of a change: the endpoint's parts with every parameter filled from the row
 * (the key from `row_key`, other fields from the change's value), URL-encoded. Returns the
 * parameter without a value instead when one is missing.
 */
export function endpointPath(endpoint: Endpoint, key: string, change: Pick<ChangeRow, "row_key" | "value">): string | { missing: { param: string; field: string } } {
  const recorded = change.value[PATH_VALUES];
  const values: Record<string, unknown> = { ...change.value, ...(recorded && typeof recorded === "object" ? (recorded as Record<string, unknown>) : {}) };
  let path = "";
  for (const part of endpoint.parts) {
    if (typeof part === "string") {
      path += part;
      continue;
    }
    const value = part.field === key ? change.row_key : values[part.field];
    if (value === undefined || value === null) return { missing: part };
    path += encodeURIComponent(typeof value === "object" ? JSON.stringify(value) : String(value));
  }
  return path;
}

function strip(value: Record<string, unknown>, omit: Set<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([k]) => !omit.has(k)));
}

/**
 * `Retry-After` in seconds or as an HTTP date, clamped to an hour. A date is measured from the
 * response's `Date` header (the server's clock), so a client clock that is off does not matter.
 */
export function retryAfter(header: string | null, serverDate?: string | null): number {
  if (!header) return 0;
  const seconds = Number(header);
  const now = serverDate ? Date.parse(serverDate) : NaN;
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - (Number.isFinite(now) ? now : Date.now());
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), 3_600_000) : 0;
}
