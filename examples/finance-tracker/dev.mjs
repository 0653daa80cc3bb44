#!/usr/bin/env node
// The finance-tracker example, all of it, for a human:
//
//   node examples/finance-tracker/dev.mjs
//
// starts a throwaway PostgreSQL (packages/dev-postgres; wal_level=logical), the double of the
// Electric shape protocol (packages/shape-server), the example backend (server/: REST API,
// sign-in, and the shape proxy at /v1/shape that scopes shapes to the user's household) and the
// Vite dev server of the app (app/), prints the URL, and stops everything on Ctrl-C.
//
//   DATABASE_URL=postgres://…   use this PostgreSQL instead of a throwaway one (needs wal_level=logical,
//                               and a superuser for the double: it creates a publication FOR ALL TABLES)
//   ELECTRIC_URL=http://…/v1/shape   use a real Electric instead of the test double
//   PORT=3000, SHAPES_PORT=3001, APP_PORT=5173   preferred ports (a free one is taken when busy)
//   --no-seed                   start with an empty database
//
// The workspace packages (TypeScript) run through tsx; the browser keeps each user's local
// database in IndexedDB ("finance-tracker@<user id>") across runs.
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

  let electricUrl = process.env.ELECTRIC_URL;
  if (!electricUrl) {
    const shapes = await startShapeServer({ databaseUrl, port: await port(Number(process.env.SHAPES_PORT ?? 3001)) });
    stops.push(() => shapes.stop());
    electricUrl = shapes.shapeUrl;
  }
  console.log(`Electric shapes:      ${electricUrl}   (the app reads them through the backend's /v1/shape)`);

  const backend = await createBackend({ databaseUrl, electricUrl, port: await port(Number(process.env.PORT ?? 3000)), host: "127.0.0.1", faults: true });
  stops.push(() => backend.close());
  console.log(`Backend (REST API):   ${backend.url}   (fault hooks: POST ${backend.url}/__faults)`);

  if (!process.argv.includes("--no-seed")) await seed(backend.url);

  // The app reads these (src/config.ts); query parameters still override them.
  process.env.VITE_API_URL = backend.url;
  const vite = await createVite({
    configFile: path.join(here, "app/vite.config.ts"),
    server: { host: "127.0.0.1", port: await port(Number(process.env.APP_PORT ?? 5173)) },
  });
  await vite.listen();
  stops.push(() => vite.close());
  const appUrl = vite.resolvedUrls?.local[0] ?? `http://127.0.0.1:${vite.config.server.port}/`;
  console.log(`\n  Finance tracker:    ${appUrl}\n`);
  console.log("Sign in as ada@example.com, charles@example.com, grace@example.com (Lovelace household)");
  console.log("or alan@example.com (Turing household); the password is \"demo\".");
  console.log("Try: stop the backend's network with the fault hooks, e.g.");
  console.log(`  curl -X POST ${backend.url}/__faults -d '{"failWrites": 100}'   # then DELETE to heal`);
  console.log("Ctrl-C stops everything.");
} catch (error) {
  console.error(error);
  await stopAll(1);
}

/** A few rows per household so that the app does not start empty (a fresh database each run). */
async function seed(apiUrl) {
  const login = async (email) => {
    const res = await fetch(`${apiUrl}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: "demo" }) });
    if (!res.ok) throw new Error(`signing in ${email}: ${res.status} ${await res.text()}`);
    return (await res.json()).token;
  };
  const as = (token) => async (p, body) => {
    const res = await fetch(`${apiUrl}${p}`, { method: body ? "POST" : "GET", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (!res.ok) throw new Error(`seeding ${p}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const today = new Date().toISOString().slice(0, 10);
  const ada = as(await login("ada@example.com"));
  if ((await ada("/api/contacts")).length === 0) {
    await ada("/api/contacts", { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com", company: "Analytical Engines" });
    await ada("/api/contacts", { first_name: "Charles", last_name: "Babbage", email: "charles@example.com", company: "Analytical Engines" });
    const account = await ada("/api/accounts", { name: "Main account", kind: "checking", currency: "GBP" });
    await ada("/api/transactions", { account_id: account.id, amount: "2500.00", occurred_on: today, description: "Salary" });
    await ada("/api/transactions", { account_id: account.id, amount: "-42.50", occurred_on: today, description: "Groceries" });
  }
  const alan = as(await login("alan@example.com"));
  if ((await alan("/api/contacts")).length === 0) {
    await alan("/api/contacts", { first_name: "Alan", last_name: "Turing", email: "alan@example.com", company: "Bletchley Park" });
    await alan("/api/contacts", { first_name: "Katherine", last_name: "Johnson", company: "NASA" });
    const account = await alan("/api/accounts", { name: "Savings", kind: "savings", currency: "GBP" });
    await alan("/api/transactions", { account_id: account.id, amount: "100.00", occurred_on: today, description: "Deposit" });
  }
  console.log("Seeded two households: Lovelace (ada, charles, grace) and Turing (alan).");
}
