/**
 * Parses spec text (JSON or YAML) into plain data, and maps JSON pointers back to
 * line:column for diagnostics. JSON goes through JSON.parse (fast on 10+ MB specs); the
 * position index is built only when a diagnostic needs it.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { error, fail, ok, pointerSegments, type Result } from "../diagnostics/diagnostic.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function parseSpecText(text: string, file: string): Result<Json> {
  const trimmed = text.trimStart();
  if (trimmed === "") {
    return fail([error("spec/empty", "The spec file is empty.", { file }, "Point `spec` at an OpenAPI 3.x or Swagger 2.0 document.")]);
  }
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return ok(JSON.parse(text) as Json);
    } catch (e) {
      if (e instanceof RangeError) return fail([tooDeep(file)]);
      // Fall through: the YAML parser reports JSON syntax errors with a line and column.
    }
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return fail(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return error(
          "spec/syntax",
          `Syntax error: ${e.message.split("\n")[0]}`,
          { file, ...(pos ? { line: pos.line, column: pos.col } : {}) },
          "Fix the YAML/JSON syntax at this line (indentation, an unclosed bracket or quote, or a duplicate key).",
        );
      }),
    );
  }
  try {
    return ok(doc.toJS({ maxAliasCount: 1000 }) as Json);
  } catch (e) {
    if (e instanceof RangeError) return fail([tooDeep(file)]);
    return fail([error("spec/syntax", `Cannot read the document: ${(e as Error).message}`, { file })]);
  }
}

function tooDeep(file: string) {
  return error("spec/too-deep", "The document nests too deeply to be read.", { file }, "Move deeply nested schemas to components/schemas and refer to them with $ref.");
}

/** Maps JSON pointers to 1-based positions in the original text. Built lazily, once. */
export class PositionIndex {
  private doc?: ReturnType<typeof parseDocument>;
  private lineCounter = new LineCounter();
  constructor(private readonly text: string) {}

  locate(pointer: string): { line: number; column: number } | undefined {
    if (!this.doc) this.doc = parseDocument(this.text, { lineCounter: this.lineCounter, uniqueKeys: false });
    let node: unknown = this.doc.contents;
    // The deepest node found; for a map entry that is its key, where a reader looks.
    let best = node as Node | null;
    for (const segment of pointerSegments(pointer)) {
      if (isMap(node)) {
        const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === segment);
        if (!pair) break;
        best = (pair.key as Node | null) ?? best;
        node = pair.value;
      } else if (isSeq(node)) {
        const item = node.items[Number(segment)];
        if (item === undefined) break;
        best = item as Node;
        node = item;
      } else break;
    }
    const range = best?.range;
    if (!range) return undefined;
    const pos = this.lineCounter.linePos(range[0]);
    return { line: pos.line, column: pos.col };
  }
}
