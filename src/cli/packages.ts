/**
 * How the CLI tells the user which npm packages the generated client needs: one wording for
 * `init` (always) and for `add`/`generate` (when a generation needs packages the previous one
 * did not, e.g. the first synced entity brings in the local-first stack). In the order of
 * clientDependencies (a fixed order: the base client, then the local-first stack), so the
 * output never depends on anything but the model.
 */

/** `name@range` for each package. */
export function packageSpecs(deps: Record<string, string>): string[] {
  return Object.entries(deps).map(([name, range]) => `${name}@${range}`);
}

/** Packages of `now` that `before` did not have (all of them when nothing is known about before). */
export function addedPackages(before: Record<string, string> | undefined, now: Record<string, string>): string[] {
  return Object.keys(now).filter((name) => before?.[name] === undefined);
}

/** The lines printed about the packages; `added` names the ones new since the previous generation. */
export function packageLines(deps: Record<string, string>, added?: readonly string[]): string[] {
  const head = added?.length ? `The generated client now also needs ${added.join(", ")}; all the packages it needs:` : "The generated client needs these packages:";
  return [head, `  npm install ${packageSpecs(deps).join(" ")}`, "(or run `npx sync-patterns init --install` to install them)"];
}
