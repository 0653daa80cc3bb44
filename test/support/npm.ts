/**
 * npm for tests that install real packages from the registry: one download cache under the
 * repository's gitignored .cache/ (so CI, which keeps .cache/, and later runs install from it),
 * and exact package versions (TypeScript 5.9, 7, …) installed once into .cache/packages.
 */
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";

const REPO = path.resolve(import.meta.dirname, "../..");
export const NPM_CACHE = path.join(REPO, ".cache/npm");

/** The environment of every npm call of the tests: the shared cache, no audit, fund or update notices. */
export const NPM_ENV = {
  npm_config_cache: NPM_CACHE,
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
  npm_config_loglevel: "error",
  npm_config_prefer_offline: "true",
};

export interface NpmResult {
  exitCode: number;
  stdout: string;
  /** stdout and stderr interleaved, for failure messages. */
  output: string;
}

/** Runs npm with the shared cache; never throws on a non-zero exit. */
export async function npm(cwd: string, args: string[], env: Record<string, string> = {}): Promise<NpmResult> {
  const r = await execa("npm", args, { cwd, stdin: "ignore", reject: false, all: true, env: { ...NPM_ENV, ...env } });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, output: r.all };
}

/**
 * A folder whose node_modules holds `<name>@<version>` (an exact version), installed on first use
 * into .cache/packages. Installed into a temporary sibling and renamed into place, so that test
 * files installing the same package at once do not see each other's half-written folder.
 */
export async function installedPackage(name: string, version: string): Promise<string> {
  const dir = path.join(REPO, ".cache/packages", `${name.replace("/", "+")}@${version}`);
  if (fs.existsSync(path.join(dir, "node_modules", name, "package.json"))) return dir;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  fs.writeFileSync(path.join(tmp, "package.json"), '{ "private": true }\n');
  const r = await npm(tmp, ["install", "--no-package-lock", `${name}@${version}`]);
  if (r.exitCode !== 0) throw new Error(`npm install ${name}@${version} failed:\n${r.output}`);
  try {
    fs.renameSync(tmp, dir);
  } catch {
    fs.rmSync(tmp, { recursive: true, force: true }); // another test file was first
  }
  return dir;
}
