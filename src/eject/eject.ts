/**
 * Ejecting templates. `eject templates [name…]` copies built-in templates into the project's
 * template folder; later generations use those copies (LayeredEta looks there first).
 *
 * Each ejected template is recorded in `<templates>/templates.lock.json` with the package
 * version and the sha256 of the built-in text it was copied from, and that pristine text is
 * kept under `<templates>/.base/`, so a later upgrade can do a three-way merge
 * (base → yours, base → new upstream) even after the old package version is gone.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { error, warning, type Diagnostic } from "../diagnostics/diagnostic.js";
import { closest } from "../spec/load.js";
import { BUILTIN_TEMPLATES, listBuiltinTemplates } from "../render/templates.js";
import { MODEL_VERSION } from "../model/types.js";
import { sha256 } from "../write/write-plan.js";
import { VERSION } from "../version.js";

export const LOCK_FILE = "templates.lock.json";
export const BASE_DIR = ".base";

export interface TemplateLock {
  lockVersion: 1;
  /** SpecModel version the ejected templates were written against. */
  modelVersion: number;
  templates: Record<string, { version: string; sha256: string }>;
}

export async function readLock(templatesDir: string): Promise<TemplateLock> {
  try {
    const lock = JSON.parse(await fs.readFile(path.join(templatesDir, LOCK_FILE), "utf8")) as TemplateLock;
    return { lockVersion: 1, modelVersion: lock.modelVersion ?? MODEL_VERSION, templates: lock.templates ?? {} };
  } catch {
    return { lockVersion: 1, modelVersion: MODEL_VERSION, templates: {} };
  }
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
    const clean = name.replace(/^\.?\/+/, "").replace(/\/+$/, "");
    const matches = builtins.filter((t) => t === clean || t.startsWith(clean + "/") || path.posix.basename(t) === clean || t === `${clean}.eta`);
    if (matches.length === 0) {
      const near = closest(clean, builtins) ?? closest(clean, builtins.map((b) => path.posix.basename(b)));
      diagnostics.push(error("eject/unknown-template", `No built-in template named "${name}".`, { file: name }, `${near ? `Did you mean "${near}"? ` : ""}Templates: ${builtins.join(", ")}.`));
    }
    for (const m of matches) selected.add(m);
  }
  return { selected: [...selected].sort(), diagnostics };
}

export async function ejectTemplates(templatesDir: string, names: string[], force: boolean): Promise<EjectResult> {
  const { selected, diagnostics } = selectTemplates(names);
  const result: EjectResult = { copied: [], skipped: [], diagnostics };
  if (diagnostics.length) return result;
  const lock = await readLock(templatesDir);
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
    await fs.mkdir(path.dirname(path.join(templatesDir, BASE_DIR, name)), { recursive: true });
    await fs.writeFile(path.join(templatesDir, BASE_DIR, name), text);
    lock.templates[name] = { version: VERSION, sha256: sha256(text) };
    result.copied.push(name);
  }
  if (result.skipped.length) {
    result.diagnostics.push(warning("eject/exists", `Already ejected, left as they are: ${result.skipped.join(", ")}.`, undefined, "Pass --force to overwrite your copies with the built-in versions."));
  }
  const sorted = Object.fromEntries(Object.entries(lock.templates).sort(([a], [b]) => (a < b ? -1 : 1)));
  await fs.mkdir(templatesDir, { recursive: true });
  await fs.writeFile(path.join(templatesDir, LOCK_FILE), JSON.stringify({ ...lock, modelVersion: MODEL_VERSION, templates: sorted }, null, 2) + "\n");
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
      out.push(warning("template/upstream-changed", `The built-in template ${name} changed since you ejected it (ejected from ${entry.version}, now ${VERSION}).`, { file: path.join(templatesDir, name) }, `Compare ${path.join(templatesDir, BASE_DIR, name)} with the new built-in and merge the changes into your copy.`));
    }
  }
  if (lock.modelVersion !== MODEL_VERSION && Object.keys(lock.templates).length) {
    out.push(warning("template/model-version", `Your ejected templates were written for model version ${lock.modelVersion}; this sync-patterns provides version ${MODEL_VERSION}.`, { file: path.join(templatesDir, LOCK_FILE) }, "Read docs/templates.md for what changed in the model."));
  }
  return out;
}
