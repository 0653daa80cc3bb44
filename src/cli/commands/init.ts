/**
 * `sync-patterns init`: write sync-patterns.config.yaml, run the first generation, print (or
 * install) the npm packages the generated client needs. The config is written only after the
 * spec loaded and the client generated, so a failure leaves the project as it was.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { error } from "../../diagnostics/diagnostic.js";
import { CONFIG_FILE, DEFAULTS, parseConfig, reinitConfig, renderConfig } from "../../config/config.js";
import { clientDependencies } from "../../plan/dependencies.js";
import { packageLines, packageSpecs } from "../packages.js";
import type { Report } from "../report.js";
import { runGenerate } from "./generate.js";

export interface InitAnswers {
  spec: string;
  out?: string;
  apiUrl?: string;
  electricUrl?: string;
  force?: boolean;
  install?: boolean;
  /** Whether the user gave settings for the config (--spec, --out, --api-url, --electric-url). */
  configFlags?: boolean;
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
  const previous = await fs.readFile(configPath, "utf8").catch(() => undefined);
  if (previous !== undefined && !answers.force) {
    // `init --install` (what init itself suggests) on an existing config: regenerate from it and install.
    if (answers.install && !answers.configFlags) return installFromConfig(cwd, report);
    report.diagnostics.push(
      error("init/config-exists", `${CONFIG_FILE} already exists.`, { file: CONFIG_FILE }, "Run `npx sync-patterns generate` to regenerate (`init --install` to also install the packages), or `init --force` to rewrite the config from the flags."),
    );
    return;
  }
  const settings = {
    spec: answers.spec,
    output: answers.out ?? DEFAULTS.output,
    ...(answers.apiUrl ? { apiUrl: answers.apiUrl } : {}),
    ...(answers.electricUrl ? { electricUrl: answers.electricUrl } : {}),
  };
  // --force rewrites init's own settings and keeps what `add` and the user wrote (entities, artifacts, …).
  const rewritten = previous === undefined ? undefined : reinitConfig(previous, settings);
  const text = rewritten?.text ?? renderConfig(settings);
  const config = parseConfig(text, cwd, CONFIG_FILE);
  if (!config.ok) {
    report.diagnostics.push(...config.diagnostics.map((d) => ({ ...d, hint: d.hint ?? (rewritten?.kept.length ? `Fix it in ${CONFIG_FILE} (kept from the previous config), or check the flags given to init.` : "Check the flags given to init.") })));
    return;
  }
  const model = await runGenerate(cwd, { packages: false }, report, config.value);
  if (!model || report.diagnostics.some((d) => d.severity === "error")) return;
  await fs.writeFile(configPath, text);
  report.lines.push(rewritten ? `Rewrote ${CONFIG_FILE}${rewritten.kept.length ? `, keeping ${rewritten.kept.map((k) => `\`${k}\``).join(", ")}` : ""}.` : `Wrote ${CONFIG_FILE}.`);
  await printOrInstall(cwd, clientDependencies(model), answers.install === true, report);
}

/** `init --install` with an existing config: regenerate from it, then install what the client needs. */
async function installFromConfig(cwd: string, report: Report): Promise<void> {
  const model = await runGenerate(cwd, { packages: false }, report);
  if (!model || report.diagnostics.some((d) => d.severity === "error")) return;
  await printOrInstall(cwd, clientDependencies(model), true, report);
}

async function printOrInstall(cwd: string, deps: Record<string, string>, install: boolean, report: Report): Promise<void> {
  if (!install) {
    report.lines.push(...packageLines(deps));
    return;
  }
  const [bin, args] = await installCommand(cwd, packageSpecs(deps));
  report.lines.push(`Installing: ${bin} ${args.join(" ")}`);
  const { execa } = await import("execa"); // loaded only when needed: it is slow to import
  const result = await execa(bin, args, { cwd, reject: false, stdio: "inherit" });
  if (result.exitCode !== 0) {
    report.diagnostics.push(error("init/install-failed", `${bin} exited with ${result.exitCode}.`, undefined, `Install the packages yourself: ${bin} ${args.join(" ")}`));
  }
}

async function installCommand(cwd: string, specs: string[]): Promise<[string, string[]]> {
  const has = (f: string): Promise<boolean> => fs.stat(path.join(cwd, f)).then(() => true, () => false);
  if (await has("pnpm-lock.yaml")) return ["pnpm", ["add", ...specs]];
  if (await has("yarn.lock")) return ["yarn", ["add", ...specs]];
  return ["npm", ["install", ...specs]];
}
