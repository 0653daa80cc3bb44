/** Formats diagnostics for a terminal: `file:line:col  /pointer  message` then an indented hint. */
import type { Diagnostic } from "./diagnostic.js";

export function formatLocation(d: Diagnostic): string {
  const loc = d.location;
  if (!loc) return "";
  let where = loc.file;
  if (loc.line !== undefined) where += `:${loc.line}:${loc.column ?? 1}`;
  if (loc.pointer !== undefined) where += `  ${loc.pointer === "" ? "/" : loc.pointer}`;
  return where;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = formatLocation(d);
  const head = `${d.severity}${where ? `  ${where}` : ""}  ${d.message}  [${d.code}]`;
  return d.hint ? `${head}\n    hint: ${d.hint}` : head;
}

export function formatDiagnostics(diagnostics: readonly Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === "error");
  const warnings = diagnostics.filter((d) => d.severity === "warning");
  const lines = [...errors, ...warnings].map(formatDiagnostic);
  if (errors.length > 0) lines.push(`${errors.length} error${errors.length === 1 ? "" : "s"}${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? "" : "s"}` : ""}`);
  return lines.join("\n");
}
