/**
 * The runtime description of an entity (EntityDescription): the facts of the model the generated
 * runtime needs, as plain data. Emitted once into the client (templates/sync/entities.ts.eta);
 * every runtime module takes it. Pure.
 */
import type { EndpointDescription, EndpointRef, Entity, EntityDescription, WriteEndpointDescription, WriteEndpointRef } from "./types.js";

function paramsOf(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
}

function endpoint(ref: EndpointRef): EndpointDescription {
  return { method: ref.method.toUpperCase(), path: ref.path, params: paramsOf(ref.path) };
}

function writeEndpoint(ref: WriteEndpointRef): WriteEndpointDescription {
  return { method: ref.method.toUpperCase(), path: ref.path, parts: ref.parts };
}

export function describeEntity(e: Entity): EntityDescription {
  const { list, get, create, update, delete: remove } = e.endpoints;
  return {
    table: e.table,
    sql: { ...e.objects, keyType: e.keyField.pgType },
    key: e.key,
    keySource: e.keySource,
    newKey: e.newKey,
    ...(e.createKeyPath ? { createKeyPath: e.createKeyPath } : {}),
    mode: e.mode,
    localFirst: e.localFirst,
    ...(e.scopeField ? { scope: e.scopeField.name } : {}),
    columns: e.fields.map((f) => ({ name: f.name, codec: f.codec, sqlType: f.pgType, key: f.isKey, readOnly: f.readOnly, writeOnly: f.writeOnly, device: f.syncExclude })),
    ...(list ? { list: endpoint(list) } : {}),
    ...(get ? { get: endpoint(get) } : {}),
    ...(create ? { create: writeEndpoint(create) } : {}),
    ...(update ? { update: writeEndpoint(update) } : {}),
    ...(remove ? { remove: writeEndpoint(remove) } : {}),
    ...(e.writeIdField ? { writeId: e.writeIdField.name } : {}),
    references: e.references.map((r) => ({ field: r.field, table: r.table, sqlType: r.pgType })),
  };
}
