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
import { UNCHANGED_TOAST, type DecodedChange, type DecodedTransaction, type DecodedTuple, type Relation } from "./decoding.js";
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
  ensureReplicaIdentityFull,
  loadTable,
  shapeSchema,
  takeSnapshot,
  visibleInSnapshot,
  type PgSnapshot,
  type TableInfo,
} from "./postgres.js";
import type { ChangeFeed } from "./replication.js";

export type ReplicaMode = "default" | "full";

export interface ShapeDefinition {
  relation: Relation;
  /** Selected columns as requested; undefined selects all. */
  columns: string[] | undefined;
  replica: ReplicaMode;
}

export const definitionKey = (d: ShapeDefinition): string =>
  JSON.stringify([d.relation, d.columns ? [...d.columns].sort() : null, d.replica]);

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
  /** Key columns: the primary key, or every column (by name) when the table has none. */
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
    this.keyColumns = table.primaryKey.length > 0 ? table.primaryKey : table.columns.map((c) => c.name).sort();
    const messages: Message[] = rows.map((value) => ({
      key: this.#key(value),
      value,
      headers: { operation: "insert", relation: table.relation },
    }));
    messages.push({
      headers: {
        control: SNAPSHOT_END_CONTROL,
        xmin: snapshot.xmin.toString(),
        xmax: snapshot.xmax.toString(),
        xip_list: snapshot.xip.map(String),
      },
    });
    this.log = new ShapeLog(messages, chunkSize);
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

  /**
   * The log entries of one transaction for this shape, or "rotate" when the transaction
   * truncates the table or shows that its columns changed.
   */
  entriesFor(tx: DecodedTransaction): LogEntry[] | "rotate" {
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
      const messages = this.#messagesFor(change);
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

  #messagesFor(change: Exclude<DecodedChange, { kind: "truncate" }>): ChangeMessage[] | "rotate" {
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
    const relation = this.relation;
    const replica = this.definition.replica;
    const hasKey = (row: RowValues) => this.keyColumns.every((c) => c in row);

    switch (change.kind) {
      case "insert": {
        const row = newRow(change.new, undefined);
        if (row === "rotate") return row;
        return [{ key: this.#key(row), value: this.#project(row, this.columns), headers: { operation: "insert", relation } }];
      }
      case "delete": {
        const old = oldRow(change.old);
        if (!old || !hasKey(old)) return []; // REPLICA IDENTITY NOTHING: nothing to say
        const value = replica === "full" ? this.#project(old, this.columns) : this.#project(old, this.keyColumns);
        return [{ key: this.#key(old), value, headers: { operation: "delete", relation } }];
      }
      case "update": {
        const old = oldRow(change.old);
        const row = newRow(change.new, old);
        if (row === "rotate") return row;
        const key = this.#key(row);
        const oldKey = old && hasKey(old) ? this.#key(old) : key;
        if (oldKey !== key) {
          const oldValue = old ?? {};
          const del: ChangeHeaders = { operation: "delete", relation, key_change_to: key };
          const ins: ChangeHeaders = { operation: "insert", relation, key_change_from: oldKey };
          return [
            {
              key: oldKey,
              value: replica === "full" ? this.#project(oldValue, this.columns) : this.#project(oldValue, this.keyColumns),
              headers: del,
            },
            { key, value: this.#project(row, this.columns), headers: ins },
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
}

export class ShapeRegistry {
  readonly #active = new Map<string, Shape>();
  readonly #creating = new Map<string, Promise<Shape>>();

  constructor(
    private readonly db: pg.Pool,
    private readonly feed: ChangeFeed,
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
      if (!hit) continue;
      this.#active.delete(key);
      shape.log.rotate();
      rotated.push(shape);
    }
    return rotated;
  }

  /** Feeds decoded transactions, in commit order, to the shapes that don't see them yet. */
  apply(txs: readonly DecodedTransaction[]): void {
    for (const tx of txs) {
      for (const [key, shape] of this.#active) {
        if (visibleInSnapshot(tx.xid, shape.snapshot)) continue;
        const entries = shape.entriesFor(tx);
        if (entries === "rotate") {
          this.#active.delete(key);
          shape.log.rotate();
        } else {
          shape.log.append(entries);
        }
      }
    }
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
    if (this.opts.setReplicaIdentityFull) await ensureReplicaIdentityFull(this.db, table);
    const snap = await takeSnapshot(this.db, def.relation, def.columns);
    // From here on synchronous (see the header comment).
    const shape = new Shape(def, snap.table, snap.snapshot, snap.rows, this.opts.chunkSize);
    for (const tx of this.feed.history) {
      if (visibleInSnapshot(tx.xid, shape.snapshot)) continue;
      const entries = shape.entriesFor(tx);
      if (entries === "rotate") {
        // Changed under our feet (TRUNCATE or schema change right after the snapshot): retry.
        return this.#create(def);
      }
      shape.log.append(entries);
    }
    // New snapshots have an xmin at least this one's, so older history is useless to them —
    // but a creation still in flight may have an older snapshot: then keep it all for now.
    if (this.#creating.size <= 1) this.feed.pruneHistory(snap.snapshot);
    this.#active.set(definitionKey(def), shape);
    return shape;
  }
}
