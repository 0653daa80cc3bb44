/** Unified diffs of template texts (the `diff` package), for `templates diff`. Pure. */
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from "diff";

/** A unified diff from `before` to `after` with 3 lines of context; "" when the texts are equal. */
export function unifiedDiff(beforeName: string, afterName: string, before: string, after: string): string {
  if (before === after) return "";
  return createTwoFilesPatch(beforeName, afterName, before, after, undefined, undefined, { context: 3, headerOptions: FILE_HEADERS_ONLY }).trimEnd();
}
