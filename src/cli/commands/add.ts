/**
 * `sync-patterns add <entity> [--local-first|--confirmed]`: brings one resource of the spec
 * into the local-first stack, records it in the config and generates its files. The config
 * is changed only after generation succeeded.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { error } from "../../diagnostics/diagnostic.js";
import { CONFIG_FILE, loadConfig, parseConfig, withEntity } from "../../config/config.js";
import { loadModel } from "../../generate.js";
import { matchesResource } from "../../model/build.js";
import { closest } from "../../diagnostics/suggest.js";
import type { SyncMode } from "../../model/types.js";
import type { Report } from "../report.js";
import { runGenerate } from "./generate.js";

export async function runAdd(cwd: string, name: string, mode: SyncMode | undefined, report: Report): Promise<void> {
  const config = await loadConfig(cwd);
  if (!config.ok) {
    report.diagnostics.push(...config.diagnostics);
    return;
  }
  const loaded = await loadModel(config.value, cwd);
  if (!loaded.ok) {
    report.diagnostics.push(...loaded.diagnostics);
    return;
  }
  const { model } = loaded.value;
  const resource = model.resources.find((r) => matchesResource(r, name));
  if (!resource) {
    const known = model.resources.map((r) => r.names.original);
    const near = closest(name, [...known, ...model.resources.map((r) => r.names.snakePlural)]);
    report.diagnostics.push(
      error(
        "add/unknown-entity",
        `The spec has no resource named "${name}".`,
        { file: config.value.spec },
        `${near ? `Did you mean "${resource ?? model.resources.find((r) => matchesResource(r, near))?.names.original ?? near}"? ` : ""}Resources found: ${known.join(", ") || "(none: add a collection path with a GET list or POST create)"}.`,
      ),
    );
    return;
  }
  const key = resource.names.original;
  const existing = model.entities.find((e) => e.path === resource.path);
  const current = config.value.entities[key] ?? {};
  const next = { ...current, ...(mode ? { mode } : {}) };
  if (existing && !mode && !config.value.entities[key]) {
    report.lines.push(`${key} (${resource.path}) is already synced: the spec marks it with x-sync (${existing.mode}). Nothing to add.`);
    return;
  }
  const configPath = path.join(cwd, CONFIG_FILE);
  const text = withEntity(await fs.readFile(configPath, "utf8"), key, next.mode ? next : { mode: resource.specSync?.mode ?? "confirmed" });
  const updated = parseConfig(text, cwd, config.value.file);
  if (!updated.ok) {
    report.diagnostics.push(...updated.diagnostics);
    return;
  }
  await runGenerate(cwd, {}, report, updated.value);
  if (report.diagnostics.some((d) => d.severity === "error")) return;
  await fs.writeFile(configPath, text);
  const entity = updated.value.entities[key];
  report.lines.push(`Added ${key} (${resource.path}, ${entity?.mode}) to ${CONFIG_FILE}.`);
}
