/**
 * The in-memory log of one shape: its snapshot (split into chunks) followed by change entries
 * with strictly increasing offsets, plus long-poll waiters. No I/O.
 *
 *   -1 ──▶ [snapshot chunk 0] 0_0 [chunk 1] 0_1 … 0_n ──▶ (0_inf) {lsn}_{op} … (last offset)
 *
 * - The snapshot is fixed when the shape is created. Its chunk c ends at `0_c` (so with one
 *   chunk the snapshot ends at `0_0`, as with Electric 1.7), and the last chunk carries the
 *   `snapshot-end` control message. The request after the last chunk reads the log; when the
 *   log is empty it ends at `0_inf`, the end of the snapshot, with up-to-date.
 * - Entries are appended one transaction at a time, in commit order; offsets must increase.
 * - A rotated log (TRUNCATE, schema change, `rotate()`) takes no more entries and wakes its
 *   waiters so that held live requests can answer 409.
 */
import {
  compareOffsets,
  SNAPSHOT_END_OFFSET,
  type ChangeMessage,
  type LogOffset,
  type Message,
} from "./protocol.js";

export interface LogEntry {
  offset: LogOffset;
  message: ChangeMessage;
}

/** What a read returns: the messages and the offset the response ends at. */
export interface LogChunk {
  messages: Message[];
  end: LogOffset;
  /** True when the chunk reaches the end of the log (and of the snapshot). */
  atEnd: boolean;
}

export type ReadFrom = { kind: "before-all" } | { kind: "after"; offset: LogOffset };

export class ShapeLog {
  readonly #snapshotChunks: Message[][];
  readonly #entries: LogEntry[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #chunkSize: number;
  #rotated = false;
  /** Compaction: what a new client (-1) gets instead of the first snapshot and the log up to `end`. */
  #base: { messages: Message[]; end: LogOffset; entryCount: number } | undefined;

  /**
   * @param snapshot the snapshot rows followed by the `snapshot-end` control message
   * @param chunkSize most messages in one response (Infinity: no chunking)
   */
  constructor(snapshot: Message[], chunkSize: number) {
    this.#chunkSize = chunkSize;
    const chunks: Message[][] = [];
    if (Number.isFinite(chunkSize)) {
      for (let i = 0; i < snapshot.length; i += chunkSize) chunks.push(snapshot.slice(i, i + chunkSize));
    } else {
      chunks.push(snapshot);
    }
    this.#snapshotChunks = chunks.length > 0 ? chunks : [[]];
  }

  get rotated(): boolean {
    return this.#rotated;
  }

  get lastOffset(): LogOffset {
    return this.#entries.at(-1)?.offset ?? SNAPSHOT_END_OFFSET;
  }

  get entryCount(): number {
    return this.#entries.length;
  }

  /** Entries appended since the last compaction (or since the start). */
  get entriesSinceCompaction(): number {
    return this.#entries.length - (this.#base?.entryCount ?? 0);
  }

  /**
   * The offset of the last entry of the longest prefix of the log whose transactions are all
   * `included` (in a new snapshot), or undefined when the first entry is not.
   */
  lastOffsetOfPrefix(included: (xid: number) => boolean): LogOffset | undefined {
    let end: LogOffset | undefined;
    for (const e of this.#entries) {
      if (!(e.message.headers.txids ?? []).every(included)) break;
      end = e.offset;
    }
    return end;
  }

  /**
   * Compaction: from now on a new client (offset -1) gets `messages` (a fresh snapshot of the
   * live rows, which contains every entry up to `end`) in one response ending at `end`, then the
   * log after it. Clients already reading keep reading the log by their offsets.
   */
  compact(messages: Message[], end: LogOffset): void {
    this.#base = { messages, end, entryCount: this.#entries.length };
  }

  /** Offsets past the end of the log are "out of bounds" (Electric answers 400 after a wait). */
  isOutOfBounds(offset: LogOffset): boolean {
    return compareOffsets(offset, this.lastOffset) > 0;
  }

  append(entries: readonly LogEntry[]): void {
    if (this.#rotated || entries.length === 0) return;
    let previous = this.lastOffset;
    for (const e of entries) {
      if (compareOffsets(e.offset, previous) <= 0) {
        throw new Error(`shape log offsets must increase: ${e.offset.lsn}_${e.offset.op} after ${previous.lsn}_${previous.op}`);
      }
      this.#entries.push(e);
      previous = e.offset;
    }
    this.#wake();
  }

  rotate(): void {
    if (this.#rotated) return;
    this.#rotated = true;
    this.#wake();
  }

  read(from: ReadFrom): LogChunk {
    const lastChunk = this.#snapshotChunks.length - 1;
    const snapshotChunk = (c: number): LogChunk => ({
      messages: this.#snapshotChunks[c] ?? [],
      end: { lsn: 0n, op: c },
      atEnd: false, // up-to-date comes with the next request, as with Electric
    });
    if (from.kind === "before-all") {
      if (this.#base) return { messages: this.#base.messages, end: this.#base.end, atEnd: false };
      return snapshotChunk(0);
    }
    const after = from.offset;
    if (after.lsn === 0n && after.op < lastChunk) return snapshotChunk(after.op + 1);

    // First entry after `after` (binary search: offsets are sorted).
    let lo = 0;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareOffsets((this.#entries[mid] as LogEntry).offset, after) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const slice = this.#entries.slice(lo, Number.isFinite(this.#chunkSize) ? lo + this.#chunkSize : undefined);
    const end = slice.at(-1)?.offset ?? (compareOffsets(after, SNAPSHOT_END_OFFSET) < 0 ? SNAPSHOT_END_OFFSET : after);
    return {
      messages: slice.map((e) => e.message),
      end,
      atEnd: lo + slice.length === this.#entries.length,
    };
  }

  /** Resolves when entries are appended or the log is rotated, or after `timeoutMs`. */
  waitForChange(timeoutMs: number, signal?: AbortSignal): Promise<"changed" | "timeout" | "aborted"> {
    if (this.#rotated) return Promise.resolve("changed");
    return new Promise((resolve) => {
      const finish = (result: "changed" | "timeout" | "aborted") => {
        clearTimeout(timer);
        this.#waiters.delete(onChange);
        signal?.removeEventListener("abort", onAbort);
        resolve(result);
      };
      const onChange = () => finish("changed");
      const onAbort = () => finish("aborted");
      const timer = setTimeout(() => finish("timeout"), timeoutMs);
      this.#waiters.add(onChange);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (signal?.aborted) onAbort();
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}
