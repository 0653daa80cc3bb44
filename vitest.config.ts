import { defineConfig } from "vitest/config";

export default defineConfig({
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
