/**
 * Stage 1: load + validate. A spec location (file or URL) becomes one OpenAPI 3.x document
 * (external `$ref`s bundled in, Swagger 2.0 upgraded), or every problem found, each located
 * as file:line:col plus a JSON pointer. This module is the only adapter over
 * @scalar/openapi-parser and @scalar/json-magic, so either can be swapped later.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { upgrade, validate } from "@scalar/openapi-parser";
import { bundle } from "@scalar/json-magic/bundle";
import { fetchUrls, parseJson, parseYaml, readFiles } from "@scalar/json-magic/bundle/plugins/node";
import { error, fail, ok, pointerJoin, pointerSegments, refPointer, type Diagnostic, type Result, type SourceLocation } from "../diagnostics/diagnostic.js";
import { parseSpecText, PositionIndex, type Json } from "./parse.js";
import { resolvePointer } from "./pointer.js";
import { closest } from "../diagnostics/suggest.js";
import { readSpecSource, URL_TIMEOUT_MS } from "./source.js";

export interface LoadedSpec {
  /** The OpenAPI 3.x document: plain JSON data, `$ref`s kept (not dereferenced). */
  document: Record<string, Json>;
  /** `3.0`, `3.1`, or `2.0` for an upgraded Swagger document. */
  sourceVersion: string;
  /** Display name of the root file. */
  file: string;
  /** Absolute location (file path or URL). */
  location: string;
  /** Locates a pointer of the document as a diagnostic location. */
  locate: (pointer: string) => SourceLocation;
  /** External documents bundled in: `x-ext` key → their location. */
  externals: Record<string, string>;
}

const CASCADE_NOISE = [/must match "(then|else)" schema/, /must match exactly one schema in oneOf/, /must match a schema in anyOf/];

