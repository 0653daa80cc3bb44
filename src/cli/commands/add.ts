/**
 * `sync-patterns add <entity|path> [--local-first|--confirmed] [--as <name>]`: brings one
 * resource of the spec into the local-first stack, records it in the config and generates its
 * files. The config is changed only after generation succeeded. Two resources with one name
 * (`/admin/hooks`, `/repos/{owner}/{repo}/hooks`) are told apart by path; `--as` gives the
 * entity its own name (hooks, types and table), recorded as `<name>: { path: … }`.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { error } from "../../diagnostics/diagnostic.js";
import { CONFIG_FILE, loadConfig, parseConfig, withEntity, withoutEntity, type EntityConfig } from "../../config/config.js";
import { loadModel } from "../../generate.js";
import { matchesResource } from "../../model/build.js";
import { snakeCase } from "../../model/naming.js";
import { suggestName } from "../../model/entities.js";
import { closest } from "../../diagnostics/suggest.js";
import type { SyncMode } from "../../model/types.js";
import type { Report } from "../report.js";
import { runGenerate } from "./generate.js";

export interface AddOptions {
  mode?: SyncMode;
  /** The entity's own name, for a resource whose name another one has. */
  as?: string;
}

export async function runAdd(cwd: string, name: string, options: AddOptions, report: Report): Promise<void> {
  const { mode, as } = options;
  const config = await loadConfig(cwd);
  if (!config.ok) {
    report.diagnostics.push(...config.diagnostics);
    return;
  }
  if (as !== undefined && snakeCase(as) === "") {
    report.diagnostics.push(error("add/invalid-name", `--as ${JSON.stringify(as)} has no letters or digits to name the entity by.`, { file: config.value.file }, "Use a name such as `--as repo_hook`."));
    return;
  }
  // The spec's resources and its x-sync entities, without the config's entries: an entry that
  // does not build (say one naming two resources) is what this command may be fixing.
  const loaded = await loadModel({ ...config.value, entities: {} }, cwd);
  if (!loaded.ok) {
    report.diagnostics.push(...loaded.diagnostics);
    return;
  }
  const { model } = loaded.value;
  // A name the config gives (`repo_hook: { path: … }`) names its resource too.
  const pinned = config.value.entities[name]?.path;
  const matches = model.resources.filter((r) => (pinned !== undefined ? r.path === pinned : matchesResource(r, name)));
  if (matches.length > 1) {
    const example = matches[matches.length - 1]!;
    report.diagnostics.push(
      error(
        "add/ambiguous-entity",
        `The spec has ${matches.length} resources named "${name}": ${matches.map((r) => r.path).join(", ")}.`,
        { file: config.value.spec },
        `Pick one by its path, and give it a name of its own if another one is synced too: \`sync-patterns add ${example.path} --as ${suggestName(example.path, example.names.snake)}\`.`,
      ),
    );
    return;
  }
  const resource = matches[0];
  if (!resource) {
    const known = model.resources.map((r) => r.names.original);
    const near = closest(name, [...known, ...model.resources.map((r) => r.names.snakePlural), ...model.resources.map((r) => r.path)]);
    const nearResource = near !== undefined ? model.resources.find((r) => matchesResource(r, near)) : undefined;
    report.diagnostics.push(
      error(
        "add/unknown-entity",
        `The spec has no resource named "${name}".`,
        { file: config.value.spec },
        `${near ? `Did you mean "${nearResource?.path.startsWith(near) ? near : nearResource?.names.original ?? near}"? ` : ""}Resources found: ${
          [...new Set(known)].join(", ") || "(none: a resource is a collection path with a GET list or a POST create, and an item path below it such as /contacts/{id} or /sites/{id}/)"
        }.`,
      ),
    );
    return;
  }
  // The config entry that names this resource already, if any (its settings are kept).
  const entries = config.value.entities;
  const oldKey = Object.keys(entries).find((k) => (entries[k]!.path !== undefined ? entries[k]!.path === resource.path : matchesResource(resource, k)));
  const shared = model.resources.some((r) => r !== resource && r.names.original === resource.names.original);
  const key = as ?? oldKey ?? resource.names.original;
  if (key !== oldKey && entries[key] !== undefined) {
    report.diagnostics.push(
      error(
        "add/name-taken",
        `The config's entity "${key}" is ${entries[key]!.path ?? "another resource"}; ${resource.path} needs a name of its own.`,
        { file: config.value.file, pointer: `/entities/${key}` },
        `Name it: \`sync-patterns add ${resource.path} --as ${suggestName(resource.path, resource.names.snake)}\`.`,
      ),
    );
    return;
  }
  const current: EntityConfig = oldKey !== undefined ? entries[oldKey]! : {};
  // Pinned by path when the key alone would not name this one resource.
  const pin = as !== undefined || current.path !== undefined || shared;
  const next: EntityConfig = { ...current, ...(mode ? { mode } : {}), ...(pin ? { path: resource.path } : {}) };
  const existing = model.entities.find((e) => e.path === resource.path);
  if (existing && !mode && as === undefined && oldKey === undefined) {
    report.lines.push(`${existing.names.original} (${resource.path}) is already synced: the spec marks it with x-sync (${existing.mode}). Nothing to add.`);
    return;
  }
  const configPath = path.join(cwd, CONFIG_FILE);
  let text = await fs.readFile(configPath, "utf8");
  if (oldKey !== undefined && oldKey !== key) text = withoutEntity(text, oldKey);
  text = withEntity(text, key, next.mode ? next : { ...next, mode: resource.specSync?.mode ?? "confirmed" });
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

