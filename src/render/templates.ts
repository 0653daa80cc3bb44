/**
 * Template resolution: the project's ejected copy of a template first, the built-in second.
 * Partials (`include`) resolve through the same chain, so a team can override one partial
 * without copying the template that includes it.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Eta, EtaFileResolutionError } from "eta";

/**
 * The built-in templates shipped with the package (`<package>/templates`).
 *
 * FOR TESTS ONLY: `SYNC_PATTERNS_BUILTIN_TEMPLATES=<dir>` points the built-in folder elsewhere, so
 * the test suite can simulate a new upstream version of the templates (`templates status/diff/update`).
 * It is not a supported setting: a project customises templates by ejecting them.
 */
export const BUILTIN_TEMPLATES = process.env.SYNC_PATTERNS_BUILTIN_TEMPLATES ? path.resolve(process.env.SYNC_PATTERNS_BUILTIN_TEMPLATES) : findBuiltinTemplates();

function findBuiltinTemplates(): string {
  // src/render/templates.ts in development, dist/src/render/templates.js when installed.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, "templates");
    if (fs.existsSync(path.join(candidate, "index.ts.eta"))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error("sync-patterns: cannot find the built-in templates folder (the package is incomplete).");
}

export class LayeredEta extends Eta {
  readonly roots: string[];

  /** `roots` in priority order: the ejected folder first, the built-in folder last. */
  constructor(roots: string[]) {
    super({ views: roots[roots.length - 1]!, autoEscape: false, autoTrim: false, debug: true, cache: true, useWith: false });
    this.roots = roots.map((r) => path.resolve(r));
    // Eta assigns resolvePath as a class field; a prototype method would be ignored.
    this.resolvePath = (template, options) => {
      const logical = this.logicalName(template, options?.filepath);
      for (const root of this.roots) {
        const candidate = path.join(root, logical);
        if (fs.existsSync(candidate)) return candidate;
      }
      throw new EtaFileResolutionError(`Template '${logical}' not found in: ${this.roots.join(", ")}`);
    };
  }

  /** The template's name relative to any root: `./partials/doc.eta` from `api/group.ts.eta` → `partials/doc.eta`. */
  private logicalName(template: string, parentFile?: string): string {
    let logical: string;
    if (parentFile && !/^[\\/]/.test(template)) {
      const parentRoot = this.roots.find((r) => parentFile.startsWith(r + path.sep));
      logical = path.posix.join(path.relative(parentRoot ?? this.roots[0]!, path.dirname(parentFile)).split(path.sep).join("/"), template);
    } else {
      logical = path.posix.normalize(template.replace(/^[\\/]+/, ""));
    }
    if (logical.startsWith("..") || path.isAbsolute(logical)) throw new EtaFileResolutionError(`Template '${template}' is outside the template folders.`);
    return logical;
  }

  /**
   * A project-only template (a per-entity override such as `collections/contact.ts.eta`): found in an
   * ejected folder and not a built-in name, so `schema/shared.sql.eta` is never taken for an entity
   * called `shared`.
   */
  locateOverride(logical: string): string | undefined {
    const builtin = this.roots[this.roots.length - 1]!;
    if (fs.existsSync(path.join(builtin, logical))) return undefined;
    return this.roots.slice(0, -1).map((root) => path.join(root, logical)).find((file) => fs.existsSync(file));
  }

  /** The template an artifact renders: its per-entity override when the project has one, else the template itself. */
  resolveArtifact(template: string, override?: string): { name: string; file: string } | undefined {
    const own = override !== undefined ? this.locateOverride(override) : undefined;
    if (own !== undefined && override !== undefined) return { name: override, file: own };
    const located = this.locate(template);
    return located ? { name: template, file: located.file } : undefined;
  }

  /** Which file a logical template name resolves to, and whether it is the project's copy. */
  locate(logical: string): { file: string; ejected: boolean } | undefined {
    for (const [i, root] of this.roots.entries()) {
      const file = path.join(root, logical);
      if (fs.existsSync(file)) return { file, ejected: i < this.roots.length - 1 };
    }
    return undefined;
  }
}

/**
 * Every built-in template file, as logical names (`types/schemas.ts.eta`, `runtime/client.ts`).
 * Documentation next to the templates (`runtime/SPEC.md`) is not a template: not rendered, ejected or listed.
 */
export function listBuiltinTemplates(root = BUILTIN_TEMPLATES): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(abs);
      else if (!entry.name.endsWith(".md")) out.push(path.relative(root, abs).split(path.sep).join("/"));
    }
  };
  walk(root);
  return out.sort();
}
