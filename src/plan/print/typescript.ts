/**
 * TypeScript printing of facts the model keeps as data: types (`TsType`, src/model/ts-type.ts),
 * literals (printed with JSON.stringify), property keys and doc comments. Each type prints as a
 * single-line expression, safe for any property name or enum value (keys are quoted when they are
 * not identifiers; string literals always are); doc comments cannot be closed from inside.
 */
import type { DocText, Operation, TsType } from "../../model/types.js";
import type { DocComment } from "../context.js";

/** A name as a TypeScript property key: bare when it is a plain (ASCII) identifier, otherwise a JSON string literal. */
export function printKey(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

/**
 * Documentation texts (the spec's, untrusted, and tags such as `@deprecated`) as the lines of a
 * JSDoc block: one line per line of text, `*\/` escaped, control characters and Unicode line
 * separators replaced by spaces, trailing blanks dropped; empty and undefined texts skipped.
 */
export function docComment(...texts: (DocText | undefined)[]): DocComment {
  const lines: string[] = [];
  for (const text of texts) {
    if (!text) continue;
    for (const raw of String(text).split(/\r?\n/)) {
      lines.push(raw.replace(/\*\//g, "*\\/").replace(/[\u0000-\u0008\u000b-\u001f\u2028\u2029]/g, " ").trimEnd());
    }
  }
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** An operation's doc comment: the spec's text, then the method and path, `@deprecated`, and what it throws. */
export function operationDoc(o: Operation): DocComment {
  return docComment(o.doc, `${o.method.toUpperCase()} ${o.path}`, o.deprecated ? "@deprecated" : undefined, `@throws {${o.names.error}} when the answer is not 2xx (narrow on \`documented\` to type \`body\`)`);
}

/** A type as a TypeScript type expression. */
export function printTsType(t: TsType): string {
  switch (t.kind) {
    case "unknown":
    case "never":
    case "void":
      return t.kind;
    case "primitive":
    case "global":
      return t.name;
    case "literal":
      return typeof t.value === "string" ? JSON.stringify(t.value) : String(t.value);
    case "ref":
      return t.namespace ? `${t.namespace}.${t.name}` : t.name;
    case "array": {
      const item = printTsType(t.item);
      return /^[\w.]+$/.test(item) ? `${item}[]` : `(${item})[]`;
    }
    case "tuple":
      return `[${t.items.map(printTsType).join(", ")}${t.rest ? ", ...unknown[]" : ""}]`;
    case "object": {
      const body = t.props.length ? `{ ${t.props.map((p) => `${printKey(p.name)}${p.optional ? "?" : ""}: ${printTsType(p.type)}`).join("; ")} }` : undefined;
      const index = t.index ? printTsType(t.index) : undefined;
      if (body && index) return `${body} & Record<string, ${index}>`;
      return body ?? `Record<string, ${index ?? "unknown"}>`;
    }
    case "union":
      return t.members.map((m) => printTsType(m)).map((m) => (m.includes(" & ") ? wrap(m) : m)).join(" | ");
    case "intersection":
      return t.members.map((m) => wrap(printTsType(m))).join(" & ");
    case "tagged":
      return `(${printTsType(t.type)} & { ${printKey(t.property)}: ${t.tags.map((tag) => JSON.stringify(tag)).map((m) => (m.includes(" & ") ? wrap(m) : m)).join(" | ")} })`;
    case "multipart":
      return `FormData | ${printTsType(t.fields)}`;
  }
}

/** Parenthesize a member of an intersection (or a union member holding one) unless it is atomic. */
function wrap(t: string): string {
  return /^[\w.\[\]"<>, ]+$/.test(t) && !t.includes(" | ") && !t.includes(" & ") ? t : t.startsWith("(") && t.endsWith(")") && balanced(t.slice(1, -1)) ? t : `(${t})`;
}

function balanced(t: string): boolean {
  let depth = 0;
  for (const ch of t) {
    if (ch === "(") depth++;
    else if (ch === ")" && --depth < 0) return false;
  }
  return depth === 0;
}

/** Response keys as a TypeScript union of string literals: `"400" | "404"`. */
export function documentedLiteral(responses: string[]): string {
  return responses.map((k) => JSON.stringify(k)).join(" | ");
}

/** Query parameters serialized differently from `form` + explode, as an object literal; empty when none. */
export function queryStylesLiteral(op: Operation): string {
  const styled = op.queryParams.filter((p) => p.style !== "form" || !p.explode);
  return styled.length ? `{ ${styled.map((p) => `${printKey(p.name)}: { style: ${JSON.stringify(p.style)}, explode: ${p.explode} }`).join(", ")} }` : "";
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
  return `{\n${entries.map(([k, v]) => `${inner}${printKey(k)}: ${tsLiteral(v, inner, width)},`).join("\n")}\n${indent}}`;
}

function inlineLiteral(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined";
  if (Array.isArray(value)) return JSON.stringify(value);
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return entries.length ? `{ ${entries.map(([k, v]) => `${printKey(k)}: ${inlineLiteral(v)}`).join(", ")} }` : "{}";
}
