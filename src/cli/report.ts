/**
 * What a command produced: lines for stdout and diagnostics for stderr. Commands return a
 * Report instead of printing, so they can run inside plop actions and in tests alike.
 */
import { hasErrors, type Diagnostic } from "../diagnostics/diagnostic.js";

export interface Report {
  lines: string[];
  diagnostics: Diagnostic[];
  /** Exit code when it is not decided by the diagnostics (e.g. `generate --check` drift). */
  exitCode?: number;
}

export function createReport(): Report {
  return { lines: [], diagnostics: [] };
}

export function exitCodeOf(report: Report): number {
  if (report.exitCode !== undefined) return report.exitCode;
  return hasErrors(report.diagnostics) ? 1 : 0;
}

/** A usage error (exit 2): wrong flags or arguments. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
    readonly code = "cli/usage",
    readonly hint?: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}
