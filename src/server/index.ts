/**
 * `sync-patterns/server`: what a backend needs to serve a generated client. Framework-neutral
 * (Fetch API); see docs/backend.md.
 */
export { createShapeProxy, quoteColumn, subsetByKey, CLIENT_PARAMS, type ShapeDefinition, type ShapeProxyOptions, type ShapeWhere, type WhereParam } from "./shape-proxy.js";
export { shapesFromSpec, quoteIdent, type FromSpecOptions, type SpecShape, type SpecShapes } from "./shapes.js";
export { toNodeHandler } from "./node.js";
export { checkWrite, findRefusal, refusalProblem, refusalResponse, can, canEditField, editableFields, refusalOf, writtenFields, type Action, type EntityRules, type PermissionRules, type Refusal, type SpecPermissions, type WriteCheck, type WriteOp } from "./permissions.js";
