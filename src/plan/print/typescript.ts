/** TypeScript printing of facts the model keeps as data (literals are printed with JSON.stringify). */
import type { Operation } from "../../model/types.js";

/** Query parameters serialized differently from `form` + explode, as an object literal; empty when none. */
export function queryStylesLiteral(op: Operation): string {
  const styled = op.queryParams.filter((p) => p.style !== "form" || !p.explode);
  return styled.length ? `{ ${styled.map((p) => `${p.key}: { style: ${JSON.stringify(p.style)}, explode: ${p.explode} }`).join(", ")} }` : "";
}

/**
 * A JSON-compatible value as a TypeScript expression: an object or array on one line when it fits
 * in `width` characters (an array then as JSON text, an object with bare keys where they are
 * identifiers), one member per line otherwise. Strings are printed with JSON.stringify, so any text
 * is safe.
 */
export function tsLiteral(value: unknown, indent = "", width = 110): string {
  const inline = inlineLiteral(value);
  if (inline.length + indent.length <= width || value === null || typeof value !== "object") return inline;
  const inner = indent + "  ";
  if (Array.isArray(value)) return `[\n${value.map((v) => `${inner}${tsLiteral(v, inner, width)},`).join("\n")}\n${indent}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{\n${entries.map(([k, v]) => `${inner}${literalKey(k)}: ${tsLiteral(v, inner, width)},`).join("\n")}\n${indent}}`;
}

function inlineLiteral(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined";
  if (Array.isArray(value)) return JSON.stringify(value);
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return entries.length ? `{ ${entries.map(([k, v]) => `${literalKey(k)}: ${inlineLiteral(v)}`).join(", ")} }` : "{}";
}

function literalKey(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key);
}
