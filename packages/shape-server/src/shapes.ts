/**
 * Shapes: one per definition (table, columns, replica mode), shared by every client that asks
 * for it, each with a handle, a snapshot and a log (log.ts). Turns decoded transactions into
 * change messages for the shapes they concern.
 *
 * No change lost or duplicated between snapshot and stream — the approach of Electric's
 * consumer (`Shapes.Consumer`, `InitialSnapshot.filter`):
 * 1. the replication slot exists before any snapshot, so every transaction that commits after
 *    the server started is decoded;
 * 2. the snapshot is read in a REPEATABLE READ transaction whose `pg_current_snapshot()`
 *    (xmin, xmax, in-progress xids) is recorded;
 * 3. a decoded transaction goes into a shape's log if and only if it is NOT visible in that
 *    snapshot: visible ones are already in the snapshot rows, invisible ones committed after.
 *    This holds whatever the timing between decoding and the snapshot, including a commit that
 *    is already decoded but not yet visible: decoded transactions are kept in a short history
 *    (replication.ts), and a new shape first replays the history through the same filter, then
 *    receives new transactions — in one synchronous step, so nothing falls in between.
 * (Comparing LSNs instead — "skip commits before pg_current_wal_lsn()" — is not exact: a commit
 * can be written to WAL before it becomes visible to snapshots.)
 */
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { UNCHANGED_TOAST, type DecodedChange, type DecodedTransaction, type DecodedTuple, type Relation } from "./changes.js";
import { ShapeLog, type LogEntry } from "./log.js";
import {
  SNAPSHOT_END_CONTROL,
  rowKey,
  type ChangeHeaders,
  type ChangeMessage,
  type Message,
  type RowValues,
  type ShapeSchema,
} from "./protocol.js";
import {
  checkWhere,
  ensureReplicaIdentityFull,
  evaluateWhere,
  loadTable,
  shapeSchema,
  takeSnapshot,
  visibleInSnapshot,
  type PgSnapshot,
  type RowFilter,
  type TableInfo,
} from "./postgres.js";

export type ReplicaMode = "default" | "full";

export interface ShapeDefinition {
  relation: Relation;
  /** Selected columns as requested; undefined selects all. */
  columns: string[] | undefined;
  replica: ReplicaMode;
  /** The where clause as sent (Postgres evaluates it), `$1`… bound to `params`. */
  where?: string | undefined;
  params?: string[] | undefined;
}

/** One shape per (table, columns, replica, where, params), as Electric's `Shape.comparable`. */
export const definitionKey = (d: ShapeDefinition): string =>
  JSON.stringify([d.relation, d.columns ? [...d.columns].sort() : null, d.replica, d.where ?? null, d.where ? (d.params ?? []) : []]);

const filterOf = (d: ShapeDefinition): RowFilter | undefined => (d.where ? { where: d.where, params: d.params ?? [] } : undefined);

/** A request that names columns the table doesn't have, or leaves out its primary key. */
export class ShapeDefinitionError extends Error {
  override name = "ShapeDefinitionError";
  constructor(readonly param: string, message: string) {
    super(message);
  }
}

let handleCounter = 0;
/** Electric's handles are `{hash}-{microseconds}`; these are unique per process as well. */
const newHandle = (): string => `${randomBytes(5).toString("hex")}-${Date.now() * 1000 + (++handleCounter % 1000)}`;

export class Shape {
  readonly handle = newHandle();
  readonly log: ShapeLog;
  /** Selected columns in table order. */
  readonly columns: string[];
  readonly schema: ShapeSchema;
  /** Key columns: the primary key, or every column in table order when the table has none (as Electric). */
  readonly keyColumns: string[];

  constructor(
    readonly definition: ShapeDefinition,
    readonly table: TableInfo,
    readonly snapshot: PgSnapshot,
    rows: RowValues[],
    chunkSize: number,
  ) {
    this.columns = table.columns.map((c) => c.name).filter((n) => !definition.columns || definition.columns.includes(n));
    this.schema = shapeSchema(table, this.columns);
    this.keyColumns = table.primaryKey.length > 0 ? table.primaryKey : table.columns.map((c) => c.name);
    this.log = new ShapeLog(this.snapshotMessages(rows, snapshot), chunkSize);
  }

