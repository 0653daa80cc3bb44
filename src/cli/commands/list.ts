/** `sync-patterns list`: the entities and operations found in the spec. */
import { loadConfig } from "../../config/config.js";
import { loadModel } from "../../generate.js";
import type { EntityField } from "../../model/types.js";
import { printTsType } from "../../plan/print/typescript.js";
import type { Report } from "../report.js";

/** JSON replacer: an entity field's type appears as its TypeScript text (`tsType`), where `type` is in the model. */
function printedTypes(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value) || !("pgType" in value && "codec" in value && "type" in value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => (k === "type" ? ["tsType", printTsType((value as EntityField).type)] : [k, v])));
}

export async function runList(cwd: string, report: Report, json = false): Promise<void> {
  const config = await loadConfig(cwd);
  if (!config.ok) {
    report.diagnostics.push(...config.diagnostics);
    return;
  }
  const loaded = await loadModel(config.value, cwd);
  report.diagnostics.push(...loaded.diagnostics);
  if (!loaded.ok) return;
  const { model } = loaded.value;
  if (json) {
    report.lines.push(JSON.stringify({ entities: model.entities, resources: model.resources, operations: model.operations.map(({ id, fnName, method, path, group }) => ({ id, fnName, method, path, group })) }, printedTypes, 2));
    return;
  }
  report.lines.push(`${model.title} ${model.version}`.trim(), "");
  report.lines.push(`Synced entities (${model.entities.length}):`);
  for (const e of model.entities) {
    report.lines.push(`  ${e.names.original}  ${e.mode}  table ${e.table}  key ${e.key}${e.keySource === "server" ? " (server-assigned)" : ""}${e.scopeField ? `  scope ${e.scopeField.name}` : ""}  ${e.path}`);
    const flagged = e.fields.filter((f) => f.syncExclude || f.ownerOnly);
    for (const f of flagged) report.lines.push(`      ${f.name}: ${[f.syncExclude ? "x-sync-exclude" : "", f.ownerOnly ? "x-owner-only" : ""].filter(Boolean).join(", ")}`);
  }
  const others = model.resources.filter((r) => !model.entities.some((e) => e.path === r.path));
  if (others.length) {
    report.lines.push("", `Other resources (add one with \`npx sync-patterns add <name>\`):`);
    for (const r of others) report.lines.push(`  ${r.names.original}  ${r.path}${r.schemaName ? `  (${r.schemaName})` : ""}`);
  }
  report.lines.push("", `Operations (${model.operations.length}):`);
  for (const g of model.groups) {
    for (const op of g.operations) report.lines.push(`  ${op.method.toUpperCase().padEnd(7)} ${op.path}  ${op.fnName}  [${g.name}]`);
  }
}
