export { startPostgres, freePort, type PostgresServer, type StartPostgresOptions } from "./server.js";
export { usePostgres, sharedPostgres } from "./shared.js";
export { findPgBinaries, pgRunAs, type PgBinaries, type RunAs } from "./binaries.js";
