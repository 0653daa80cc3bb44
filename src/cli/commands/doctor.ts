/** `sync-patterns doctor`: the running backend and shape endpoint against the contract (src/doctor). */
import { loadConfig } from "../../config/config.js";
import { error, hasErrors, type Diagnostic } from "../../diagnostics/diagnostic.js";
import { closest } from "../../diagnostics/suggest.js";
import { runDoctor } from "../../doctor/doctor.js";
import { loadModel } from "../../generate.js";
import type { Entity } from "../../model/types.js";
import { UsageError, type Report } from "../report.js";

export interface DoctorFlags {
  api?: string;
  electric?: string;
  /** `HEADER=VALUE`, as given. */
  auth: string[];
  entity: string[];
  write: boolean;
  json: boolean;
  /** For tests: deadlines in ms. */
  requestTimeoutMs?: number;
  changeTimeoutMs?: number;
}

export function parseAuth(values: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const value of values) {
    const at = value.indexOf("=");
    if (at <= 0) throw new UsageError(`--auth ${value}: expected HEADER=VALUE, e.g. --auth 'Authorization=Bearer abc'`, "doctor");
    headers[value.slice(0, at).trim()] = value.slice(at + 1);
  }
  return headers;
}

function validUrl(flag: string, value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http");
    return value;
  } catch {
    throw new UsageError(`${flag} ${value}: not an http(s) URL`, "doctor");
  }
}

function pick(entities: Entity[], names: string[], file: string): { chosen: Entity[]; diagnostics: Diagnostic[] } {
  if (!names.length) return { chosen: entities, diagnostics: [] };
  const chosen: Entity[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const name of names) {
    const entity = entities.find((e) => [e.names.original, e.names.camel, e.names.snake, e.names.camelPlural, e.names.snakePlural, e.table, e.path].includes(name));
    if (entity) {
      if (!chosen.includes(entity)) chosen.push(entity);
      continue;
    }
    const near = closest(name, entities.map((e) => e.names.original));
    diagnostics.push(error("doctor/unknown-entity", `--entity ${name}: no synced entity of that name.`, { file }, `${near ? `Did you mean ${near}? ` : ""}Synced entities: ${entities.map((e) => e.names.original).join(", ") || "none"} (see \`sync-patterns list\`).`));
  }
  return { chosen, diagnostics };
}

export async function runDoctorCommand(cwd: string, flags: DoctorFlags, report: Report): Promise<void> {
  const headers = parseAuth(flags.auth);
  if (flags.api !== undefined) validUrl("--api", flags.api);
  if (flags.electric !== undefined) validUrl("--electric", flags.electric);
  const config = await loadConfig(cwd);
  if (!config.ok) return void report.diagnostics.push(...config.diagnostics);
  const loaded = await loadModel(config.value, cwd);
  report.diagnostics.push(...loaded.diagnostics);
  if (!loaded.ok) return;
  const { model } = loaded.value;
  const file = config.value.file;
  const apiUrl = flags.api ?? config.value.apiUrl ?? model.serverUrl;
  const shapeUrl = flags.electric ?? config.value.electricUrl;
  const setup: Diagnostic[] = [];
  if (!apiUrl) setup.push(error("doctor/no-api-url", "No API URL: the config has no apiUrl and the spec no servers.", { file }, "Pass --api http://localhost:3000 or set apiUrl in the config."));
  if (!shapeUrl) setup.push(error("doctor/no-shape-url", "No shape URL: the config has no electricUrl.", { file }, "Pass --electric http://localhost:3000/v1/shape (Electric, or your shape proxy) or set electricUrl in the config."));
  if (!model.entities.length) setup.push(error("doctor/no-entities", "The spec has no synced entity: nothing to check.", { file }, "Add one with `sync-patterns add <name>` (or x-sync in the spec)."));
  const { chosen, diagnostics } = pick(model.entities, flags.entity, file);
  setup.push(...diagnostics);
  if (hasErrors(setup) || !apiUrl || !shapeUrl) return void emit(report, flags.json, [], setup);

  const result = await runDoctor({
    model,
    apiUrl,
    shapeUrl,
    headers,
    entities: chosen,
    write: flags.write,
    ...(flags.requestTimeoutMs !== undefined ? { requestTimeoutMs: flags.requestTimeoutMs } : {}),
    ...(flags.changeTimeoutMs !== undefined ? { changeTimeoutMs: flags.changeTimeoutMs } : {}),
  });
  if (!flags.json) {
    report.lines.push(`API ${apiUrl}, shapes ${shapeUrl}${flags.write ? ", with --write" : " (read-only; --write also checks writes)"}`);
    for (const e of result.entities) report.lines.push(`  ${e.entity} (table ${e.table}): ${e.passed.length ? `ok: ${e.passed.join(", ")}` : "nothing passed"}`);
  }
  emit(report, flags.json, result.entities, result.diagnostics);
}

function emit(report: Report, json: boolean, entities: unknown[], diagnostics: Diagnostic[]): void {
  if (!json) {
    report.diagnostics.push(...diagnostics);
    return;
  }
  // --json: one document on stdout (for CI); the exit code still says whether an error was found.
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  report.lines.push(JSON.stringify({ ok: errors === 0, errors, warnings: diagnostics.length - errors, entities, diagnostics }, null, 2));
  report.exitCode = errors ? 1 : 0;
}
