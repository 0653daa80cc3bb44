/**
 * Decoded transactions, and the fold that builds them from `pgoutput` messages (as parsed by
 * pg-logical-replication, with every value kept as the type's output text; see replication.ts).
 * Pure: no I/O.
 *
 *   begin ─▶ relation? insert | update | delete | truncate … ─▶ commit   (one transaction)
 *   message (transactional, our prefix) inside begin…commit             (a flush marker)
 *
 * What pgoutput sends (protocol-logicalrep-message-formats):
 * - `insert`: the new tuple; `update`: the new tuple, plus the old tuple when the table has
 *   REPLICA IDENTITY FULL (`O`), or its key columns when the key changed (`K`); `delete`: the
 *   old tuple (`O`, FULL) or its key columns (`K`); nothing old with REPLICA IDENTITY NOTHING.
 * - a value is text, SQL NULL, or "unchanged TOASTed" (left out of the new tuple: the old tuple's
 *   value when there is one, else unknown).
 */
import type { Pgoutput } from "pg-logical-replication";

/** A value left out of the new tuple because it is TOASTed and unchanged (and no old row says what it is). */
export const UNCHANGED_TOAST = Symbol("unchanged-toast-datum");
export type DecodedValue = string | null | typeof UNCHANGED_TOAST;
/** Column name → value, in the table's column order. */
export type DecodedTuple = Map<string, DecodedValue>;
export type Relation = [schema: string, table: string];

export type DecodedChange =
  | { kind: "insert"; relation: Relation; new: DecodedTuple }
  | { kind: "update"; relation: Relation; old: DecodedTuple | undefined; new: DecodedTuple }
  | { kind: "delete"; relation: Relation; old: DecodedTuple | undefined }
  | { kind: "truncate"; relations: Relation[] };

export interface DecodedTransaction {
  /** The 32-bit transaction id, as `pg_current_xact_id()::xid` shows it. */
  xid: number;
  /** The end LSN of the transaction (just past its COMMIT record), as a number. */
  commitLsn: bigint;
  changes: DecodedChange[];
}

export class DecodingError extends Error {
  override name = "DecodingError";
}

/** `X/Y` (hex halves) → a number. */
export function parseLsn(text: string): bigint {
  const [hi, lo] = text.split("/");
  if (hi === undefined || lo === undefined || !/^[0-9A-Fa-f]+$/.test(hi) || !/^[0-9A-Fa-f]+$/.test(lo)) {
    throw new DecodingError(`not an LSN: ${text}`);
  }
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

/** A number → `X/Y`, as Postgres prints LSNs. */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

const relationOf = (r: Pgoutput.MessageRelation): Relation => [r.schema, r.name];

/**
 * A pgoutput tuple as parsed (column name → text, null, or undefined for an unchanged TOASTed
 * value without an old value, or for a non-key column of a key-only tuple) → a decoded tuple.
 * `present` leaves out columns that are not there (key-only old tuples); otherwise undefined
 * means "unchanged TOASTed".
 */
function tupleOf(rel: Pgoutput.MessageRelation, values: Record<string, unknown>, keyOnly: boolean): DecodedTuple {
  const tuple: DecodedTuple = new Map();
  for (const c of rel.columns) {
    if (keyOnly && !rel.keyColumns.includes(c.name)) continue;
    const v = values[c.name];
    if (v === undefined) tuple.set(c.name, keyOnly ? null : UNCHANGED_TOAST);
    else if (v === null) tuple.set(c.name, null);
    else if (typeof v === "string") tuple.set(c.name, v);
    else throw new DecodingError(`column ${c.name} of ${rel.schema}.${rel.name}: expected a text value (the binary format is not used)`);
  }
  return tuple;
}

/** The old row of an update or delete: the full old tuple, the key columns, or nothing. */
function oldOf(m: Pgoutput.MessageUpdate | Pgoutput.MessageDelete): DecodedTuple | undefined {
  if (m.old) return tupleOf(m.relation, m.old, false);
  if (m.key) return tupleOf(m.relation, m.key, true);
  return undefined;
}

/** What one message means for the feed. */
export type Folded =
  | { kind: "none" }
  | { kind: "transaction"; transaction: DecodedTransaction; markers: string[] }
  /** A non-transactional logical message with our prefix. */
  | { kind: "marker"; content: string; lsn: bigint };

/**
 * Folds pgoutput messages into whole transactions. Logical messages whose prefix is `markerPrefix`
 * are flush markers: their content is returned with the transaction that carries them (or alone
 * when not transactional); other logical messages are ignored.
 */
export class TransactionAssembler {
  #current: { xid: number; changes: DecodedChange[]; markers: string[] } | undefined;

  constructor(private readonly markerPrefix: string) {}

  push(m: Pgoutput.Message): Folded {
    switch (m.tag) {
      case "begin":
        if (this.#current) throw new DecodingError(`BEGIN of ${m.xid >>> 0} inside transaction ${this.#current.xid}`);
        // The xid is read as a signed 32-bit integer: give the unsigned one Postgres shows.
        this.#current = { xid: m.xid >>> 0, changes: [], markers: [] };
        return { kind: "none" };
      case "commit": {
        const current = this.#current;
        if (!current) throw new DecodingError("COMMIT without BEGIN");
        if (!m.commitEndLsn) throw new DecodingError(`COMMIT of ${current.xid} without an end LSN`);
        this.#current = undefined;
        return {
          kind: "transaction",
          transaction: { xid: current.xid, commitLsn: parseLsn(m.commitEndLsn), changes: current.changes },
          markers: current.markers,
        };
      }
      case "insert":
        this.#change(m.tag).push({ kind: "insert", relation: relationOf(m.relation), new: tupleOf(m.relation, m.new, false) });
        return { kind: "none" };
      case "update":
        this.#change(m.tag).push({ kind: "update", relation: relationOf(m.relation), old: oldOf(m), new: tupleOf(m.relation, m.new, false) });
        return { kind: "none" };
      case "delete":
        this.#change(m.tag).push({ kind: "delete", relation: relationOf(m.relation), old: oldOf(m) });
        return { kind: "none" };
      case "truncate":
        this.#change(m.tag).push({ kind: "truncate", relations: m.relations.map(relationOf) });
        return { kind: "none" };
      case "message": {
        if (m.prefix !== this.markerPrefix) return { kind: "none" };
        const content = Buffer.from(m.content).toString("utf8");
        if (m.transactional && this.#current) {
          this.#current.markers.push(content);
          return { kind: "none" };
        }
        return { kind: "marker", content, lsn: m.messageLsn ? parseLsn(m.messageLsn) : 0n };
      }
      case "relation":
      case "type":
      case "origin":
        return { kind: "none" };
    }
  }

  #change(tag: string): DecodedChange[] {
    if (!this.#current) throw new DecodingError(`${tag} outside a transaction`);
    return this.#current.changes;
  }
}
