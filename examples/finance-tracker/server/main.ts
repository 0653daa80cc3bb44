/**
 * CLI: `DATABASE_URL=postgres://… PORT=3000 node --import tsx examples/finance-tracker/server/main.ts`
 * (or `npx tsx examples/finance-tracker/server/main.ts`). FAULTS=1 enables the /__faults endpoint.
 * ELECTRIC_URL=http://…/v1/shape: Electric's shape endpoint, proxied at /v1/shape per household.
 */
import { createServer } from "./server.js";

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error("DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres).");
  process.exit(2);
}
const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got ${process.env.PORT}.`);
  process.exit(2);
}

const electricUrl = process.env.ELECTRIC_URL;
const server = await createServer({ databaseUrl, port, faults: process.env.FAULTS === "1", ...(electricUrl ? { electricUrl } : {}) });
console.log(`finance-tracker API listening on ${server.url}${server.faults ? " (fault hooks on: /__faults)" : ""}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