  /** Rows of a subset snapshot (all columns) as inserts of the shape's columns. */
  subsetMessages(rows: readonly RowValues[]): ChangeMessage[] {
    return rows.map((row) => ({
      key: this.#key(row),
      value: this.#project(row, this.columns),
      headers: { operation: "insert", relation: this.table.relation },
    }));
  }

  /** Snapshot rows as inserts, then `snapshot-end` with the snapshot's xmin, xmax and xip_list. */
  snapshotMessages(rows: readonly RowValues[], snapshot: PgSnapshot): Message[] {
    const messages: Message[] = rows.map((value) => ({
      key: this.#key(value),
      value,
      headers: { operation: "insert", relation: this.table.relation },
    }));
    messages.push({
      headers: {
        control: SNAPSHOT_END_CONTROL,
        xmin: snapshot.xmin.toString(),
        xmax: snapshot.xmax.toString(),
        xip_list: snapshot.xip.map(String),
      },
    });
    return messages;
  }

  get relation(): Relation {
    return this.table.relation;
  }

  #key(row: RowValues): string {
    return rowKey(this.table.relation, this.keyColumns.map((c) => row[c] ?? null));
  }

  #project(row: RowValues, columns: readonly string[]): RowValues {
    const out: RowValues = {};
    for (const c of columns) if (c in row) out[c] = row[c] ?? null;
    return out;
  }

  /** The where clause, if the shape has one. */
  get filter(): RowFilter | undefined {
    return filterOf(this.definition);
  }

  /** Old and new rows (all columns) of each change, computed once per change. */
  readonly #rows = new WeakMap<DecodedChange, { old: RowValues | undefined; new: RowValues | "rotate" | undefined }>();

  #rowsOf(change: Exclude<DecodedChange, { kind: "truncate" }>): { old: RowValues | undefined; new: RowValues | "rotate" | undefined } {
    const known = this.#rows.get(change);
    if (known) return known;
    const names = this.table.columns.map((c) => c.name);
    const fullIdentity = this.table.replicaIdentity === "full";
    // Old tuples skip NULL columns; with REPLICA IDENTITY FULL a missing column is NULL.
    const oldRow = (t: DecodedTuple | undefined): RowValues | undefined => {
      if (!t) return undefined;
      const row: RowValues = {};
      for (const n of names) {
        const v = t.get(n);
        if (v === UNCHANGED_TOAST) continue;
        if (v !== undefined) row[n] = v;
        else if (fullIdentity) row[n] = null;
      }
      return row;
    };
    const newRow = (t: DecodedTuple, old: RowValues | undefined): RowValues | "rotate" => {
      if (t.size !== names.length || names.some((n) => !t.has(n))) return "rotate"; // columns changed
      const row: RowValues = {};
      for (const n of names) {
        const v = t.get(n);
        if (v === UNCHANGED_TOAST) {
          if (old && n in old) row[n] = old[n] ?? null; // else unknown: left out
        } else {
          row[n] = v ?? null;
        }
      }
      return row;
    };
    const old = change.kind === "insert" ? undefined : oldRow(change.old);
    const rows = { old, new: change.kind === "delete" ? undefined : newRow(change.new, old) };
    this.#rows.set(change, rows);
    return rows;
  }

  /** The rows of a transaction that the where clause must judge (none without a where clause). */
  rowsToCheck(tx: DecodedTransaction): RowValues[] {
    if (!this.filter) return [];
    const out: RowValues[] = [];
    for (const change of tx.changes) {
      if (change.kind === "truncate" || !sameRelation(change.relation, this.relation)) continue;
      const rows = this.#rowsOf(change);
      if (rows.old) out.push(rows.old);
      if (rows.new && rows.new !== "rotate") out.push(rows.new);
    }
    return out;
  }

  /**
   * The log entries of one transaction for this shape, or "rotate" when the transaction
   * truncates the table or shows that its columns changed. `verdicts` says which rows of
   * `rowsToCheck(tx)` satisfy the where clause.
   */
  entriesFor(tx: DecodedTransaction, verdicts: ReadonlyMap<RowValues, boolean> = new Map()): LogEntry[] | "rotate" {
    const entries: LogEntry[] = [];
    let position = 0;
    for (const change of tx.changes) {
      const op = position;
      // An update may become a delete + insert (key change): give every update two positions.
      position += change.kind === "update" ? 2 : 1;
      if (change.kind === "truncate") {
        if (change.relations.some((r) => sameRelation(r, this.relation))) return "rotate";
        continue;
      }
      if (!sameRelation(change.relation, this.relation)) continue;
      const messages = this.#messagesFor(change, verdicts);
      if (messages === "rotate") return "rotate";
      messages.forEach((m, i) => {
        m.headers.lsn = tx.commitLsn.toString();
        m.headers.op_position = op + i;
        m.headers.txids = [tx.xid];
        entries.push({ offset: { lsn: tx.commitLsn, op: op + i }, message: m });
      });
    }
    const last = entries.at(-1);
    if (last) last.message.headers.last = true;
    return entries;
  }

  /**
   * A change as the shape sees it. With a where clause a row can move: an update whose old row
   * was in the shape and whose new row is not is a delete; the other way round, an insert of the
   * whole row (Electric's move-out and move-in for simple where clauses).
   */
  #messagesFor(change: Exclude<DecodedChange, { kind: "truncate" }>, verdicts: ReadonlyMap<RowValues, boolean>): ChangeMessage[] | "rotate" {
    const { old, new: row } = this.#rowsOf(change);
    if (row === "rotate") return row;
    const filtered = this.filter !== undefined;
    const inShape = (r: RowValues | undefined): boolean => !filtered || (r !== undefined && verdicts.get(r) === true);
    const fullIdentity = this.table.replicaIdentity === "full";
    const relation = this.relation;
    const replica = this.definition.replica;
    const hasKey = (r: RowValues) => this.keyColumns.every((c) => c in r);
    const deletion = (r: RowValues, headers: ChangeHeaders = { operation: "delete", relation }): ChangeMessage => ({
      key: this.#key(r),
      value: replica === "full" ? this.#project(r, this.columns) : this.#project(r, this.keyColumns),
      headers,
    });
    const insertion = (r: RowValues, headers: ChangeHeaders = { operation: "insert", relation }): ChangeMessage => ({
      key: this.#key(r),
      value: this.#project(r, this.columns),
      headers,
    });

    switch (change.kind) {
      case "insert":
        return row && inShape(row) ? [insertion(row)] : [];
      case "delete":
        if (!old || !hasKey(old)) return []; // REPLICA IDENTITY NOTHING: nothing to say
        return inShape(old) ? [deletion(old)] : [];
      case "update": {
        if (!row) return [];
        const key = this.#key(row);
        const oldKnown = old !== undefined && hasKey(old);
        const oldKey = oldKnown ? this.#key(old) : key;
        // Without the old row (no REPLICA IDENTITY FULL) the row is taken to stay where it was.
        const wasIn = oldKnown && fullIdentity ? inShape(old) : inShape(row);
        const isIn = inShape(row);
        if (!wasIn && !isIn) return [];
        if (wasIn && !isIn) return [deletion(old && oldKnown ? old : row)];
        if (!wasIn && isIn) return [insertion(row)];
        if (oldKey !== key) {
          return [
            deletion(old ?? {}, { operation: "delete", relation, key_change_to: key }),
            insertion(row, { operation: "insert", relation, key_change_from: oldKey }),
          ];
        }
        // Changed columns need the old row (REPLICA IDENTITY FULL); without it every column
        // present counts as changed.
        const oldIsFull = old !== undefined && fullIdentity;
        const changed = this.columns.filter(
          (c) => !this.keyColumns.includes(c) && c in row && (!oldIsFull || row[c] !== old[c]),
        );
        if (changed.length === 0) return []; // a no-op update (Electric drops these too)
        const message: ChangeMessage = {
          key,
          value: replica === "full" ? this.#project(row, this.columns) : this.#project(row, [...this.keyColumns, ...changed]),
          headers: { operation: "update", relation },
        };
        if (replica === "full" && oldIsFull) message.old_value = this.#project(old, changed);
        return [message];
      }
    }
  }
}

