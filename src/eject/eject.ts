/**
 * Ejecting templates. `eject templates [name…]` copies built-in templates into the project's
 * template folder; later generations use those copies (LayeredEta looks there first).
 *
 * Each ejected template is recorded in `<templates>/templates.lock.json` with the package
 * version and the sha256 of the built-in text it was copied from, and that pristine text is
 * kept under `<templates>/.base/`, so a later upgrade can do a three-way merge
 * (base → yours, base → new upstream) even after the old package version is gone.
 * The lock's `modelVersion` declares the template context version the project's templates
 * were written for; generate refuses a mismatch (checkModelVersion).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { error, warning, type Diagnostic } from "../diagnostics/diagnostic.js";
import { closest } from "../diagnostics/suggest.js";
import { BUILTIN_TEMPLATES, listBuiltinTemplates } from "../render/templates.js";
import { migrationNotes } from "../model/migrations.js";
import { MODEL_VERSION } from "../model/types.js";
import { sha256 } from "../hash.js";
import { VERSION } from "../version.js";
import { writeContextTypes } from "./context-types.js";

export const LOCK_FILE = "templates.lock.json";
export const BASE_DIR = ".base";

export interface LockEntry {
  /** sync-patterns version whose built-in text is the base. */
  version: string;
  /** sha256 of that built-in text (kept in `.base/<name>`). */
  sha256: string;
}

export interface TemplateLock {
  lockVersion: 1;
  /** SpecModel version the project's templates were written against. */
  modelVersion: number;
  templates: Record<string, LockEntry>;
}

/** The lock, or undefined when the folder has none. A lock that cannot be read is an error. */
export async function loadLock(templatesDir: string): Promise<{ lock?: TemplateLock; diagnostics: Diagnostic[] }> {
  const file = path.join(templatesDir, LOCK_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch {
    return { diagnostics: [] };
  }
  const bad = (why: string): { diagnostics: Diagnostic[] } => ({
    diagnostics: [error("template/bad-lock", `${LOCK_FILE} cannot be read: ${why}.`, { file }, "Restore it from version control (it is written by `sync-patterns eject templates` and `templates update`).")],
  });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return bad((e as Error).message);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return bad("not a JSON object");
  const obj = raw as { modelVersion?: unknown; templates?: unknown };
  if (obj.modelVersion !== undefined && (typeof obj.modelVersion !== "number" || !Number.isInteger(obj.modelVersion))) return bad("`modelVersion` is not an integer");
  const templates: Record<string, LockEntry> = {};
  if (obj.templates !== undefined) {
    if (obj.templates === null || typeof obj.templates !== "object" || Array.isArray(obj.templates)) return bad("`templates` is not an object");
    for (const [name, entry] of Object.entries(obj.templates as Record<string, unknown>)) {
      const e = entry as Partial<LockEntry> | null;
      if (!e || typeof e.version !== "string" || typeof e.sha256 !== "string") return bad(`the entry of ${name} needs \`version\` and \`sha256\``);
      templates[name] = { version: e.version, sha256: e.sha256 };
    }
  }
  return { lock: { lockVersion: 1, modelVersion: (obj.modelVersion as number | undefined) ?? MODEL_VERSION, templates }, diagnostics: [] };
}

/** The lock, or an empty one for the current model version. */
export async function readLock(templatesDir: string): Promise<TemplateLock> {
  return (await loadLock(templatesDir)).lock ?? { lockVersion: 1, modelVersion: MODEL_VERSION, templates: {} };
}

export async function writeLock(templatesDir: string, lock: TemplateLock): Promise<void> {
  const sorted = Object.fromEntries(Object.entries(lock.templates).sort(([a], [b]) => (a < b ? -1 : 1)));
  await fs.mkdir(templatesDir, { recursive: true });
  await fs.writeFile(path.join(templatesDir, LOCK_FILE), JSON.stringify({ lockVersion: 1, modelVersion: lock.modelVersion, templates: sorted }, null, 2) + "\n");
}

/** Records `text` (a built-in's text) as the base of `name`: `.base/<name>` and the lock entry. */
export async function recordBase(templatesDir: string, lock: TemplateLock, name: string, text: string): Promise<void> {
  const file = path.join(templatesDir, BASE_DIR, name);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text);
  lock.templates[name] = { version: VERSION, sha256: sha256(text) };
}

export interface EjectResult {
  copied: string[];
  skipped: string[];
  diagnostics: Diagnostic[];
}

