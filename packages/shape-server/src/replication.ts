/**
 * The change feed: Postgres logical replication through the `pgoutput` plugin (the one real
 * Electric reads), streamed by pg-logical-replication over a replication connection. Real LSNs,
 * real 32-bit xids, commit order, values as their types' output text.
 *
 * - A publication `FOR ALL TABLES` (one per feed): every transaction of the database is decoded,
 *   whatever shapes exist, so that a shape created later can take the ones its snapshot does not
 *   see (shapes.ts). Dropped when the feed stops.
 * - A TEMPORARY slot, created on the replication connection itself (`CREATE_REPLICATION_SLOT …
 *   TEMPORARY LOGICAL pgoutput`): it belongs to that session and disappears with it — on stop(),
 *   and also when the process is killed — so no slot is left behind to keep WAL. Every
 *   transaction that commits after the slot's consistent point is streamed.
 * - Each transaction is acknowledged once handed out, so the slot never holds WAL for long.
 * - flush(): a transactional logical message (`pg_logical_emit_message(true, prefix, n)`) is
 *   written; WAL is decoded in order, so once it arrives every transaction committed before it
 *   has been handed out.
 */
import pg from "pg";
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from "pg-logical-replication";
import { TransactionAssembler, formatLsn, parseLsn, type DecodedTransaction } from "./changes.js";
import { DISPLAY_OPTIONS, quoteIdent } from "./postgres.js";

export interface ChangeFeedOptions {
  databaseUrl: string;
  /** Names the slot and the publication (an identifier: lower case letters, digits, `_`). */
  slotName: string;
  /** Awaited before the next transaction is handed out, so transactions are handed out in order. */
  onTransactions: (txs: DecodedTransaction[]) => Promise<void> | void;
  onError: (err: unknown) => void;
}

/** Every value as its output text: no pg type parsers (the shape protocol sends text). */
const asText = (raw: unknown): unknown => raw;

/**
 * pgoutput on a slot created by the replication session itself. pg-logical-replication's plugin
 * runs START_REPLICATION on an existing slot; this one first creates the temporary slot on the
 * same connection (a temporary slot can only be used by the session that created it), and
 * reports its consistent point. Values are kept as text (the parser would otherwise apply the
 * `pg` type parsers).
 */
class TemporarySlotPgoutput extends PgoutputPlugin {
  constructor(
    options: Pgoutput.Options,
    private readonly created: (consistentPoint: string) => void,
  ) {
    super(options);
    const parser = (this as unknown as { parser: { readRelationColumn: (reader: unknown) => Pgoutput.RelationColumn } }).parser;
    const read = parser.readRelationColumn.bind(parser);
    parser.readRelationColumn = (reader) => ({ ...read(reader), parser: asText });
  }

