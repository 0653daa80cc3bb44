/**
 * Reads a spec's bytes from a file or an http(s) URL. Bounded: URLs time out (redirects are
 * followed, up to fetch's limit of 20), files have a size limit, and bytes that are not UTF-8 are
 * rejected with a clear error.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { error, fail, ok, type Result } from "../diagnostics/diagnostic.js";

export interface SpecSource {
  /** What we print in diagnostics: a path relative to the working directory, or the URL. */
  display: string;
  /** Absolute file path or URL: the base for relative `$ref`s. */
  location: string;
  isUrl: boolean;
  text: string;
}

/** How long a spec URL (or a remote $ref) may take; SYNC_PATTERNS_URL_TIMEOUT_MS overrides it. */
export const URL_TIMEOUT_MS = Number(process.env.SYNC_PATTERNS_URL_TIMEOUT_MS) || 15_000;
export const MAX_SPEC_BYTES = 256 * 1024 * 1024;

export function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

export function displayPath(file: string, cwd: string): string {
  if (isUrl(file)) return file;
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : file;
}

function decodeUtf8(bytes: Uint8Array, display: string): Result<string> {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return ok(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return fail([
      error("spec/not-utf8", "The spec is not valid UTF-8 text.", { file: display }, "Save the file as UTF-8 (YAML and JSON specs must be UTF-8)."),
    ]);
  }
}

export async function readSpecSource(location: string, cwd: string): Promise<Result<SpecSource>> {
  if (isUrl(location)) return readUrl(location);
  const abs = path.resolve(cwd, location);
  const display = displayPath(abs, cwd);
  let bytes: Uint8Array;
  try {
    const stat = await fs.stat(abs);
    if (stat.isDirectory()) {
      return fail([error("spec/not-a-file", `${display} is a directory, not a spec file.`, { file: display }, "Point `spec` at an OpenAPI YAML or JSON file.")]);
    }
    if (stat.size > MAX_SPEC_BYTES) {
      return fail([error("spec/too-large", `The spec is ${stat.size} bytes; the limit is ${MAX_SPEC_BYTES}.`, { file: display })]);
    }
    bytes = await fs.readFile(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail([
      error(
        "spec/not-found",
        code === "ENOENT" ? `Spec file not found: ${display}` : `Cannot read the spec: ${(e as Error).message}`,
        { file: display },
        "Check the `spec` setting in sync-patterns.config.yaml or the --spec flag (a path relative to the project, or an http(s) URL).",
      ),
    ]);
  }
  const text = decodeUtf8(bytes, display);
  if (!text.ok) return text;
  return ok({ display, location: abs, isUrl: false, text: text.value });
}

async function readUrl(url: string): Promise<Result<SpecSource>> {
  const hint = "Check that the server is running and the URL is right, or download the spec and point `spec` at the file.";
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(URL_TIMEOUT_MS), redirect: "follow" });
  } catch (e) {
    const timedOut = (e as Error).name === "TimeoutError";
    return fail([
      error(
        timedOut ? "spec/url-timeout" : "spec/url-unreachable",
        timedOut ? `No answer from ${url} within ${URL_TIMEOUT_MS / 1000} s.` : `Cannot fetch ${url}: ${(e as Error).message}`,
        { file: url },
        hint,
      ),
    ]);
  }
  if (!response.ok) {
    return fail([error("spec/url-status", `Fetching ${url} returned HTTP ${response.status}.`, { file: url }, hint)]);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const text = decodeUtf8(bytes, url);
  if (!text.ok) return text;
  return ok({ display: url, location: response.url || url, isUrl: true, text: text.value });
}
