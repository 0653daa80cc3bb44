/**
 * @sync-patterns/shape-server: a double of the Electric sync service (Electric's HTTP shape
 * protocol served from Postgres logical replication through `pgoutput`), for tests, benches and
 * the example's dev script. See ../README.md. Not for production.
 */
export { parseTable } from "./params.js";
export { startShapeServer, type ShapeServer, type ShapeServerOptions, type ShapeInfo, type RequestRecord } from "./server.js";
export * as protocol from "./protocol.js";
export { TransactionAssembler, parseLsn, formatLsn, type DecodedTransaction, type DecodedChange } from "./changes.js";
export { visibleInSnapshot, parseSnapshot, schemaColumn } from "./postgres.js";
