/** `sync-patterns eject templates [name…] [--force]`: copy built-in templates into the project. */
import path from "node:path";
import { loadConfig, DEFAULTS } from "../../config/config.js";
import { ejectTemplates } from "../../eject/eject.js";
import type { Report } from "../report.js";

export async function runEject(cwd: string, names: string[], force: boolean, report: Report): Promise<void> {
  const config = await loadConfig(cwd);
  // Eject works before init too: the default folder is used then.
  const templates = config.ok ? config.value.templates : DEFAULTS.templates;
  const dir = path.resolve(cwd, templates);
  const result = await ejectTemplates(dir, names, force);
  report.diagnostics.push(...result.diagnostics);
  for (const name of result.copied) report.lines.push(`  ejected  ${path.posix.join(templates, name)}`);
  if (result.copied.length) {
    report.lines.push(`Ejected ${result.copied.length} template${result.copied.length === 1 ? "" : "s"} to ${templates}. Edit them; \`npx sync-patterns generate\` uses your copies.`);
  }
}
