/**
 * The change feed: a temporary logical replication slot with the `test_decoding` plugin,
 * polled over SQL with `pg_logical_slot_get_changes`. Real LSNs, real 32-bit xids, commit
 * order. The slot lives on one dedicated connection (temporary slots belong to their session)
 * and disappears with it.
 *
 * Every decoded transaction is handed to the listener (the shape registry, which keeps a short
 * history of them for shapes created later; see shapes.ts).
 */
import pg from "pg";
import { toTransactions, type DecodedTransaction, type SlotRow } from "./decoding.js";
import { DISPLAY_OPTIONS } from "./postgres.js";

export interface ChangeFeedOptions {
  databaseUrl: string;
  slotName: string;
  /** How often to poll the slot when idle. */
  pollIntervalMs: number;
  /** Awaited before the next batch is read, so transactions are handed out one batch at a time. */
  onTransactions: (txs: DecodedTransaction[]) => Promise<void> | void;
  onError: (err: unknown) => void;
}

/** Most rows fetched in one call; decoding always returns whole transactions. */
const BATCH = 5000;

export class ChangeFeed {
  readonly #opts: ChangeFeedOptions;
  readonly #client: pg.Client;
  #lastLsn = 0n;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #stopped = false;

  private constructor(opts: ChangeFeedOptions) {
    this.#opts = opts;
    this.#client = new pg.Client({ connectionString: opts.databaseUrl, options: DISPLAY_OPTIONS, application_name: "shape-server-feed" });
    this.#client.on("error", (err) => {
      if (!this.#stopped) opts.onError(err);
    });
  }

  static async start(opts: ChangeFeedOptions): Promise<ChangeFeed> {
    const feed = new ChangeFeed(opts);
    await feed.#client.connect();
    // Creating a logical slot waits for running transactions to end (it needs a consistent
    // point). Every transaction committing after that point is decoded by this slot.
    const r = await feed.#client.query<{ lsn: string }>(
      `SELECT (lsn - '0/0')::text AS lsn FROM pg_create_logical_replication_slot($1, 'test_decoding', true)`,
      [opts.slotName],
    );
    feed.#lastLsn = BigInt(r.rows[0]?.lsn ?? "0");
    feed.#schedule();
    return feed;
  }

  /** The LSN up to which everything has been decoded and handed out (Electric's global_last_seen_lsn). */
  get lastLsn(): bigint {
    return this.#lastLsn;
  }

  /**
   * Polls the slot now; resolves once every transaction committed before the call has been
   * handed to the listener.
   */
  poll(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#polling) {
      // A poll in flight may have started before the caller's commit: poll once more after it.
      return this.#polling.then(() => this.poll());
    }
    clearTimeout(this.#timer);
    this.#polling = this.#drain().finally(() => {
      this.#polling = undefined;
      this.#schedule();
    });
    return this.#polling;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#polling?.catch(() => undefined);
    // Ending the session drops the temporary slot.
    await this.#client.end().catch(() => undefined);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.poll().catch((err: unknown) => {
        if (!this.#stopped) this.#opts.onError(err);
      });
    }, this.#opts.pollIntervalMs);
    this.#timer.unref();
  }

  async #drain(): Promise<void> {
    for (;;) {
      const r = await this.#client.query<SlotRow>(
        `SELECT (lsn - '0/0')::text AS lsn, xid::text AS xid, data
           FROM pg_logical_slot_get_changes($1, NULL, $2,
                'include-xids', '1', 'skip-empty-xacts', '1', 'include-timestamp', '0')`,
        [this.#opts.slotName, BATCH],
      );
      if (this.#stopped) return;
      const txs = toTransactions(r.rows);
      if (txs.length > 0) {
        await this.#opts.onTransactions(txs);
        const last = txs.at(-1) as DecodedTransaction;
        if (last.commitLsn > this.#lastLsn) this.#lastLsn = last.commitLsn;
      }
      if (r.rows.length < BATCH) return;
    }
  }
}
