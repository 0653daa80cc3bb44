/**
 * Schemas defined through themselves: `A: { allOf: [{ $ref: A }] }`, `A ↔ B` through `allOf`,
 * `oneOf`, `anyOf` or a bare `$ref`. Recursion is fine when it goes through a property, array
 * items or additionalProperties (`Node: { children: { items: { $ref: Node } } }` is a tree), but
 * a schema whose own definition *is* itself has no meaning, no Postgres column type and no
 * TypeScript type (`type A = A` does not compile). Those are reported, located at the `$ref` that
 * closes the cycle, before any code is written.
 */
import { error, pointerJoin, refPointer, type Diagnostic, type SourceLocation } from "../diagnostics/diagnostic.js";
import { componentName, isObj, resolveRef } from "./schema-walk.js";
import { componentSchemas } from "./schemas.js";
import type { Json } from "../spec/parse.js";

interface Edge {
  to: string;
  /** JSON pointer of the `$ref` that makes the edge. */
  pointer: string;
}

/** Components a schema *is made of*: `$ref`, `allOf`, `oneOf`, `anyOf` members, not properties or items. */
function directRefs(doc: Json, schema: Json | undefined, pointer: string, out: Edge[], inlined: Set<string>): void {
  if (!isObj(schema)) return;
  if (typeof schema.$ref === "string") {
    const name = componentName(schema.$ref);
    if (name !== undefined) {
      out.push({ to: name, pointer: pointerJoin(pointer, "$ref") });
    } else if (!inlined.has(schema.$ref)) {
      // A ref into the middle of a schema is inlined where it is used: follow it.
      inlined.add(schema.$ref);
      directRefs(doc, resolveRef(doc, schema.$ref), refPointer(schema.$ref), out, inlined);
    }
    return;
  }
  for (const key of ["allOf", "oneOf", "anyOf"] as const) {
    const members = schema[key];
    if (Array.isArray(members)) members.forEach((m, i) => directRefs(doc, m, pointerJoin(pointer, key, i), out, inlined));
  }
}

/** One error per group of component schemas that are defined through each other. */
export function schemaCycles(doc: Json, locate: (pointer: string) => SourceLocation): Diagnostic[] {
  const components = componentSchemas(doc);
  const names = Object.keys(components).sort();
  const edges = new Map<string, Edge[]>();
  for (const name of names) {
    const out: Edge[] = [];
    directRefs(doc, components[name], pointerJoin("/components/schemas", name), out, new Set());
    edges.set(name, out.filter((e) => Object.hasOwn(components, e.to)));
  }
  const diagnostics: Diagnostic[] = [];
  for (const group of stronglyConnected(names, edges)) {
    const start = group[0]!;
    const cycle = shortestCycle(start, new Set(group), edges);
    if (!cycle) continue;
    const path = [...cycle.map((s) => s.from), start].join(" → ");
    const closing = cycle[cycle.length - 1]!;
    diagnostics.push(
      error(
        "model/schema-cycle",
        `Schema ${start} is defined through itself (${path}): a schema cannot be its own allOf/oneOf/anyOf member or $ref, so it has no TypeScript or Postgres type.`,
        locate(closing.edge.pointer),
        cycle.length === 1
          ? `Remove this $ref to ${start} from its own definition, or, for a recursive structure, put it under a property or array items (\`children: { type: array, items: { $ref: '#/components/schemas/${start}' } }\`).`
          : `Break the cycle: ${cycle.map((s) => s.from).join(" and ")} cannot each be made of the other; put the reference under a property or array items if the data is recursive.`,
      ),
    );
  }
  return diagnostics;
}

/** Tarjan's strongly connected components (iterative: a spec may chain thousands of schemas), members sorted, groups in order of their first member. */
function stronglyConnected(names: string[], edges: Map<string, Edge[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const groups: string[][] = [];
  let counter = 0;
  for (const root of names) {
    if (index.has(root)) continue;
    const work: { node: string; next: number }[] = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length) {
      const frame = work[work.length - 1]!;
      const out = edges.get(frame.node) ?? [];
      if (frame.next < out.length) {
        const to = out[frame.next++]!.to;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const group: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          group.push(member);
        } while (member !== frame.node);
        const selfLoop = group.length === 1 && out.some((e) => e.to === frame.node);
        if (group.length > 1 || selfLoop) groups.push(group.sort());
      }
    }
  }
  return groups.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** The shortest path of direct references from `start` back to itself inside `group` (breadth first). */
function shortestCycle(start: string, group: Set<string>, edges: Map<string, Edge[]>): { from: string; edge: Edge }[] | undefined {
  const cameFrom = new Map<string, { from: string; edge: Edge }>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i]!;
    for (const edge of edges.get(node) ?? []) {
      if (!group.has(edge.to)) continue;
      if (edge.to === start) {
        const path = [{ from: node, edge }];
        for (let at = node; at !== start; ) {
          const step = cameFrom.get(at)!;
          path.unshift(step);
          at = step.from;
        }
        return path;
      }
      if (!cameFrom.has(edge.to)) {
        cameFrom.set(edge.to, { from: node, edge });
        queue.push(edge.to);
      }
    }
  }
  return undefined;
}
