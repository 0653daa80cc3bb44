#!/usr/bin/env node
// The finance-tracker example, all of it, for a human:
//
//   node examples/finance-tracker/dev.mjs
//
// starts a throwaway PostgreSQL (packages/dev-postgres; wal_level=logical), the example backend
// (server/), the double of the Electric shape protocol (packages/shape-server) and the Vite
// dev server of the app (app/), prints the URL, and stops everything on Ctrl-C.
//
//   DATABASE_URL=postgres://…   use this PostgreSQL instead of a throwaway one (needs wal_level=logical,
//                               and a superuser for the double: it creates a publication FOR ALL TABLES)
//   ELECTRIC_URL=http://…/v1/shape   use a real Electric instead of the test double
//   PORT=3000, SHAPES_PORT=3001, APP_PORT=5173   preferred ports (a free one is taken when busy)
//   --no-seed                   start with an empty database
//
// The workspace packages (TypeScript) run through tsx; the browser keeps its local database in
// IndexedDB ("finance-tracker") across runs.
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register();
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const { startPostgres, freePort } = await import(path.join(repo, "packages/dev-postgres/src/index.ts"));
const { startShapeServer } = await import(path.join(repo, "packages/shape-server/src/index.ts"));
const { createServer: createBackend } = await import(path.join(here, "server/server.ts"));
const { createServer: createVite } = await import("vite");

const stops = [];
let stopping = false;
async function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log("\nStopping…");
  for (const stop of stops.reverse()) await stop().catch((e) => console.error(e.message));
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

/** `preferred` when nothing listens there, else a free port. */
async function port(preferred) {
  const free = await new Promise((resolve) => {
    const srv = net.createServer().once("error", () => resolve(false));
    srv.listen(preferred, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
  return free ? preferred : freePort();
}

try {
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    process.stdout.write("Starting PostgreSQL… ");
    const postgres = await startPostgres();
    stops.push(() => postgres.stop());
    databaseUrl = await postgres.createDatabase("finance_tracker");
    console.log(databaseUrl);
  }

  const backend = await createBackend({ databaseUrl, port: await port(Number(process.env.PORT ?? 3000)), host: "127.0.0.1", faults: true });
  stops.push(() => backend.close());
  console.log(`Backend (REST API):   ${backend.url}   (fault hooks: POST ${backend.url}/__faults)`);

  let electricUrl = process.env.ELECTRIC_URL;
  if (!electricUrl) {
    const shapes = await startShapeServer({ databaseUrl, port: await port(Number(process.env.SHAPES_PORT ?? 3001)) });
    stops.push(() => shapes.stop());
    electricUrl = shapes.shapeUrl;
  }
  console.log(`Electric shapes:      ${electricUrl}`);

  if (!process.argv.includes("--no-seed")) await seed(backend.url);

  // The app reads these (src/config.ts); query parameters still override them.
  process.env.VITE_API_URL = backend.url;
  process.env.VITE_ELECTRIC_URL = electricUrl;
  const vite = await createVite({
    configFile: path.join(here, "app/vite.config.ts"),
    server: { host: "127.0.0.1", port: await port(Number(process.env.APP_PORT ?? 5173)) },
  });
  await vite.listen();
  stops.push(() => vite.close());
  const appUrl = vite.resolvedUrls?.local[0] ?? `http://127.0.0.1:${vite.config.server.port}/`;
  console.log(`\n  Finance tracker:    ${appUrl}\n`);
  console.log("Try: stop the backend's network with the fault hooks, e.g.");
  console.log(`  curl -X POST ${backend.url}/__faults -d '{"failWrites": 100}'   # then DELETE to heal`);
  console.log("Ctrl-C stops everything.");
} catch (error) {
  console.error(error);
  await stopAll(1);
}

/** A few rows so that the app does not start empty (a fresh database each run). */
async function seed(apiUrl) {
  const existing = await (await fetch(`${apiUrl}/api/contacts`)).json();
  if (existing.length > 0) return;
  const post = async (p, body) => {
    const res = await fetch(`${apiUrl}${p}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`seeding ${p}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  await post("/api/contacts", { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com", company: "Analytical Engines" });
  await post("/api/contacts", { first_name: "Alan", last_name: "Turing", email: "alan@example.org", company: "Bletchley Park" });
  await post("/api/contacts", { first_name: "Katherine", last_name: "Johnson", company: "NASA" });
  const account = await post("/api/accounts", { name: "Main account", kind: "checking", currency: "EUR" });
  await post("/api/transactions", { account_id: account.id, amount: "2500.00", occurred_on: new Date().toISOString().slice(0, 10), description: "Salary" });
  await post("/api/transactions", { account_id: account.id, amount: "-42.50", occurred_on: new Date().toISOString().slice(0, 10), description: "Groceries" });
  console.log("Seeded 3 contacts, an account and 2 transactions.");
}
