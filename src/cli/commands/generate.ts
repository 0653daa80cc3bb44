/** `sync-patterns generate [--check] [--dry-run]`: regenerate everything from spec + config. */
import path from "node:path";
import { loadConfig, type ResolvedConfig } from "../../config/config.js";
import { generate, type GenerateMode } from "../../generate.js";
import { planIsEmpty, readManifest, type WritePlan } from "../../write/write-plan.js";
import { addedPackages, packageLines } from "../packages.js";
import type { SpecModel } from "../../model/types.js";
import type { Report } from "../report.js";

export interface GenerateFlags {
  check?: boolean;
  dryRun?: boolean;
  /** Whether to print the packages when the client needs new ones (init prints them itself). */
  packages?: boolean;
}

/** Runs a generation into `report`; returns the model when it succeeded. */
export async function runGenerate(cwd: string, flags: GenerateFlags, report: Report, config?: ResolvedConfig): Promise<SpecModel | undefined> {
  const cfg = config ?? (await loadConfig(cwd));
  if ("ok" in cfg && !cfg.ok) {
    report.diagnostics.push(...cfg.diagnostics);
    return undefined;
  }
  const resolved = "ok" in cfg ? cfg.value : cfg;
  const mode: GenerateMode = flags.check ? "check" : flags.dryRun ? "dry-run" : "write";
  const before = await readManifest(path.resolve(resolved.root, resolved.output));
  const result = await generate(resolved, mode, cwd);
  report.diagnostics.push(...result.diagnostics);
  if (!result.ok) return undefined;
  const { plan, model } = result.value;
  const out = path.relative(cwd, plan.outDir) || ".";
  if (mode === "check") {
    if (planIsEmpty(plan)) report.lines.push(`${out} is up to date (${plan.unchanged.length} files).`);
    else {
      report.lines.push(`${out} is out of date; \`npx sync-patterns generate\` would change:`, ...describePlan(plan, out));
      report.exitCode = 1;
    }
    return model;
  }
  if (mode === "dry-run") {
    report.lines.push(planIsEmpty(plan) ? `Nothing to change in ${out}.` : `Would write to ${out}:`, ...describePlan(plan, out));
    return model;
  }
  const changed = plan.create.length + plan.update.length + plan.remove.length;
  report.lines.push(...describePlan(plan, out));
  const needs = plan.manifest.packages ?? {};
  const added = addedPackages(before?.packages, needs);
  if (flags.packages !== false && added.length) report.lines.push(...packageLines(needs, before?.packages ? added : undefined));
  report.lines.push(
    `${changed === 0 ? "Up to date" : "Generated"}: ${model.schemas.length} types, ${model.operations.length} operations, ${model.entities.length} synced entities → ${out} (${plan.create.length} created, ${plan.update.length} updated, ${plan.remove.length} removed, ${plan.unchanged.length} unchanged).`,
  );
  return model;
}

export function describePlan(plan: WritePlan, out: string): string[] {
  return [
    ...plan.create.map((f) => `  create  ${path.posix.join(out, f.path)}`),
    ...plan.update.map((f) => `  update  ${path.posix.join(out, f.path)}`),
    ...plan.remove.map((f) => `  delete  ${path.posix.join(out, f)}`),
  ];
}
