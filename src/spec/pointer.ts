/** Resolving a JSON pointer (RFC 6901) in a parsed document. */
import { pointerSegments } from "../diagnostics/diagnostic.js";
import type { Json } from "./parse.js";

/** The value at `pointer`, or undefined when any step is missing. */
export function resolvePointer(doc: Json, pointer: string): Json | undefined {
  let node: Json | undefined = doc;
  for (const seg of pointerSegments(pointer)) {
    if (Array.isArray(node)) node = node[Number(seg)];
    else if (typeof node === "object" && node !== null) node = Object.prototype.hasOwnProperty.call(node, seg) ? (node as Record<string, Json>)[seg] : undefined;
    else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}
