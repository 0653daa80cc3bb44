/**
 * Parses the text output of Postgres' `test_decoding` logical decoding plugin (as returned by
 * `pg_logical_slot_get_changes(slot, NULL, n, 'include-xids', '1', 'skip-empty-xacts', '1',
 * 'include-timestamp', '0')`) into transactions. Pure: no I/O.
 *
 * Line formats (contrib/test_decoding/test_decoding.c):
 *   BEGIN 731
 *   table public."My Items": INSERT: id[uuid]:'9291…' "Na me"[text]:'it''s' n[numeric]:1.50 b[boolean]:true
 *   table public.t: UPDATE: old-key: id[integer]:1 v[text]:'a' new-tuple: id[integer]:1 v[text]:'b'
 *   table public.t: UPDATE: id[integer]:1 v[text]:'b'             (no old tuple logged)
 *   table public.t: DELETE: id[integer]:1                          (the old key / old row)
 *   table public.t, public.u: TRUNCATE: (no-flags)                 (or ` restart_seqs`, ` cascade`)
 *   COMMIT 731
 * Names are `quote_identifier`ed; values are the type's output text, printed as SQL literals
 * except: integers/floats/numeric bare, booleans as bare `true`/`false`, bit strings as
 * `B'0101'`, SQL NULL as `null`, and an unchanged TOASTed value as `unchanged-toast-datum`.
 * Old tuples skip NULL columns. Other lines (e.g. logical messages) are ignored.
 */

/** A value left out of the new tuple because it is TOASTed and unchanged. */
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
  /** The LSN of the COMMIT (the end of its WAL record), as a number. */
  commitLsn: bigint;
  changes: DecodedChange[];
}

export type DecodedLine =
  | { kind: "begin"; xid: number }
  | { kind: "commit"; xid: number }
  | { kind: "change"; change: DecodedChange }
  | { kind: "other" };

/** One row of `pg_logical_slot_get_changes`: `(lsn - '0/0')::text`, `xid::text`, `data`. */
export interface SlotRow {
  lsn: string;
  xid: string;
  data: string;
}

export class DecodingError extends Error {
  override name = "DecodingError";
  constructor(message: string, readonly line: string) {
    super(`${message} in test_decoding line: ${line.length > 300 ? `${line.slice(0, 300)}…` : line}`);
  }
}

/** A cursor over one line. */
class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }
  rest(): string {
    return this.text.slice(this.pos);
  }
  startsWith(s: string): boolean {
    return this.text.startsWith(s, this.pos);
  }
  expect(s: string): void {
    if (!this.startsWith(s)) throw new DecodingError(`expected "${s}" at ${this.pos}`, this.text);
    this.pos += s.length;
  }
  skipSpaces(): void {
    while (this.text[this.pos] === " ") this.pos++;
  }

  /** An identifier as printed by quote_identifier: `name` or `"Na""me"`. */
  identifier(): string {
    if (this.text[this.pos] === '"') return this.quoted('"');
    const start = this.pos;
    while (!this.done && !" .,:[".includes(this.text[this.pos] ?? "")) this.pos++;
    if (this.pos === start) throw new DecodingError(`expected an identifier at ${start}`, this.text);
    return this.text.slice(start, this.pos);
  }

  /** A string quoted with `q`, where `qq` stands for one `q`. */
  quoted(q: string): string {
    this.expect(q);
    let out = "";
    for (;;) {
      const end = this.text.indexOf(q, this.pos);
      if (end < 0) throw new DecodingError("unterminated quoted string", this.text);
      out += this.text.slice(this.pos, end);
      this.pos = end + 1;
      if (this.text[this.pos] === q) {
        out += q;
        this.pos++;
      } else {
        return out;
      }
    }
  }

  /** Everything up to the next space (or the end). */
  bare(): string {
    const end = this.text.indexOf(" ", this.pos);
    const stop = end < 0 ? this.text.length : end;
    const s = this.text.slice(this.pos, stop);
    this.pos = stop;
    return s;
  }
}

function readRelation(r: Reader): Relation {
  const schema = r.identifier();
  r.expect(".");
  return [schema, r.identifier()];
}

