export { startPostgres, freePort, findPgBinaries, pgRunAs, type PostgresServer, type StartPostgresOptions, type PgBinaries, type RunAs } from "../../../packages/dev-postgres/src/index.js";
export { usePostgres, sharedPostgres } from "./shared.js";
