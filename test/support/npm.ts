/**
 * npm for tests that install real packages from the registry: one download cache under the
 * repository's gitignored .cache/ (so CI, which keeps .cache/, and later runs install from it),
 * and TypeScript versions installed once into .cache/typescript/<version>.
 */
import fs from "node:fs";
import path from "node:path";
import { execa, type Options } from "execa";

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

export function npm(cwd: string, args: string[], options: Options = {}) {
  return execa("npm", args, { cwd, env: NPM_ENV, stdin: "ignore", ...options });
}

/**
 * A folder whose node_modules holds `typescript@<version>` (an exact version), installed on first
 * use. Installed into a temporary sibling and renamed into place, so that test files installing
 * the same version at once do not see each other's half-written folder.
 */
export async function installedTypescript(version: string): Promise<string> {
  const dir = path.join(REPO, ".cache/typescript", version);
  if (fs.existsSync(path.join(dir, "node_modules/typescript/package.json"))) return dir;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  fs.writeFileSync(path.join(tmp, "package.json"), '{ "private": true }\n');
  await npm(tmp, ["install", "--no-package-lock", `typescript@${version}`]);
  try {
    fs.renameSync(tmp, dir);
  } catch {
    fs.rmSync(tmp, { recursive: true, force: true }); // another test file was first
  }
  return dir;
}
