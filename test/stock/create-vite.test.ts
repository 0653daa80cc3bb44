/**
 * As a new user would, in the app the ecosystem's starter gives them: scaffold the current
 * `create-vite` react-ts template from its npm package, install this package's tarball and
 * exactly the packages `init` prints, generate the finance-tracker client, use it from a
 * component, and run the template's own `npm run build` (`tsc -b && vite build`, with the
 * template's tsconfig: erasableSyntaxOnly, verbatimModuleSyntax, noUnused*, …) under the
 * TypeScript the template ships (7) and under TypeScript 5.9.
 *
 * Needs the npm registry (downloads are cached in .cache/npm) and a built dist/ (`npm test`
 * builds first; alone: `npm run build && npx vitest run test/stock`).
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { npm } from "../support/npm.js";
import { EXAMPLE_SPEC, REPO, tempProject } from "../support/project.js";

/** A component of the app that uses the generated client: the list of accounts, live. */
const ACCOUNTS_TSX = `import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { SyncProvider, useAccounts, useSyncStatus } from "./generated";

const queryClient = new QueryClient();

function AccountList() {
  const { data } = useAccounts((q) => q.orderBy(({ account }) => account.name));
  const { queued } = useSyncStatus();
  return (
    <section>
      <p>{queued} changes waiting for the server</p>
      <ul>
        {data.map((a) => (
          <li key={a.id}>
            {a.name}: {a.balance} {a.currency}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function Accounts() {
  return (
    <QueryClientProvider client={queryClient}>
      <SyncProvider dataDir="idb://finance" fallback={<p>Opening the local database…</p>}>
        <AccountList />
      </SyncProvider>
    </QueryClientProvider>
  );
}
`;

/** This package's tarball, packed once per file from the built dist/ (no scripts run). */
let tarball: Promise<string> | undefined;
function packed(): Promise<string> {
  tarball ??= (async () => {
    if (!fs.existsSync(path.join(REPO, "dist/src/cli/bin.js"))) throw new Error("dist/ is missing: run `npm run build` first");
    const dir = tempProject();
    const pack = await npm(REPO, ["pack", "--ignore-scripts", "--silent", "--pack-destination", dir]);
    if (pack.exitCode !== 0) throw new Error(pack.output);
    return path.join(dir, pack.stdout.trim().split("\n").pop()!);
  })();
  return tarball;
}

/** The `npm install …` line init printed, as arguments. */
function printedPackages(stdout: string): string[] {
  const printed = /^\s*npm install (.+)$/m.exec(stdout);
  expect(printed, stdout).not.toBeNull();
  return printed![1]!.trim().split(/\s+/);
}

describe("a stock create-vite react-ts app", () => {
  it("builds with the generated client: npm run build passes under TypeScript 7 and 5.9", async () => {
    const root = tempProject();
    const app = path.join(root, "app");

    // The starter, from its npm package, non-interactive; `latest` asked of the registry, not the cache.
    const scaffold = await npm(root, ["exec", "--yes", "--", "create-vite@latest", "app", "--template", "react-ts", "--no-interactive", "--no-immediate"], { CI: "true", npm_config_prefer_offline: "false" });
    expect(scaffold.exitCode, scaffold.output).toBe(0);
    const template = JSON.parse(fs.readFileSync(path.join(app, "package.json"), "utf8")) as { scripts: Record<string, string>; devDependencies: Record<string, string> };
    expect(template.scripts.build).toMatch(/tsc -b/);

    // This package as published; no lifecycle script of ours runs (or asks to be allowed) on the user's install.
    const install = await npm(app, ["install", await packed()], { npm_config_loglevel: "warn" });
    expect(install.exitCode, install.output).toBe(0);
    expect(install.output).not.toMatch(/sync-patterns@\S+ \((preinstall|install|postinstall|prepare):/);

    fs.copyFileSync(EXAMPLE_SPEC, path.join(app, "openapi.yaml"));
    const init = await npm(app, ["exec", "--no", "--", "sync-patterns", "init", "--yes", "--spec", "openapi.yaml"]);
    expect(init.exitCode, init.output).toBe(0);
    // Exactly what init printed, as a user would paste it.
    const deps = await npm(app, ["install", ...printedPackages(init.stdout)]);
    expect(deps.exitCode, deps.output).toBe(0);

    fs.writeFileSync(path.join(app, "src/Accounts.tsx"), ACCOUNTS_TSX);
    const mainFile = path.join(app, "src/main.tsx");
    const main = fs.readFileSync(mainFile, "utf8");
    expect(main).toContain("<App />");
    fs.writeFileSync(mainFile, `import { Accounts } from "./Accounts.tsx";\n${main.replace("<App />", "<App />\n    <Accounts />")}`);

    const tscVersion = async () => (await npm(app, ["exec", "--no", "--", "tsc", "--version"])).stdout.trim();
    // The template's own TypeScript (7 today).
    expect(template.devDependencies.typescript).toMatch(/^[~^]?7\./);
    expect(await tscVersion()).toMatch(/Version 7\./);
    const build7 = await npm(app, ["run", "build"]);
    expect(build7.exitCode, build7.output).toBe(0);
    expect(fs.readdirSync(path.join(app, "dist/assets")).some((f) => f.endsWith(".js"))).toBe(true);

    // The same app on TypeScript 5.9.
    const ts59 = await npm(app, ["install", "--save-dev", "typescript@~5.9.3"]);
    expect(ts59.exitCode, ts59.output).toBe(0);
    expect(await tscVersion()).toMatch(/Version 5\.9\./);
    fs.rmSync(path.join(app, "node_modules/.tmp"), { recursive: true, force: true }); // tsc -b build info of the other version
    const build59 = await npm(app, ["run", "build"]);
    expect(build59.exitCode, build59.output).toBe(0);
  }, 600_000);

  it("without a starter: the packages init prints (and TypeScript) are all strict tsc needs", async () => {
    const app = tempProject({ "package.json": '{ "name": "bare-app", "private": true, "type": "module" }\n' });
    fs.copyFileSync(EXAMPLE_SPEC, path.join(app, "openapi.yaml"));
    const install = await npm(app, ["install", await packed(), "typescript@~5.9.3"]);
    expect(install.exitCode, install.output).toBe(0);
    const init = await npm(app, ["exec", "--no", "--", "sync-patterns", "init", "--yes"]);
    expect(init.exitCode, init.output).toBe(0);
    const deps = await npm(app, ["install", ...printedPackages(init.stdout)]);
    expect(deps.exitCode, deps.output).toBe(0);
    const check = await npm(app, ["exec", "--no", "--", "sync-patterns", "templates", "check"]);
    expect(check.exitCode, check.output).toBe(0);
    expect(check.stdout).toMatch(/type-checked \d+ TypeScript files with typescript@5\.9\.\d+ in strict mode: no errors\./);
  }, 300_000);
});
