/**
 * The same end-to-end suite against REAL Electric, when one is running (docs/electric.md):
 *
 *   ELECTRIC_URL=http://localhost:3000 DATABASE_URL=postgres://postgres:password@localhost:54321/electric \
 *     npx vitest run test/e2e/real-electric.test.ts
 *
 * Skipped otherwise. The backend is started here against DATABASE_URL (it creates its tables).
 */
import { describe } from "vitest";
import { syncSuite } from "./sync-suite.js";

const ELECTRIC_URL = process.env.ELECTRIC_URL;
const DATABASE_URL = process.env.DATABASE_URL;

if (ELECTRIC_URL && DATABASE_URL) {
  syncSuite("sync engine against real Electric (ELECTRIC_URL)", async () => ({
    databaseUrl: DATABASE_URL,
    shapeUrl: ELECTRIC_URL.replace(/\/+$/, "").replace(/(\/v1\/shape)?$/, "/v1/shape"),
    stop: async () => {},
  }));
} else {
  describe.skip("sync engine against real Electric (set ELECTRIC_URL and DATABASE_URL)", () => {});
}
