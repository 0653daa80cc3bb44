/**
 * The whole sync loop against real PostgreSQL (logical replication), the finance-tracker
 * backend and the Electric shape protocol served from Postgres by the test double
 * (packages/shape-server/README.md).
 */
import { usePostgres } from "../support/postgres/index.js";
import { startShapeServer } from "../../packages/shape-server/src/index.js";
import { syncSuite } from "./sync-suite.js";

const postgres = usePostgres();

syncSuite("sync engine against Postgres + the shape-protocol test double", async () => {
  const databaseUrl = await postgres().createDatabase();
  const shapes = await startShapeServer({ databaseUrl, longPollTimeoutMs: 2000 });
  return { databaseUrl, shapeUrl: shapes.shapeUrl, rotate: (table) => void shapes.rotate(table), stop: () => shapes.stop() };
});