export async function loadSpec(specLocation: string, cwd: string): Promise<Result<LoadedSpec>> {
  const source = await readSpecSource(specLocation, cwd);
  if (!source.ok) return source;
  const { display, text, location } = source.value;
  const parsed = parseSpecText(text, display);
  if (!parsed.ok) return parsed;
  let document = parsed.value;
  if (!isObject(document)) {
    return fail([error("spec/not-an-object", "The spec must be an object with `openapi` (or `swagger`) at the top.", { file: display, line: 1, column: 1 })]);
  }
  const depth = nestingDepth(document);
  if (depth > MAX_DEPTH) {
    return fail([error("spec/too-deep", `The document nests more than ${MAX_DEPTH} levels deep.`, { file: display }, "Real specs nest a few dozen levels; move deeply nested schemas to components/schemas and refer to them with $ref.")]);
  }
  const positions = new PositionIndex(text);
  const externals: Record<string, string> = {};
  const locate = (pointer: string): SourceLocation => {
    const ext = /^\/x-ext\/([^/]+)/.exec(pointer);
    if (ext && externals[ext[1]!]) return { file: externals[ext[1]!]!, pointer: pointer.slice(ext[0].length) || "/" };
    // Line and column are computed on first read: the position index (a second parse of the
    // text) is only built when a diagnostic is actually printed.
    let pos: { line: number; column: number } | undefined | null = null;
    const at = (): { line: number; column: number } | undefined => (pos === null ? (pos = positions.locate(pointer)) : pos);
    return {
      file: display,
      pointer,
      get line() {
        return at()?.line;
      },
      get column() {
        return at()?.column;
      },
    } as SourceLocation;
  };

  const versionCheck = checkVersion(document, display);
  if (versionCheck) return fail([{ ...versionCheck, location: locate(versionCheck.location?.pointer ?? "") }]);
  const sourceVersion = typeof document.swagger === "string" ? "2.0" : String(document.openapi).slice(0, 3);

  // External $refs: bundle them into /x-ext/<key> so the rest of the pipeline sees one document.
  if (hasExternalRefs(document)) {
    const bundled = await bundleExternals(document, location);
    if (!bundled.ok) return bundled;
    document = bundled.value.document;
    // The bundler records each external document relative to the root spec.
    const base = source.value.isUrl ? location : pathToFileURL(location).href;
    for (const [key, url] of Object.entries(bundled.value.urls)) externals[key] = displayExternal(new URL(url, base).href, cwd);
  }

  if (sourceVersion === "2.0") {
    document = upgrade(document as never).specification as unknown as Json;
  }
  const doc = document as Record<string, Json>;

  const diagnostics: Diagnostic[] = [];
  // Our own checks run first: the validator may fill in defaults on the object it is given.
  diagnostics.push(...checkRequiredFields(doc, locate));
  diagnostics.push(...checkRefs(doc, locate));
  // The validator normalizes what it is given (it fills in a missing info.version, for one), so it
  // gets its own copy: the JSON text when the document is that text as parsed, a clone otherwise.
  const pristineJson = sourceVersion !== "2.0" && Object.keys(externals).length === 0 && /^\s*\{/.test(text);
  diagnostics.push(...(await validateDocument(pristineJson ? text : structuredClone(doc), locate, sourceVersion === "2.0")));
  if (diagnostics.some((d) => d.severity === "error")) return fail(diagnostics);
  return ok({ document: doc, sourceVersion, file: display, location, locate, externals }, diagnostics);
}

/** Deeper documents are refused before any recursive walk could overflow the stack. */
export const MAX_DEPTH = 400;

/** The document's nesting depth, computed without recursion. */
function nestingDepth(root: Json): number {
  let max = 0;
  const stack: [Json, number][] = [[root, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (depth > max) max = depth;
    if (depth > MAX_DEPTH) break;
    if (typeof node === "object" && node !== null) for (const v of Object.values(node)) if (typeof v === "object" && v !== null) stack.push([v, depth + 1]);
  }
  return max;
}

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkVersion(doc: Record<string, Json>, file: string): Diagnostic | undefined {
  const hint = "Start the document with `openapi: 3.1.0` (3.0.x and Swagger 2.0 are read too).";
  if (typeof doc.swagger === "string") {
    return doc.swagger.startsWith("2.") ? undefined : error("spec/unsupported-version", `Swagger ${doc.swagger} is not supported.`, { file, pointer: "/swagger" }, hint);
  }
  if (doc.openapi === undefined) return error("spec/missing-version", "The document has no `openapi` field, so it is not an OpenAPI document.", { file, pointer: "" }, hint);
  if (typeof doc.openapi !== "string" || !/^3\.[01]\./.test(doc.openapi + ".")) {
    return error("spec/unsupported-version", `OpenAPI version ${JSON.stringify(doc.openapi)} is not supported.`, { file, pointer: "/openapi" }, hint);
  }
  return undefined;
}

function hasExternalRefs(node: Json): boolean {
  const stack: Json[] = [node];
  while (stack.length) {
    const n = stack.pop()!;
    if (Array.isArray(n)) stack.push(...n);
    else if (isObject(n)) {
      if (typeof n.$ref === "string" && !n.$ref.startsWith("#")) return true;
      for (const v of Object.values(n)) if (typeof v === "object" && v !== null) stack.push(v);
    }
  }
  return false;
}

async function bundleExternals(document: Json, location: string): Promise<Result<{ document: Json; urls: Record<string, string> }>> {
  const quiet = silenceConsole();
  try {
    const out = (await bundle(structuredClone(document) as never, {
      // Remote refs are bounded like the root document: a server that never answers times out.
      plugins: [readFiles(), fetchUrls({ fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(URL_TIMEOUT_MS) }) }), parseYaml(), parseJson()],
      treeShake: false,
      urlMap: true,
      origin: location,
    } as never)) as Record<string, Json>;
    const urls = (out["x-ext-urls"] ?? {}) as Record<string, string>;
    delete out["x-ext-urls"];
    return ok({ document: out, urls });
  } catch (e) {
    return fail([error("spec/bundle-failed", `Cannot load an external $ref: ${(e as Error).message}`, { file: location }, "Check that every external $ref points at a readable file or URL.")]);
  } finally {
    quiet();
  }
}

