/**
 * @sync-patterns/dev-postgres: a throwaway PostgreSQL server (initdb in a temp folder,
 * `wal_level=logical`, 127.0.0.1, a free port, gone when the process ends) for tests, benches
 * and the example's dev script. See ../README.md.
 */
export { startPostgres, freePort, type PostgresServer, type StartPostgresOptions } from "./server.js";
export { findPgBinaries, pgRunAs, type PgBinaries, type RunAs } from "./binaries.js";
