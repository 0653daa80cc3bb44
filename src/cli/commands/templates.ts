/**
 * `sync-patterns templates status | diff [name…] | update [name…] [--ours|--theirs] | check`:
 * the lifecycle of ejected templates after eject.
 */
import path from "node:path";
import { DEFAULTS, loadConfig, type ResolvedConfig } from "../../config/config.js";
import { CONTEXT_FILE } from "../../eject/context-types.js";
import { BASE_DIR, loadLock } from "../../eject/eject.js";
import type { Side } from "../../eject/merge.js";
import { STATE_LABELS, templateStatuses, type TemplateStatus } from "../../eject/status.js";
import type { UpdateAction } from "../../eject/update.js";
import { migrationNotes } from "../../model/migrations.js";
import { MODEL_VERSION } from "../../model/types.js";
import { VERSION } from "../../version.js";
import type { Report } from "../report.js";

export type TemplatesSubcommand = "status" | "diff" | "update" | "check";
export const TEMPLATES_SUBCOMMANDS: readonly TemplatesSubcommand[] = ["status", "diff", "update", "check"];

export async function runTemplates(cwd: string, sub: TemplatesSubcommand, names: string[], prefer: Side | undefined, report: Report): Promise<void> {
  const config = await loadConfig(cwd);
  if (sub === "check") {
    if (!config.ok) return void report.diagnostics.push(...config.diagnostics);
    return runCheck(config.value, cwd, report);
  }
  // Like eject, the lifecycle commands work before init, on the default folder.
  const templates = config.ok ? config.value.templates : DEFAULTS.templates;
  const dir = path.resolve(cwd, templates);
  if (sub === "update") return runUpdate(dir, templates, names, prefer, report);
  const { lock, diagnostics } = await loadLock(dir);
  report.diagnostics.push(...diagnostics);
  if (diagnostics.length) return;
  if (!lock || Object.keys(lock.templates).length === 0) {
    report.lines.push(`No ejected templates in ${templates}. \`sync-patterns eject templates [name…]\` copies built-ins there to customise them.`);
    return;
  }
  const result = await templateStatuses(dir, lock, names);
  report.diagnostics.push(...result.diagnostics);
  if (result.diagnostics.length) return;
  if (sub === "status") status(result.statuses, templates, lock.modelVersion, report);
  else await diff(result.statuses, templates, report);
}

function status(statuses: TemplateStatus[], templates: string, modelVersion: number, report: Report): void {
  const width = Math.max(...statuses.map((s) => STATE_LABELS[s.state].length));
  report.lines.push(`Ejected templates in ${templates} (built-ins: sync-patterns ${VERSION}):`);
  for (const s of statuses) {
    const from = s.entry.version !== VERSION ? `  (ejected from ${s.entry.version})` : "";
    const where = s.conflictLine ? `  (line ${s.conflictLine})` : "";
    report.lines.push(`  ${STATE_LABELS[s.state].padEnd(width)}  ${s.name}${where}${from}`);
  }
  const pending = statuses.filter((s) => s.state === "upstream" || s.state === "both").length;
  const conflicted = statuses.filter((s) => s.state === "conflicts").length;
  if (pending) report.lines.push(`${pending} template${pending === 1 ? " has" : "s have"} upstream changes: \`sync-patterns templates diff\` shows them, \`sync-patterns templates update\` merges them into your copies.`);
  if (conflicted) report.lines.push(`${conflicted} template${conflicted === 1 ? " has" : "s have"} conflict markers: resolve them, or \`sync-patterns templates update <name> --ours|--theirs\`.`);
  if (modelVersion !== MODEL_VERSION) report.lines.push(`Your templates declare model version ${modelVersion}; this sync-patterns provides ${MODEL_VERSION}:`, ...migrationNotes(modelVersion).map((n) => `  ${n}`));
}

async function diff(statuses: TemplateStatus[], templates: string, report: Report): Promise<void> {
  // The diff, merge and check modules (and their packages) load only for the command that needs them.
  const { unifiedDiff } = await import("../../eject/diff.js");
  for (const s of statuses) {
    report.lines.push(`${s.name}: ${STATE_LABELS[s.state]}`);
    const base = `${templates}/${BASE_DIR}/${s.name} (base, ${s.entry.version})`;
    if (s.base === undefined) {
      report.lines.push(`  no base text (${BASE_DIR}/${s.name} is missing), so there is nothing to compare with.`);
      continue;
    }
    const mine = s.yours === undefined ? "" : unifiedDiff(base, `${templates}/${s.name} (yours)`, s.base, s.yours);
    const theirs = s.upstream === undefined ? "" : unifiedDiff(base, `built-in ${s.name} (upstream, ${VERSION})`, s.base, s.upstream);
    report.lines.push(`base → yours: ${s.yours === undefined ? "your copy was deleted" : mine ? "" : "no changes"}`.trimEnd());
    if (mine) report.lines.push(mine);
    report.lines.push(`base → upstream: ${s.upstream === undefined ? "the built-in was removed" : theirs ? "" : "no changes"}`.trimEnd());
    if (theirs) report.lines.push(theirs);
    report.lines.push("");
  }
  while (report.lines.at(-1) === "") report.lines.pop();
}

