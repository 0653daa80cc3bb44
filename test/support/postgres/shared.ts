/**
 * One PostgreSQL server per test file.
 *
 * Vitest runs each test file in its own module graph (pool "forks", isolated), so module state
 * here is per file. `usePostgres()` (call it at the top level of a test file, as often as you
 * like) starts the server in a beforeAll on first use and stops it in the afterAll of the last
 * user; the returned function gives the running server inside tests and hooks.
 *
 * `sharedPostgres()` is the same server without hooks, for support code that runs inside hooks
 * (it is stopped by the exit handlers of server.ts if nobody stops it).
 */
import { afterAll, beforeAll } from "vitest";
import { startPostgres, type PostgresServer } from "../../../packages/dev-postgres/src/index.js";

let shared: Promise<PostgresServer> | undefined;
let current: PostgresServer | undefined;
let users = 0;

export function sharedPostgres(): Promise<PostgresServer> {
  shared ??= startPostgres().then((s) => (current = s));
  return shared;
}

export function usePostgres(): () => PostgresServer {
  beforeAll(async () => {
    users++;
    await sharedPostgres();
  });
  afterAll(async () => {
    users--;
    if (users === 0 && shared) {
      const s = await shared;
      shared = undefined;
      current = undefined;
      await s.stop();
    }
  });
  return () => {
    if (!current) throw new Error("usePostgres(): the server is only available inside tests and hooks");
    return current;
  };
}
