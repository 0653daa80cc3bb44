/** `createServer`: apply the schema, build the app from the spec, listen on loopback. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { SpecPermissions, SpecShapes } from "../../../src/server/index.js";
import { createApp } from "./app.js";
import { createAuth, prepareAuth } from "./auth.js";
import { applySchema, createPool, type Db } from "./db.js";
import { Faults } from "./faults.js";
import { DEFAULT_SPEC_PATH, loadSpec } from "./spec.js";

export interface ServerOptions {
  /** postgres://… of a database the server may create its tables in. */
  databaseUrl: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Loopback only: 127.0.0.1 (default), ::1 or localhost. */
  host?: string;
  /** Enables the fault hooks: `server.faults` and the /__faults endpoint. */
  faults?: boolean;
  /** The OpenAPI document to serve; defaults to examples/finance-tracker/openapi.yaml. */
  specPath?: string;
  /** Electric's shape endpoint; the server proxies it at `/v1/shape`, scoped to each user's household. */
  electricUrl?: string;
  /** The generated `server/shapes.json`; defaults to the example app's. */
  shapesJson?: string;
  /** The generated `server/permissions.json` (the write rules of x-rbac); defaults to the example app's. */
  permissionsJson?: string;
  /**
   * Requests WITHOUT an Authorization header act as this user (an email). For the protocol tests
   * that predate sign-in (test/e2e, test/server); main.ts and dev.mjs never set it. A request
   * with a bad token is still a 401.
   */
  defaultUser?: string;
  log?: (message: string) => void;
}

export interface RunningServer {
  /** http://127.0.0.1:<port>, without a trailing slash. */
  url: string;
  /** The fault hooks, or null unless created with `faults: true`. */
  faults: Faults | null;
  /** Stops accepting requests, drops open connections and closes the pool. */
  close(): Promise<void>;
}

const DEFAULT_SHAPES_JSON = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../app/src/generated/server/shapes.json");
const DEFAULT_PERMISSIONS_JSON = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../app/src/generated/server/permissions.json");

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export async function createServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  if (!LOOPBACK.has(host)) throw new Error(`host must be a loopback address, got ${host}`);
  const log = options.log ?? ((message: string) => console.error(`[finance-tracker] ${message}`));
  const spec = loadSpec(options.specPath ?? DEFAULT_SPEC_PATH);
  const db = createPool(options.databaseUrl);
  db.on("error", (err) => log(`idle client error: ${err.message}`));
  try {
    await applySchema(db);
  } catch (err) {
    await db.end();
    throw err;
  }
  const faults = options.faults ? new Faults() : null;
  let secret: Buffer;
  try {
    secret = await prepareAuth(db);
  } catch (err) {
    await db.end();
    throw err;
  }
  const auth = createAuth(db, secret, options.defaultUser);
  const shapes = JSON.parse(fs.readFileSync(options.shapesJson ?? DEFAULT_SHAPES_JSON, "utf8")) as SpecShapes;
  const permissions = JSON.parse(fs.readFileSync(options.permissionsJson ?? DEFAULT_PERMISSIONS_JSON, "utf8")) as SpecPermissions;
  const app = createApp({ spec, db, faults, auth, shapes, permissions, log, ...(options.electricUrl ? { electricUrl: options.electricUrl } : {}) });
  const server = http.createServer(getRequestListener(app.fetch));
  await listen(server, options.port ?? 0, host);
  const { port } = server.address() as AddressInfo;
  const urlHost = host === "::1" ? "[::1]" : host;
  return {
    url: `http://${urlHost}:${port}`,
    faults,
    close: () => close(server, db),
  };
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

async function close(server: http.Server, db: Db): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  await db.end();
}
