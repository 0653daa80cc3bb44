/**
 * `templates check`: renders every artifact of the project's spec through the template chain
 * (the project's templates, per-entity overrides and extra artifacts, then the built-ins) and
 * type-checks the TypeScript it produces with the project's own compiler and tsconfig (the one
 * that includes the output folder), with the strictness flags of strict projects and of the
 * stock `create-vite` templates on top (see ./typescript.ts). Nothing is written to the
 * output folder: the files go to a temporary folder inside the project (so that the project's
 * node_modules resolve), removed afterwards.
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { ResolvedConfig } from "../config/config.js";
import { error, fail, ok, type Diagnostic, type Result } from "../diagnostics/diagnostic.js";
import type { Artifact } from "../plan/artifacts.js";
import type { RenderedFile } from "../render/render.js";
import { LayeredEta, listBuiltinTemplates } from "../render/templates.js";
import { checkTsconfig, projectTsconfig, resolveCompiler, STANDALONE_OPTIONS, strictnessFlags } from "./typescript.js";

export interface CheckSummary {
  /** Files rendered, and the TypeScript ones among them type-checked. */
  rendered: number;
  typeChecked: number;
  /** Template files the artifacts named (after overrides), as absolute paths. */
  templates: string[];
  /** Built-in artifact templates this spec does not exercise (e.g. entity templates for a spec without entities). */
  unused: string[];
  /** The compiler (`typescript@7.0.2`) and the project's tsconfig the check started from, if any. */
  compiler: string;
  tsconfig: string | undefined;
}

const TS_FILE = /\.(ts|tsx|mts|cts)$/;

/** Compiler options of the check in a project without a tsconfig: strict, plus the options strict projects and the stock app templates add. */
export const CHECK_COMPILER_OPTIONS = { ...STANDALONE_OPTIONS, ...strictnessFlags("99"), noEmit: true } as const;

/** What `templates check` compiles: the project rendered in memory (`renderProject` of src/generate.ts, which the caller runs). */
export interface CheckInput {
  artifacts: Artifact[];
  files: RenderedFile[];
  /** Template folders, the project's first, the built-ins last. */
  roots: string[];
}

export async function checkTemplates(config: ResolvedConfig, project: Result<CheckInput>): Promise<Result<CheckSummary>> {
  if (!project.ok) return project;
  const { artifacts, files, roots } = project.value;
  const diagnostics: Diagnostic[] = [...project.diagnostics];

  const eta = new LayeredEta(roots);
  const sourceOf = new Map<string, string>();
  for (const a of artifacts) sourceOf.set(a.output, eta.resolveArtifact(a.template, a.override)?.file ?? a.template);
  const used = new Set(artifacts.map((a) => a.template));
  const unused = listBuiltinTemplates(roots[roots.length - 1]).filter((t) => !t.startsWith("partials/") && !used.has(t));

  const compiler = resolveCompiler(config.root);
  if (!compiler) {
    return fail([...diagnostics, error("template/no-typescript", "`templates check` needs TypeScript, which is not installed in this project.", { file: path.join(config.root, "package.json") }, "Run `npm install -D typescript`.")]);
  }
  const dir = await fs.mkdtemp(path.join(config.root, ".sync-patterns-check-"));
  try {
    const tsFiles = files.filter((f) => TS_FILE.test(f.path));
    for (const f of files) {
      await fs.mkdir(path.dirname(path.join(dir, f.path)), { recursive: true });
      await fs.writeFile(path.join(dir, f.path), f.content);
    }
    const base = projectTsconfig(config.root, path.resolve(config.root, config.output));
    await fs.writeFile(path.join(dir, "tsconfig.json"), JSON.stringify(checkTsconfig(compiler, base), null, 2));
    if (tsFiles.length) {
      const { execa } = await import("execa"); // loaded only when a check runs
      const r = await execa(process.execPath, [compiler.bin, "-p", dir, "--pretty", "false"], { cwd: dir, reject: false });
      const text = `${r.stdout}\n${r.stderr}`;
      const errors = await typeErrors(text, dir, files, sourceOf);
      if (r.exitCode !== 0 && errors.length === 0) errors.push(error("template/type-error", `tsc failed: ${text.trim().slice(0, 2000)}`, { file: path.join(config.root, config.templates) }));
      diagnostics.push(...errors);
    }
    if (diagnostics.some((d) => d.severity === "error")) return fail(diagnostics);
    return ok({ rendered: files.length, typeChecked: tsFiles.length, templates: [...new Set(sourceOf.values())].sort(), unused, compiler: `${compiler.package}@${compiler.version}`, tsconfig: base }, diagnostics);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * `file(line,col): error TSxxxx: message` lines → diagnostics at the template that produced the
 * file (at the template line when the offending line appears there literally), quoting the
 * rendered line.
 */
async function typeErrors(output: string, dir: string, files: { path: string; content: string }[], sourceOf: Map<string, string>): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  const re = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*(?:\n {2,}.*)*)/gm;
  for (const m of output.matchAll(re)) {
    const rel = path.relative(dir, path.resolve(dir, m[1]!)).split(path.sep).join("/");
    const line = Number(m[2]);
    const file = files.find((f) => f.path === rel);
    const template = sourceOf.get(rel);
    const rendered = file?.content.split("\n")[line - 1]?.trim() ?? "";
    const templateLine = template ? await findLine(template, rendered) : undefined;
    const message = `${rel}:${line}:${m[3]} ${m[4]}: ${m[5]!.replace(/\n\s+/g, " ")}${rendered ? `\n      | ${rendered}` : ""}`;
    const hint = m[4] === "TS2307" ? "Install the packages the generated client imports (`sync-patterns init` prints them) in this project." : template ? `Fix the template that renders ${rel}.` : undefined;
    out.push(error("template/type-error", message, { file: template ?? rel, ...(templateLine ? { line: templateLine, column: 1 } : {}) }, hint));
  }
  return out;
}

async function findLine(template: string, rendered: string): Promise<number | undefined> {
  if (rendered.length < 8) return undefined;
  const text = await fs.readFile(template, "utf8").catch(() => "");
  const hits = text.split("\n").flatMap((l, i) => (l.trim() === rendered ? [i + 1] : []));
  return hits.length === 1 ? hits[0] : undefined;
}