const sameRelation = (a: Relation, b: Relation): boolean => a[0] === b[0] && a[1] === b[1];

export interface ShapeRegistryOptions {
  chunkSize: number;
  setReplicaIdentityFull: boolean;
  /**
   * Fault injection: reproduce Electric's publication gap (../README.md). When the last
   * shape of a table goes away, the table leaves the "publication" until a shape of it is asked
   * for again; a transaction that was in progress when that new shape's snapshot was taken
   * (its xid is in the snapshot's `xip_list`) never reaches any shape of the table.
   */
  publicationGap: boolean;
}

/** Only transactions racing a snapshot matter; the history stays bounded regardless. */
const MAX_HISTORY = 100_000;

const relationKey = (r: Relation): string => JSON.stringify(r);

export class ShapeRegistry {
  readonly #active = new Map<string, Shape>();
  readonly #creating = new Map<string, Promise<Shape>>();
  /** Transactions applied so far that a new snapshot may not see, oldest first. */
  #history: DecodedTransaction[] = [];
  /** Applying transactions and registering new shapes happen one at a time, in this order. */
  #queue: Promise<unknown> = Promise.resolve();
  /** publicationGap: tables whose last shape went away, and xids lost for a table. */
  readonly #unpublished = new Set<string>();
  readonly #lost = new Map<string, Set<number>>();

