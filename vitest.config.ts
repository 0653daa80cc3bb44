import path from "node:path";
import { defineConfig, type Plugin } from "vitest/config";

const RUNTIME = path.resolve(import.meta.dirname, "templates/runtime");

/**
 * test/runtime imports templates/runtime directly. Its files import each other as they are laid
 * out in a generated client (`../db/local-db.js` from `sync/`, `../api/error-text.js`): resolve
 * those to the runtime files next to them (the same mapping as src/plan/artifacts.ts).
 */
function runtimeLayout(): Plugin {
  const renamed: Record<string, string> = { worker: "db-worker", "pglite-collection": "collection" };
  return {
    name: "runtime-layout",
    enforce: "pre",
    resolveId(source, importer) {
      if (!importer || !path.resolve(importer).startsWith(RUNTIME + path.sep)) return null;
      const m = /^\.\.\/(?:api|db|sync|collections)\/([\w-]+)\.js$/.exec(source);
      return m ? path.join(RUNTIME, `${renamed[m[1]!] ?? m[1]}.ts`) : null;
    },
  };
}

export default defineConfig({
  plugins: [runtimeLayout()],
  test: {
    include: ["test/**/*.test.ts"],
    // The slow suite (real GitHub/Stripe specs, npm pack) runs when SLOW=1 or in CI.
    exclude: process.env.SLOW || process.env.CI ? [] : ["test/slow/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
  },
});