/** Resolves names to built-in templates: exact logical names, a folder (`api`), or a file name (`group.ts.eta`). */
export function selectTemplates(names: string[], builtins = listBuiltinTemplates()): { selected: string[]; diagnostics: Diagnostic[] } {
  if (names.length === 0) return { selected: builtins, diagnostics: [] };
  const selected = new Set<string>();
  const diagnostics: Diagnostic[] = [];
  for (const name of names) {
    const matches = matchTemplates(name, builtins);
    if (matches.length === 0) {
      const clean = cleanName(name);
      const near = closest(clean, builtins) ?? closest(clean, builtins.map((b) => path.posix.basename(b)));
      diagnostics.push(error("eject/unknown-template", `No built-in template named "${name}".`, { file: name }, `${near ? `Did you mean "${near}"? ` : ""}Templates: ${builtins.join(", ")}.`));
    }
    for (const m of matches) selected.add(m);
  }
  return { selected: [...selected].sort(), diagnostics };
}

function cleanName(name: string): string {
  return name.replace(/^\.?\/+/, "").replace(/\/+$/, "");
}

/** The templates among `candidates` that `name` designates: the logical name, a folder, or a file name. */
export function matchTemplates(name: string, candidates: readonly string[]): string[] {
  const clean = cleanName(name);
  return candidates.filter((t) => t === clean || t.startsWith(clean + "/") || path.posix.basename(t) === clean || t === `${clean}.eta`);
}

export async function ejectTemplates(templatesDir: string, names: string[], force: boolean): Promise<EjectResult> {
  const { selected, diagnostics } = selectTemplates(names);
  const result: EjectResult = { copied: [], skipped: [], diagnostics };
  if (diagnostics.length) return result;
  const loaded = await loadLock(templatesDir);
  if (loaded.diagnostics.length) return { ...result, diagnostics: loaded.diagnostics };
  // A new lock declares the current model version; an existing one keeps what the project's templates were written for.
  const lock = loaded.lock ?? { lockVersion: 1, modelVersion: MODEL_VERSION, templates: {} };
  for (const name of selected) {
    const text = await fs.readFile(path.join(BUILTIN_TEMPLATES, name), "utf8");
    const target = path.join(templatesDir, name);
    const exists = await fs.stat(target).then(() => true, () => false);
    if (exists && !force) {
      result.skipped.push(name);
      continue;
    }
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, text);
    await recordBase(templatesDir, lock, name, text);
    result.copied.push(name);
  }
  if (result.skipped.length) {
    result.diagnostics.push(warning("eject/exists", `Already ejected, left as they are: ${result.skipped.join(", ")}.`, undefined, "Pass --force to overwrite your copies with the built-in versions."));
  }
  await writeLock(templatesDir, lock);
  await writeContextTypes(templatesDir);
  return result;
}

/** Warnings for ejected templates whose built-in changed since they were ejected. */
export async function upstreamChanges(templatesDir: string): Promise<Diagnostic[]> {
  const lock = await readLock(templatesDir);
  const out: Diagnostic[] = [];
  for (const [name, entry] of Object.entries(lock.templates)) {
    const builtin = await fs.readFile(path.join(BUILTIN_TEMPLATES, name), "utf8").catch(() => undefined);
    if (builtin === undefined) {
      out.push(warning("template/upstream-removed", `The built-in template ${name} no longer exists; your ejected copy is not used by any artifact.`, { file: path.join(templatesDir, name) }, "Delete your copy, or check the changelog for what replaced it."));
    } else if (sha256(builtin) !== entry.sha256) {
      out.push(warning("template/upstream-changed", `The built-in template ${name} changed since you ejected it (ejected from ${entry.version}, now ${VERSION}).`, { file: path.join(templatesDir, name) }, "Run `sync-patterns templates status` and `templates diff " + name + "` to see the changes, and `templates update " + name + "` to merge them into your copy."));
    }
  }
  return out;
}

/**
 * The project's templates declare the model version they were written for (the lock's
 * `modelVersion`). A mismatch with MODEL_VERSION is an error with the migration notes.
 */
export async function checkModelVersion(templatesDir: string): Promise<Diagnostic[]> {
  const { lock, diagnostics } = await loadLock(templatesDir);
  if (diagnostics.length || !lock || lock.modelVersion === MODEL_VERSION) return diagnostics;
  const file = path.join(templatesDir, LOCK_FILE);
  const notes = migrationNotes(lock.modelVersion);
  return [
    error(
      "template/model-version",
      `Your templates were written for template context version ${lock.modelVersion}; this sync-patterns (${VERSION}) provides version ${MODEL_VERSION}. What changed:\n${notes.map((n) => `      ${n}`).join("\n")}`,
      { file },
      lock.modelVersion < MODEL_VERSION
        ? "Run `sync-patterns templates update` (it merges the new built-ins into your copies and records the new version), adapt your own templates using the notes, then `sync-patterns templates check`."
        : "Install the sync-patterns version your templates were written for.",
    ),
  ];
}