const ACTION_LABELS: Record<UpdateAction, string> = {
  "up-to-date": "up to date",
  replaced: "updated",
  "already-merged": "updated",
  merged: "merged",
  conflicts: "CONFLICT",
  resolved: "resolved",
  forgotten: "forgotten",
  skipped: "skipped",
};

async function runUpdate(dir: string, templates: string, names: string[], prefer: Side | undefined, report: Report): Promise<void> {
  const { updateTemplates } = await import("../../eject/update.js");
  const result = await updateTemplates(dir, names, prefer);
  report.diagnostics.push(...result.diagnostics);
  if (result.outcomes.length === 0 && result.diagnostics.length) return;
  const detail = (o: (typeof result.outcomes)[number]): string => {
    switch (o.action) {
      case "up-to-date":
        return "no upstream changes";
      case "replaced":
        return `you had not edited it: now the ${VERSION} built-in`;
      case "already-merged":
        return "your copy already had the upstream changes";
      case "merged":
        return `your edits and the ${VERSION} built-in's merged${o.decided ? ` (${o.decided} conflict${o.decided === 1 ? "" : "s"} decided --${prefer})` : ""}`;
      case "conflicts":
        return `${o.conflicts} conflict${o.conflicts === 1 ? "" : "s"}: markers written into your copy`;
      case "resolved":
        return `${o.decided} conflict${o.decided === 1 ? "" : "s"} resolved --${prefer}`;
      case "forgotten":
        return "your copy was deleted: dropped from the lock (the built-in is used)";
      case "skipped":
        return "see above";
    }
  };
  for (const o of result.outcomes) report.lines.push(`  ${ACTION_LABELS[o.action].padEnd(10)}  ${path.posix.join(templates, o.name)}  (${detail(o)})`);
  if (result.contextWritten) report.lines.push(`  wrote       ${path.posix.join(templates, CONTEXT_FILE)}`);
  const { before, after } = result.modelVersion;
  if (before !== after) {
    report.lines.push(`Your templates now declare model version ${after} (was ${before}). What changed, for your own edits:`, ...migrationNotes(before, after).map((n) => `  ${n}`), "Run `sync-patterns templates check` to render and type-check everything.");
  }
  const conflicts = result.outcomes.reduce((n, o) => n + o.conflicts, 0);
  if (conflicts) report.lines.push(`${conflicts} conflict${conflicts === 1 ? "" : "s"} left: resolve the markers (generate refuses those templates until then).`);
  else if (!result.diagnostics.some((d) => d.severity === "error")) {
    const changed = result.outcomes.filter((o) => o.action !== "up-to-date").length;
    report.lines.push(changed ? `Updated ${changed} template${changed === 1 ? "" : "s"}. Review with \`git diff ${templates}\`, then \`sync-patterns generate\`.` : `Templates in ${templates} are up to date with sync-patterns ${VERSION}.`);
  }
}

async function runCheck(config: ResolvedConfig, cwd: string, report: Report): Promise<void> {
  const { checkTemplates } = await import("../../eject/check.js");
  const { renderProject } = await import("../../generate.js");
  const result = await checkTemplates(config, await renderProject(config, cwd));
  report.diagnostics.push(...result.diagnostics);
  if (!result.ok) return;
  const s = result.value;
  const own = s.templates.filter((t) => t.startsWith(path.resolve(config.root, config.templates) + path.sep)).length;
  const options = s.tsconfig ? `${path.relative(config.root, s.tsconfig)}'s options plus strict mode` : "strict mode";
  report.lines.push(`Rendered ${s.rendered} files from ${s.templates.length} templates (${own} of them yours) and type-checked ${s.typeChecked} TypeScript files with ${s.compiler} in ${options}: no errors.`);
  if (s.unused.length) report.lines.push(`Not exercised by this spec: ${s.unused.join(", ")}.`);
}
