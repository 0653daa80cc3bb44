/**
 * Three-way merge of a template: base (the built-in text it was ejected from), yours (the
 * project's copy) and upstream (the new built-in), line by line with node-diff3. Changes on one
 * side only are taken; the same change on both sides is taken once; different changes to the
 * same lines are a conflict, written with standard markers unless a side is preferred. Pure.
 */
import { diff3Merge } from "node-diff3";
import { CONFLICT_BASE, CONFLICT_END, CONFLICT_SEPARATOR, CONFLICT_START, firstConflictLine } from "./markers.js";

export { firstConflictLine } from "./markers.js";

/** Which side wins a conflict: `ours` (your copy) or `theirs` (the new built-in). */
export type Side = "ours" | "theirs";

export interface MergeLabels {
  /** After `<<<<<<< `: your copy. */
  yours: string;
  /** After `>>>>>>> `: the new built-in. */
  upstream: string;
}

export interface MergeOutcome {
  text: string;
  /** Conflicting hunks left as markers (0 when `prefer` is given). */
  conflicts: number;
  /** Conflicting hunks decided by `prefer`. */
  decided: number;
}

/** LF line endings and one trailing newline, as lines (without the final empty one). */
function lines(text: string): string[] {
  const lf = text.replace(/\r\n/g, "\n");
  return (lf.endsWith("\n") ? lf.slice(0, -1) : lf).split("\n");
}

export function mergeThreeWay(yours: string, base: string, upstream: string, labels: MergeLabels, prefer?: Side): MergeOutcome {
  const out: string[] = [];
  let conflicts = 0;
  let decided = 0;
  for (const region of diff3Merge(lines(yours), lines(base), lines(upstream), { excludeFalseConflicts: true })) {
    if (region.ok) {
      out.push(...region.ok);
    } else if (region.conflict) {
      if (prefer) {
        out.push(...(prefer === "ours" ? region.conflict.a : region.conflict.b));
        decided++;
      } else {
        out.push(`${CONFLICT_START} ${labels.yours}`, ...region.conflict.a, CONFLICT_SEPARATOR, ...region.conflict.b, `${CONFLICT_END} ${labels.upstream}`);
        conflicts++;
      }
    }
  }
  return { text: out.join("\n") + "\n", conflicts, decided };
}

/**
 * Resolves the conflict blocks left in a file by keeping one side of each:
 * `<<<<<<< …` ours `|||||||` base `=======` theirs `>>>>>>> …`. Unbalanced markers are left alone
 * (`resolved` counts the blocks that were decided; `unbalanced` says some were not).
 */
export function resolveConflicts(text: string, side: Side): { text: string; resolved: number; unbalanced: boolean } {
  const src = text.split("\n");
  const out: string[] = [];
  let resolved = 0;
  let i = 0;
  while (i < src.length) {
    if (!src[i]!.startsWith(CONFLICT_START)) {
      out.push(src[i++]!);
      continue;
    }
    const sep = src.findIndex((l, j) => j > i && (l === CONFLICT_SEPARATOR || l.startsWith(CONFLICT_SEPARATOR + " ")));
    const end = src.findIndex((l, j) => j > sep && l.startsWith(CONFLICT_END));
    const nested = src.findIndex((l, j) => j > i && j < end && l.startsWith(CONFLICT_START));
    if (sep < 0 || end < 0 || nested >= 0) return { text, resolved: 0, unbalanced: true };
    const baseAt = src.findIndex((l, j) => j > i && j < sep && l.startsWith(CONFLICT_BASE));
    out.push(...(side === "ours" ? src.slice(i + 1, baseAt >= 0 ? baseAt : sep) : src.slice(sep + 1, end)));
    resolved++;
    i = end + 1;
  }
  const result = out.join("\n");
  return { text: result, resolved, unbalanced: firstConflictLine(result) !== undefined };
}
