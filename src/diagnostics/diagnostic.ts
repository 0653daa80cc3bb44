/**
 * Errors are values. Every stage returns diagnostics instead of throwing, each with a
 * stable code (tests assert on codes, never on wording), a location and a hint that says
 * how to fix it. The CLI prints them once, at the top.
 */

export type Severity = "error" | "warning";

export interface SourceLocation {
  /** File path (relative to the working directory when possible) or URL. */
  file: string;
  /** JSON pointer into the document, e.g. `/paths/~1api~1contacts/x-sync`. */
  pointer?: string;
  /** 1-based line and column, when the position is known. */
  line?: number;
  column?: number;
}

export interface Diagnostic {
  /** Stable, greppable code such as `spec/unresolved-ref` or `config/unknown-key`. */
  code: string;
  severity: Severity;
  message: string;
  location?: SourceLocation;
  /** What the user should do about it. */
  hint?: string;
}

export function error(code: string, message: string, location?: SourceLocation, hint?: string): Diagnostic {
  return { code, severity: "error", message, ...(location ? { location } : {}), ...(hint ? { hint } : {}) };
}

export function warning(code: string, message: string, location?: SourceLocation, hint?: string): Diagnostic {
  return { code, severity: "warning", message, ...(location ? { location } : {}), ...(hint ? { hint } : {}) };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** A result that is either a value or the errors that prevented it (warnings travel with both). */
export type Result<T> =
  | { ok: true; value: T; diagnostics: Diagnostic[] }
  | { ok: false; diagnostics: Diagnostic[] };

export function ok<T>(value: T, diagnostics: Diagnostic[] = []): Result<T> {
  return { ok: true, value, diagnostics };
}

export function fail<T = never>(diagnostics: Diagnostic[]): Result<T> {
  return { ok: false, diagnostics };
}

/** Thrown only to carry diagnostics across an API that cannot return them (plop actions). */
export class DiagnosticsError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => d.message).join("\n"));
    this.name = "DiagnosticsError";
    this.diagnostics = diagnostics;
  }
}

/** JSON pointer helpers (RFC 6901). */
export function pointerJoin(base: string, ...segments: (string | number)[]): string {
  return base + segments.map((s) => "/" + String(s).replace(/~/g, "~0").replace(/\//g, "~1")).join("");
}

export function pointerSegments(pointer: string): string[] {
  if (pointer === "" || pointer === "#") return [];
  return pointer
    .replace(/^#/, "")
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** The JSON pointer of a local `$ref` (a URI fragment, so percent-encoding is decoded). */
export function refPointer(ref: string): string {
  const fragment = ref.startsWith("#") ? ref.slice(1) : ref;
  try {
    return decodeURIComponent(fragment);
  } catch {
    return fragment;
  }
}
