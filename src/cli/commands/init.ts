/**
 * `sync-patterns init`: write sync-patterns.config.yaml, run the first generation, print (or
 * install) the npm packages the generated client needs. The config is written only after the
 * spec loaded and the client generated, so a failure leaves the project as it was.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { error } from "../../diagnostics/diagnostic.js";
import { CONFIG_FILE, DEFAULTS, parseConfig, renderConfig } from "../../config/config.js";
import { clientDependencies } from "../../plan/dependencies.js";
import type { Report } from "../report.js";
import { runGenerate } from "./generate.js";

export interface InitAnswers {
  spec: string;
  out?: string;
  apiUrl?: string;
  electricUrl?: string;
  force?: boolean;
  install?: boolean;
}

/** Spec files `init` looks for when --spec is not given. */
export const SPEC_CANDIDATES = ["openapi.yaml", "openapi.yml", "openapi.json", "swagger.yaml", "swagger.json"];

export async function findSpec(cwd: string): Promise<string | undefined> {
  for (const name of SPEC_CANDIDATES) {
    if (await fs.stat(path.join(cwd, name)).then(() => true, () => false)) return name;
  }
  return undefined;
}

export async function runInit(cwd: string, answers: InitAnswers, report: Report): Promise<void> {
  const configPath = path.join(cwd, CONFIG_FILE);
  if (!answers.force && (await fs.stat(configPath).then(() => true, () => false))) {
    report.diagnostics.push(error("init/config-exists", `${CONFIG_FILE} already exists.`, { file: CONFIG_FILE }, "Run `npx sync-patterns generate` to regenerate, or `init --force` to replace the config."));
    return;
  }
  const text = renderConfig({
    spec: answers.spec,
    output: answers.out ?? DEFAULTS.output,
    ...(answers.apiUrl ? { apiUrl: answers.apiUrl } : {}),
    ...(answers.electricUrl ? { electricUrl: answers.electricUrl } : {}),
  });
  const config = parseConfig(text, cwd, CONFIG_FILE);
  if (!config.ok) {
    report.diagnostics.push(...config.diagnostics.map((d) => ({ ...d, hint: d.hint ?? "Check the flags given to init." })));
    return;
  }
  const model = await runGenerate(cwd, {}, report, config.value);
  if (!model || report.diagnostics.some((d) => d.severity === "error")) return;
  await fs.writeFile(configPath, text);
  report.lines.push(`Wrote ${CONFIG_FILE}.`);

  const deps = clientDependencies(model);
  const specs = Object.entries(deps).map(([name, range]) => `${name}@${range}`);
  if (answers.install) {
    const [bin, args] = await installCommand(cwd, specs);
    report.lines.push(`Installing: ${bin} ${args.join(" ")}`);
    const { execa } = await import("execa"); // loaded only when needed: it is slow to import
    const result = await execa(bin, args, { cwd, reject: false, stdio: "inherit" });
    if (result.exitCode !== 0) {
      report.diagnostics.push(error("init/install-failed", `${bin} exited with ${result.exitCode}.`, undefined, `Install the packages yourself: ${bin} ${args.join(" ")}`));
    }
  } else {
    report.lines.push("The generated client needs these packages:", `  npm install ${specs.join(" ")}`, "(or run `npx sync-patterns init --install` to install them)");
  }
}

async function installCommand(cwd: string, specs: string[]): Promise<[string, string[]]> {
  const has = (f: string): Promise<boolean> => fs.stat(path.join(cwd, f)).then(() => true, () => false);
  if (await has("pnpm-lock.yaml")) return ["pnpm", ["add", ...specs]];
  if (await has("yarn.lock")) return ["yarn", ["add", ...specs]];
  return ["npm", ["install", ...specs]];
}
