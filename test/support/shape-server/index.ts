/**
 * A test double of the Electric sync service (Electric's HTTP shape protocol served from real
 * Postgres logical replication). See docs/shape-server.md. Not for production.
 */
export { parseTable } from "./params.js";
export { startShapeServer, type ShapeServer, type ShapeServerOptions, type ShapeInfo, type RequestRecord } from "./server.js";
export { spawnShapeServer, type ShapeServerProcess } from "./process.js";
export * as protocol from "./protocol.js";
export { parseLine, toTransactions, type DecodedTransaction, type DecodedChange } from "./decoding.js";
export { visibleInSnapshot, parseSnapshot, schemaColumn } from "./postgres.js";