  override async start(client: pg.Client, slotName: string): Promise<unknown> {
    const r = await client.query<{ consistent_point: string }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(slotName)} TEMPORARY LOGICAL pgoutput NOEXPORT_SNAPSHOT`,
    );
    const point = r.rows[0]?.consistent_point;
    if (!point) throw new Error(`CREATE_REPLICATION_SLOT ${slotName}: no consistent point`);
    this.created(point);
    return super.start(client, slotName, point);
  }
}

export class ChangeFeed {
  readonly #opts: ChangeFeedOptions;
  readonly #service: LogicalReplicationService;
  readonly #admin: pg.Client;
  readonly #assembler: TransactionAssembler;
  readonly #markerPrefix: string;
  #lastLsn = 0n;
  #stopped = false;
  /** Transactions are handed out one at a time, in commit order. */
  #chain: Promise<void> = Promise.resolve();
  #markerCounter = 0;
  readonly #markerWaiters = new Map<number, { resolve: () => void; reject: (err: unknown) => void }>();
  /** Set when the stream broke: flush() then fails instead of waiting forever. */
  #failure: unknown;

  private constructor(opts: ChangeFeedOptions) {
    this.#opts = opts;
    this.#markerPrefix = `shape-server:${opts.slotName}`;
    this.#assembler = new TransactionAssembler(this.#markerPrefix);
    // Acknowledged by hand, once a transaction has been handed out.
    this.#service = new LogicalReplicationService(
      { connectionString: opts.databaseUrl, options: DISPLAY_OPTIONS, application_name: "shape-server-feed" },
      { acknowledge: { auto: false, timeoutSeconds: 10 } },
    );
    this.#admin = new pg.Client({ connectionString: opts.databaseUrl, options: DISPLAY_OPTIONS, application_name: "shape-server-admin" });
    this.#admin.on("error", (err) => this.#fail(err));
    this.#service.on("error", (err: unknown) => this.#fail(err));
    this.#service.on("data", (lsn: string, message: Pgoutput.Message) => this.#receive(lsn, message));
    // The server asks for a reply (or ends the session after wal_sender_timeout): give one at once.
    this.#service.on("heartbeat", (lsn: string, _time: number, shouldRespond: boolean) => {
      if (shouldRespond && !this.#stopped) void this.#service.acknowledge(lsn);
    });
  }

  static async start(opts: ChangeFeedOptions): Promise<ChangeFeed> {
    const feed = new ChangeFeed(opts);
    await feed.#admin.connect();
    try {
      await feed.#admin.query(`CREATE PUBLICATION ${quoteIdent(opts.slotName)} FOR ALL TABLES`);
      // Creating a logical slot waits for running transactions to end (it needs a consistent
      // point). Every transaction committing after that point is streamed to this slot.
      const created = new Promise<string>((resolve, reject) => {
        const plugin = new TemporarySlotPgoutput({ protoVersion: 1, publicationNames: [opts.slotName], messages: true }, resolve);
        feed.#service.subscribe(plugin, opts.slotName).then(
          () => reject(new Error("replication ended before it started")),
          (err: unknown) => {
            reject(err);
            feed.#fail(err);
          },
        );
      });
      feed.#lastLsn = parseLsn(await created);
    } catch (err) {
      await feed.stop();
      throw err;
    }
    return feed;
  }

  /** The LSN up to which everything has been decoded and handed out (Electric's global_last_seen_lsn). */
  get lastLsn(): bigint {
    return this.#lastLsn;
  }

  /** Resolves once every transaction committed before the call has been handed to the listener. */
  async flush(): Promise<void> {
    if (this.#stopped) return;
    if (this.#failure !== undefined) throw this.#failure;
    const n = ++this.#markerCounter;
    const arrived = new Promise<void>((resolve, reject) => this.#markerWaiters.set(n, { resolve, reject }));
    try {
      await this.#admin.query("SELECT pg_logical_emit_message(true, $1, $2)", [this.#markerPrefix, String(n)]);
    } catch (err) {
      this.#markerWaiters.delete(n);
      if (this.#stopped) return;
      throw err;
    }
    await arrived;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const w of this.#markerWaiters.values()) w.resolve();
    this.#markerWaiters.clear();
    // Ending the replication session drops the temporary slot.
    await this.#service.destroy().catch(() => undefined);
    await this.#chain.catch(() => undefined);
    try {
      // The walsender drops the slot on its way out: wait for it, so that "stopped" means gone.
      for (let i = 0; i < 100; i++) {
        const r = await this.#admin.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [this.#opts.slotName]);
        if (r.rowCount === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await this.#admin.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(this.#opts.slotName)}`);
    } catch {
      // The database may be gone already.
    }
    await this.#admin.end().catch(() => undefined);
  }

  #fail(err: unknown): void {
    if (this.#stopped) return;
    this.#failure ??= err;
    for (const w of this.#markerWaiters.values()) w.reject(err);
    this.#markerWaiters.clear();
    this.#opts.onError(err);
  }

  #receive(lsn: string, message: Pgoutput.Message): void {
    if (this.#stopped) return;
    let folded;
    try {
      folded = this.#assembler.push(message);
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (folded.kind === "none") return;
    const markers = folded.kind === "marker" ? [folded.content] : folded.markers;
    const tx = folded.kind === "transaction" ? folded.transaction : undefined;
    this.#chain = this.#chain.then(async () => {
      if (this.#stopped) return;
      if (tx && tx.changes.length > 0) {
        await this.#opts.onTransactions([tx]);
        if (tx.commitLsn > this.#lastLsn) this.#lastLsn = tx.commitLsn;
      }
      for (const m of markers) {
        const n = Number(m);
        for (const [k, w] of this.#markerWaiters) {
          if (k <= n) {
            this.#markerWaiters.delete(k);
            w.resolve();
          }
        }
      }
      // Handed out: the slot may let go of the WAL up to here.
      if (tx) await this.#service.acknowledge(formatLsn(tx.commitLsn));
      else await this.#service.acknowledge(lsn);
    }).catch((err: unknown) => this.#fail(err));
  }
}
