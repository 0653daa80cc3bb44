/**
 * The conformance checks of conformance.ts against REAL Electric, when one is running:
 *
 *   ELECTRIC_URL=http://localhost:3000 DATABASE_URL=postgres://postgres:password@localhost:54321/electric \
 *     npx vitest run test/electric/real-electric.test.ts
 *
 * (`ELECTRIC_SECRET` is sent as `secret` when set.) The same assertions run against the test
 * double in shape-server.test.ts; a check that passes there and fails here is a bug in the double.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, it } from "vitest";
import { checks, type Target } from "./conformance.js";

const ELECTRIC_URL = process.env.ELECTRIC_URL;
const DATABASE_URL = process.env.DATABASE_URL;

describe.skipIf(!ELECTRIC_URL || !DATABASE_URL)("conformance of real Electric (ELECTRIC_URL)", () => {
  let db: pg.Pool;
  let target: Target;

  beforeAll(() => {
    db = new pg.Pool({ connectionString: DATABASE_URL, options: "-c TimeZone=America/New_York", max: 6 });
    db.on("error", () => undefined);
    const base = (ELECTRIC_URL as string).replace(/\/+$/, "");
    target = {
      shapeUrl: base.endsWith("/v1/shape") ? base : `${base}/v1/shape`,
      db,
      timeoutMs: 30_000,
      ...(process.env.ELECTRIC_SECRET ? { params: { secret: process.env.ELECTRIC_SECRET } } : {}),
    };
  });

  afterAll(async () => {
    await db?.end();
  });

  for (const [name, check] of Object.entries(checks)) it(name, () => check(target), 90_000);
});