function readValue(r: Reader, type: string): DecodedValue {
  if (r.startsWith("'")) return r.quoted("'");
  if (r.startsWith("B'")) {
    r.pos += 1;
    return r.quoted("'");
  }
  const token = r.bare();
  if (token === "null") return null;
  if (token === "unchanged-toast-datum") return UNCHANGED_TOAST;
  // test_decoding prints booleans as true/false; the output function (and so pgoutput, which
  // real Electric reads) says t/f. Give what the output function gives.
  if (type === "boolean") return token === "true" ? "t" : "f";
  return token;
}

/** Columns `name[type]:value` separated by spaces, up to the end or the `new-tuple:` marker. */
function readTuple(r: Reader): DecodedTuple {
  const tuple: DecodedTuple = new Map();
  for (;;) {
    r.skipSpaces();
    if (r.done || r.startsWith("new-tuple:")) return tuple;
    const name = r.identifier();
    r.expect("[");
    // The type is format_type_be output (`integer[]`, `timestamp with time zone`): up to `]:`.
    const end = r.text.indexOf("]:", r.pos);
    if (end < 0) throw new DecodingError(`unterminated type of column ${name}`, r.text);
    const type = r.text.slice(r.pos, end);
    r.pos = end + 2;
    tuple.set(name, readValue(r, type));
  }
}

export function parseLine(line: string): DecodedLine {
  const begin = /^BEGIN (\d+)$/.exec(line);
  if (begin?.[1]) return { kind: "begin", xid: Number(begin[1]) };
  const commit = /^COMMIT (\d+)$/.exec(line);
  if (commit?.[1]) return { kind: "commit", xid: Number(commit[1]) };
  if (!line.startsWith("table ")) return { kind: "other" };

  const r = new Reader(line);
  r.expect("table ");
  const relations: Relation[] = [readRelation(r)];
  while (r.startsWith(", ")) {
    r.pos += 2;
    relations.push(readRelation(r));
  }
  r.expect(": ");
  const op = r.bare();
  r.skipSpaces();
  const relation = relations[0] as Relation;
  const noData = r.startsWith("(no-tuple-data)");
  switch (op) {
    case "TRUNCATE:":
      return { kind: "change", change: { kind: "truncate", relations } };
    case "INSERT:":
      if (noData) throw new DecodingError("INSERT without tuple data", line);
      return { kind: "change", change: { kind: "insert", relation, new: readTuple(r) } };
    case "DELETE:":
      return { kind: "change", change: { kind: "delete", relation, old: noData ? undefined : readTuple(r) } };
    case "UPDATE:": {
      if (noData) throw new DecodingError("UPDATE without tuple data", line);
      let old: DecodedTuple | undefined;
      if (r.startsWith("old-key:")) {
        r.expect("old-key:");
        old = readTuple(r);
        r.expect("new-tuple:");
      }
      return { kind: "change", change: { kind: "update", relation, old, new: readTuple(r) } };
    }
    default:
      throw new DecodingError(`unknown operation ${op}`, line);
  }
}

/**
 * Folds slot rows into complete transactions. `pg_logical_slot_get_changes` only returns whole
 * transactions, so a batch never ends inside one.
 */
export function toTransactions(rows: readonly SlotRow[]): DecodedTransaction[] {
  const out: DecodedTransaction[] = [];
  let current: { xid: number; changes: DecodedChange[] } | undefined;
  for (const row of rows) {
    const line = parseLine(row.data);
    switch (line.kind) {
      case "begin":
        current = { xid: line.xid, changes: [] };
        break;
      case "change":
        if (!current) throw new DecodingError("change outside a transaction", row.data);
        current.changes.push(line.change);
        break;
      case "commit":
        if (!current || current.xid !== line.xid) throw new DecodingError("COMMIT without BEGIN", row.data);
        out.push({ xid: current.xid, commitLsn: BigInt(row.lsn), changes: current.changes });
        current = undefined;
        break;
      case "other":
        break;
    }
  }
  if (current) throw new DecodingError("transaction without COMMIT at the end of a batch", `BEGIN ${current.xid}`);
  return out;
}
