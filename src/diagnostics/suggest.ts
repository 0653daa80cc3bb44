/** "Did you mean …?": the candidate closest to what the user wrote, when it is close enough. */
import { distance } from "fastest-levenshtein";

/**
 * The candidate with the smallest edit distance (case-insensitive; the first one wins a tie),
 * if it is within max(2, a third of the input's length) edits.
 */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  const a = input.toLowerCase();
  for (const c of candidates) {
    const d = distance(a, c.toLowerCase());
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(a.length / 3)) ? best : undefined;
}
