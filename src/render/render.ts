/**
 * Stage 4: render. Artifact[] → RenderedFile[] (path + text) in memory; nothing is written
 * here, so a template error leaves the previous output untouched. Each file gets the
 * "generated, do not edit" header.
 */
import fs from "node:fs";
import path from "node:path";
import { EtaError, EtaRuntimeError } from "eta";
import { error, fail, ok, type Diagnostic, type Result } from "../diagnostics/diagnostic.js";
import type { Artifact } from "../plan/artifacts.js";
import { LayeredEta } from "./templates.js";

export interface RenderedFile {
  /** Relative to the output folder, `/` separators. */
  path: string;
  content: string;
}

export interface RenderInput {
  artifacts: Artifact[];
  /** Template folders in priority order: the project's ejected templates, then the built-ins. */
  roots: string[];
  /** First line(s) of every file, without comment markers. */
  banner: string[];
}

const CONFLICT_MARKER = /^(<{7}|>{7}|={7})( |$)/m;

export function renderArtifacts(input: RenderInput): Result<RenderedFile[]> {
  const eta = new LayeredEta(input.roots);
  const banner = input.banner.map((l) => l.replace(/[\r\n\u2028\u2029]+/g, " "));
  const header = (output: string): string => {
    // JSON has no comments: a JSON template carries its own note (a "$comment" field).
    if (output.endsWith(".json")) return "";
    const prefix = output.endsWith(".sql") ? "-- " : "// ";
    return banner.map((l) => prefix + l).join("\n") + "\n\n";
  };
  const files: RenderedFile[] = [];
  const diagnostics: Diagnostic[] = [];
  diagnostics.push(...conflictMarkers(input.roots.slice(0, -1)));
  for (const artifact of input.artifacts) {
    // A per-entity override in the project (`collections/contact.ts.eta`) wins over the template.
    const resolved = eta.resolveArtifact(artifact.template, artifact.override);
    if (!resolved) {
      diagnostics.push(notFound(artifact, input.roots[0]!));
      continue;
    }
    try {
      const body = artifact.kind === "copy" ? fs.readFileSync(resolved.file, "utf8") : eta.render(resolved.name, artifact.data);
      files.push({ path: artifact.output, content: header(artifact.output) + normalize(body) });
    } catch (e) {
      diagnostics.push(templateError(e, resolved.file, resolved.name));
    }
  }
  if (diagnostics.length) return fail(diagnostics);
  return ok(files);
}

function notFound(artifact: Artifact, projectRoot: string): Diagnostic {
  if (artifact.origin) {
    // An extra artifact of the config: its template is the project's own.
    return error("template/not-found", `Template ${artifact.template} of this extra artifact is not in ${projectRoot} (nor a built-in template).`, artifact.origin, `Create ${path.join(projectRoot, artifact.template)}, or fix \`template\` (it is relative to the template folder).`);
  }
  return error("template/not-found", `Template ${artifact.template} not found.`, { file: artifact.template }, "Restore it from the package with `sync-patterns eject templates --force " + artifact.template + "`, or delete your copy to use the built-in.");
}

/** Every ejected template or partial that still has merge conflict markers. */
function conflictMarkers(ejectedRoots: string[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const walk = (dir: string, root: string): void => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== ".base") walk(file, root);
        continue;
      }
      if (!entry.name.endsWith(".eta") && !entry.name.endsWith(".ts")) continue;
      const text = fs.readFileSync(file, "utf8");
      const marker = CONFLICT_MARKER.exec(text);
      if (marker) {
        const line = text.slice(0, marker.index).split("\n").length;
        out.push(error("template/conflict-markers", `Template ${path.relative(root, file).split(path.sep).join("/")} still has merge conflict markers.`, { file, line, column: 1 }, "Resolve the conflict (keep the lines you want, delete the markers), or keep one side with `sync-patterns templates update <name> --ours` (or `--theirs`); then generate again."));
      }
    }
  };
  for (const root of ejectedRoots) walk(root, root);
  return out;
}

/** One trailing newline, no trailing spaces, no runs of more than one blank line. */
function normalize(text: string): string {
  return (
    text
      .replace(/\r\n/g, "\n")
      .replace(/[ \t]+$/gm, "")
      .replace(/\n{3,}/g, "\n\n")
      .replace(/^\n+/, "")
      .replace(/\n*$/, "\n")
  );
}

function templateError(e: unknown, file: string, name: string): Diagnostic {
  const err = e as Error;
  const hint = "Fix the template (or delete your ejected copy to go back to the built-in).";
  if (e instanceof EtaRuntimeError || (e instanceof EtaError && /:\d+\n/.test(err.message))) {
    // Eta's debug message starts with `<file>:<line>` and shows the lines around it.
    const m = /^(.*?):(\d+)\n/.exec(err.message);
    const cause = (err as { cause?: Error }).cause?.message ?? err.message.split("\n").pop();
    return error("template/runtime-error", `Template ${name} failed: ${cause}`, { file: m?.[1] ?? file, ...(m ? { line: Number(m[2]), column: 1 } : {}) }, hint);
  }
  const pos = /line (\d+)(?: col (\d+))?/.exec(err.message);
  return error("template/syntax-error", `Template ${name} cannot be compiled: ${err.message.split("\n")[0]}`, { file: path.resolve(file), ...(pos ? { line: Number(pos[1]), column: Number(pos[2] ?? 1) } : {}) }, hint);
}