  constructor(
    private readonly db: pg.Pool,
    private readonly opts: ShapeRegistryOptions,
  ) {}

  /** The current shape for a definition, if one exists. */
  active(def: ShapeDefinition): Shape | undefined {
    return this.#active.get(definitionKey(def));
  }

  all(): Shape[] {
    return [...this.#active.values()];
  }

  getOrCreate(def: ShapeDefinition): Promise<Shape> {
    const key = definitionKey(def);
    const existing = this.#active.get(key);
    if (existing) return Promise.resolve(existing);
    let creating = this.#creating.get(key);
    if (!creating) {
      creating = this.#create(def).finally(() => this.#creating.delete(key));
      this.#creating.set(key, creating);
    }
    return creating;
  }

  /** Rotates (invalidates) the current shapes of a table, or the one with this handle. */
  rotate(match: { relation: Relation } | { handle: string }): Shape[] {
    const rotated: Shape[] = [];
    for (const [key, shape] of this.#active) {
      const hit = "handle" in match ? shape.handle === match.handle : sameRelation(shape.relation, match.relation);
      if (hit) rotated.push(this.#remove(key, shape));
    }
    return rotated;
  }

  #remove(key: string, shape: Shape): Shape {
    this.#active.delete(key);
    shape.log.rotate();
    if (this.opts.publicationGap && !this.all().some((s) => sameRelation(s.relation, shape.relation))) {
      this.#unpublished.add(relationKey(shape.relation));
    }
    return shape;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Feeds decoded transactions, in commit order, to the shapes that don't see them yet. */
  apply(txs: readonly DecodedTransaction[]): Promise<void> {
    return this.#serial(async () => {
      for (const tx of txs) {
        this.#history.push(tx);
        for (const [key, shape] of [...this.#active]) {
          if (this.#active.get(key) !== shape) continue;
          const entries = await this.#entries(shape, tx);
          if (entries === "rotate") this.#remove(key, shape);
          else shape.log.append(entries);
        }
      }
      if (this.#history.length > MAX_HISTORY) this.#history = this.#history.slice(-MAX_HISTORY);
    });
  }

  /** What one transaction adds to a shape's log (the where clause is evaluated by Postgres). */
  async #entries(shape: Shape, tx: DecodedTransaction): Promise<LogEntry[] | "rotate"> {
    if (visibleInSnapshot(tx.xid, shape.snapshot)) return [];
    if (this.#lost.get(relationKey(shape.relation))?.has(tx.xid)) return [];
    const rows = shape.rowsToCheck(tx);
    const filter = shape.filter;
    const verdicts = new Map<RowValues, boolean>();
    if (filter && rows.length > 0) {
      const results = await evaluateWhere(this.db, shape.table, filter, rows);
      rows.forEach((r, i) => verdicts.set(r, results[i] === true));
    }
    return shape.entriesFor(tx, verdicts);
  }

  async #create(def: ShapeDefinition): Promise<Shape> {
    const table = await loadTable(this.db, def.relation);
    if (def.columns) {
      const names = table.columns.map((c) => c.name);
      const unknown = def.columns.filter((c) => !names.includes(c));
      if (unknown.length > 0) throw new ShapeDefinitionError("columns", `unknown column(s): ${unknown.join(", ")}`);
      const missing = table.primaryKey.filter((c) => !def.columns?.includes(c));
      if (missing.length > 0) {
        throw new ShapeDefinitionError(
          "columns",
          `The list of columns must include all primary key columns, missing: ${missing.join(", ")}`,
        );
      }
    }
    const filter = filterOf(def);
    if (filter) {
      const problem = await checkWhere(this.db, def.relation, filter);
      if (problem) throw new ShapeDefinitionError("where", problem);
    }
    if (this.opts.setReplicaIdentityFull) await ensureReplicaIdentityFull(this.db, table);
    for (;;) {
      const snap = await takeSnapshot(this.db, def.relation, def.columns, filter);
      // In the queue: no transaction is applied between the history replay and registering.
      const shape = await this.#serial(async () => {
        const shape = new Shape(def, snap.table, snap.snapshot, snap.rows, this.opts.chunkSize);
        const rel = relationKey(def.relation);
        if (this.#unpublished.delete(rel)) {
          // The table joins the publication again only now: transactions in progress at the
          // snapshot wrote their changes while it was out, so no shape of it will ever see them.
          const lost = this.#lost.get(rel) ?? new Set<number>();
          for (const x of snap.snapshot.xip) lost.add(Number(x & 0xffffffffn));
          for (const x of snap.running) lost.add(x);
          this.#lost.set(rel, lost);
        }
        for (const tx of this.#history) {
          const entries = await this.#entries(shape, tx);
          // Changed under our feet (TRUNCATE or schema change right after the snapshot): retry.
          if (entries === "rotate") return undefined;
          shape.log.append(entries);
        }
        // New snapshots have an xmin at least this one's, so older history is useless to them —
        // but a creation still in flight may have an older snapshot: then keep it all for now.
        if (this.#creating.size <= 1) this.#pruneHistory(snap.snapshot);
        this.#active.set(definitionKey(def), shape);
        return shape;
      });
      if (shape) return shape;
    }
  }

  /**
   * Compaction (../README.md): takes a fresh snapshot of the shape's live rows, lets
   * `flush` apply every transaction that snapshot sees, then serves that snapshot to new clients
   * instead of the first snapshot plus the log up to the last entry it contains.
   */
  async compact(shape: Shape, flush: () => Promise<void>): Promise<void> {
    const snap = await takeSnapshot(this.db, shape.relation, shape.definition.columns, shape.filter);
    const names = (t: TableInfo) => t.columns.map((c) => `${c.name}:${c.sqlType}`).join(",");
    if (names(snap.table) !== names(shape.table)) return; // the schema changed: the shape is rotating anyway
    await flush();
    const end = shape.log.lastOffsetOfPrefix((xid) => visibleInSnapshot(xid, snap.snapshot));
    if (end) shape.log.compact(shape.snapshotMessages(snap.rows, snap.snapshot), end);
  }

  /** Forgets transactions older than the xmin of a snapshot just taken (visible to every later one). */
  #pruneHistory(snapshot: PgSnapshot): void {
    const low = Number(snapshot.xmin & 0xffffffffn);
    this.#history = this.#history.filter((tx) => ((tx.xid - low) | 0) >= 0);
  }
}
