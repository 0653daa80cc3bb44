/**
 * Fault injection for client tests (only with `createServer({ faults: true })`). Counters are
 * consumed by write requests (POST, PATCH, PUT, DELETE under /api) in arrival order.
 */
export interface FaultState {
  /** Writes still to be refused with 503 before touching the database. */
  failWrites: number;
  /** Retry-After, in seconds, sent with those 503s. */
  retryAfter: number;
  /** Send that Retry-After as an HTTP date (the server's clock + retryAfter) instead of seconds. */
  retryAfterAsDate: boolean;
  /** Writes still to be committed and then answered by dropping the connection. */
  dropAfterCommit: number;
  /** Added before every /api response is sent. */
  delayMs: number;
}

export type FaultSettings = Partial<FaultState>;

const DEFAULTS: FaultState = { failWrites: 0, retryAfter: 1, retryAfterAsDate: false, dropAfterCommit: 0, delayMs: 0 };

export class Faults {
  private state: FaultState = { ...DEFAULTS };

  /** The next `n` writes answer 503 with `Retry-After: retryAfter`. */
  failNextWrites(n: number, retryAfter = 1): void {
    this.set({ failWrites: n, retryAfter });
  }

  /** The next `n` writes commit, then the server destroys the socket instead of answering. */
  dropNextAfterCommit(n = 1): void {
    this.set({ dropAfterCommit: n });
  }

  /** Every /api response waits `ms` first (0 turns it off). */
  delayResponses(ms: number): void {
    this.set({ delayMs: ms });
  }

  set(settings: FaultSettings): void {
    for (const key of ["failWrites", "retryAfter", "dropAfterCommit", "delayMs"] as const) {
      const v = settings[key];
      if (v === undefined) continue;
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`${key} must be a non-negative integer`);
      this.state[key] = v;
    }
    if (settings.retryAfterAsDate !== undefined) {
      if (typeof settings.retryAfterAsDate !== "boolean") throw new RangeError("retryAfterAsDate must be true or false");
      this.state.retryAfterAsDate = settings.retryAfterAsDate;
    }
  }

  reset(): void {
    this.state = { ...DEFAULTS };
  }

  get current(): Readonly<FaultState> {
    return { ...this.state };
  }

  /** Consumes one injected failure: the Retry-After header value, or null when none is pending. */
  takeFailure(): string | null {
    if (this.state.failWrites === 0) return null;
    this.state.failWrites--;
    const { retryAfter, retryAfterAsDate } = this.state;
    return retryAfterAsDate ? new Date(Date.now() + retryAfter * 1000).toUTCString() : String(retryAfter);
  }

  /** Consumes one pending connection drop. */
  takeDrop(): boolean {
    if (this.state.dropAfterCommit === 0) return false;
    this.state.dropAfterCommit--;
    return true;
  }
}