function displayExternal(url: string, cwd: string): string {
  if (url.startsWith("file:")) return path.relative(cwd, new URL(url).pathname) || url;
  if (/^https?:/.test(url)) return url;
  return path.relative(cwd, path.resolve(cwd, url)) || url;
}

/** Every `$ref` must resolve. A dangling one is an error at the `$ref`, never a silent `unknown`. */
function checkRefs(doc: Record<string, Json>, locate: (p: string) => SourceLocation): Diagnostic[] {
  const out: Diagnostic[] = [];
  // The path is kept as segments and joined into a pointer only when a $ref is found.
  const path: string[] = [];
  const walk = (node: Json): void => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v = node[i];
        if (typeof v !== "object" || v === null) continue;
        path.push(String(i));
        walk(v);
        path.pop();
      }
      return;
    }
    if (!isObject(node)) return;
    for (const k in node) {
      const v = node[k]!;
      if (k === "$ref" && typeof v === "string") {
        if (!v.startsWith("#")) {
          out.push(error("spec/unresolved-ref", `External $ref could not be loaded: ${v}`, locate(pointerJoin("", ...path, k)), "Check the path of the referenced file (relative to the file that references it)."));
        } else if (resolvePointer(doc, refPointer(v)) === undefined) {
          out.push(error("spec/unresolved-ref", `$ref points at nothing: ${v}`, locate(pointerJoin("", ...path, k)), suggestRef(doc, v)));
        }
      } else if (typeof v === "object" && v !== null) {
        path.push(k);
        walk(v);
        path.pop();
      }
    }
  };
  walk(doc);
  return out;
}

function suggestRef(doc: Record<string, Json>, ref: string): string {
  const segs = pointerSegments(refPointer(ref));
  const parent = resolvePointer(doc, pointerJoin("", ...segs.slice(0, -1)));
  const last = segs[segs.length - 1] ?? "";
  if (isObject(parent)) {
    const names = Object.keys(parent);
    const close = closest(last, names);
    if (close) return `Did you mean ${JSON.stringify("#" + pointerJoin("", ...segs.slice(0, -1), close))}?`;
  }
  return "Define the referenced component, or fix the $ref.";
}


async function validateDocument(doc: Record<string, Json> | string, locate: (p: string) => SourceLocation, upgraded: boolean): Promise<Diagnostic[]> {
  const quiet = silenceConsole();
  let result: { valid: boolean; errors?: { message: string; path?: unknown; code?: string }[] };
  try {
    result = (await validate(doc as never)) as typeof result;
  } catch (e) {
    return [error("spec/invalid", `The validator stopped: ${(e as Error).message}`, locate(""))];
  } finally {
    quiet();
  }
  if (result.valid) return [];
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const e of result.errors ?? []) {
    // Reference problems are reported by checkRefs with a location.
    if (e.code === "INVALID_REFERENCE" || e.code === "EXTERNAL_REFERENCE_NOT_FOUND") continue;
    if (CASCADE_NOISE.some((re) => re.test(e.message))) continue;
    const pointer = Array.isArray(e.path) ? pointerJoin("", ...(e.path as string[])) : typeof e.path === "string" ? e.path : "";
    const key = `${pointer} ${e.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(
      error(
        "spec/invalid",
        e.message,
        upgraded ? { file: locate("").file, pointer } : locate(pointer),
        "Fix this part of the document so it follows the OpenAPI specification (https://spec.openapis.org/oas/v3.1.0).",
      ),
    );
  }
  return out;
}

/** Fields the validator accepts as missing but that we rely on. */
function checkRequiredFields(doc: Record<string, Json>, locate: (p: string) => SourceLocation): Diagnostic[] {
  const info = doc.info;
  if (isObject(info) && typeof info.version !== "string") {
    return [error("spec/missing-info-version", "info.version is missing.", locate("/info"), "Add `version: 1.0.0` (any string) under `info`.")];
  }
  return [];
}

/** The 0.24 validator prints stack traces of its own on some inputs; keep the terminal clean. */
function silenceConsole(): () => void {
  const saved = { error: console.error, warn: console.warn, log: console.log };
  console.error = console.warn = console.log = () => {};
  return () => Object.assign(console, saved);
}
