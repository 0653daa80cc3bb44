/**
 * Where an entity's keys come from (docs/extensions.md, "Keys"), and which fields of other
 * entities hold them.
 *
 * - `client`: the client makes the key (uuid keys: a time-ordered uuid) and the server keeps it.
 * - `server`: the server assigns the key (a serial or identity column). A row created on this
 *   device gets a temporary local key; the create's response carries the server's key, and the
 *   change writer replaces the temporary key with it everywhere on this device.
 *
 * Default: `client` for a uuid key; `server` for an integer key or a read-only one; `client`
 * otherwise. `x-sync: { key_source: client | server }` decides explicitly.
 */
import { error, pointerJoin, type Diagnostic, type SourceLocation } from "../diagnostics/diagnostic.js";
import { closest } from "../diagnostics/suggest.js";
import { deref, derefAt, flattenProperties, isObj } from "./schema-walk.js";
import type { RawOperation } from "./operations.js";
import type { Json } from "../spec/parse.js";
import type { Entity, EntityField, KeySource, NewKey } from "./types.js";

export const KEY_SOURCES: KeySource[] = ["client", "server"];

/** Postgres types a temporary key can be made in: a negative number, `tmp:<uuid>` text, a random uuid. */
const TEMP_KEY_TYPES = new Set(["integer", "bigint", "smallint", "text", "uuid"]);

/** The default key source of a key property. */
export function defaultKeySource(key: Pick<EntityField, "pgType" | "readOnly" | "numericString">): KeySource {
  if (key.pgType === "uuid") return "client";
  if ((key.pgType === "integer" || key.pgType === "bigint" || key.pgType === "smallint") && !key.numericString) return "server";
  return key.readOnly ? "server" : "client";
}

/**
 * Where the 2xx JSON response of a create carries the new row's key: `["id"]` when it returns the
 * row, `["data", "id"]` when it wraps the row in one property (Directus, JSON:API-like
 * envelopes). Undefined when no documented response has it.
 */
export function createResponseKeyPath(doc: Json, create: RawOperation, keyName: string): string[] | undefined {
  const responses = isObj(create.op.responses) ? create.op.responses : {};
  for (const code of Object.keys(responses).filter((c) => /^2(\d\d|XX)$/.test(c)).sort()) {
    const res = deref(doc, responses[code]);
    const content = res && isObj(res.content) ? res.content : {};
    const mt = Object.keys(content).find((m) => m === "application/json" || m.endsWith("+json"));
    const media = mt ? content[mt] : undefined;
    if (!mt || !isObj(media) || media.schema === undefined) continue;
    const pointer = pointerJoin(create.pointer, "responses", code, "content", mt, "schema");
    const props = flattenProperties(doc, media.schema, pointer);
    if (props.some((p) => p.name === keyName)) return [keyName];
    for (const p of props) {
      const inner = derefAt(doc, p.schema, p.pointer);
      if (inner && flattenProperties(doc, inner.schema, inner.pointer).some((q) => q.name === keyName)) return [p.name, keyName];
    }
  }
  return undefined;
}

export interface KeyDecision {
  keySource: KeySource;
  createKeyPath?: string[];
}

/**
 * Decides an entity's key source and checks that a server-assigned key can work: its column type
 * can hold a temporary key, and the create endpoint's documented response returns the key.
 * Reports located errors and returns undefined otherwise.
 */
export function decideKeySource(
  args: {
    doc: Json;
    entityName: string;
    path: string;
    keyField: EntityField;
    keyPointer: string;
    explicit?: KeySource;
    explicitAt: SourceLocation;
    create?: RawOperation;
  },
  locate: (p: string) => SourceLocation,
  diagnostics: Diagnostic[],
): KeyDecision | undefined {
  const { keyField: k } = args;
  const keySource = args.explicit ?? defaultKeySource(k);
  if (keySource === "client") return { keySource };
  const why = args.explicit
    ? "x-sync.key_source is `server`"
    : `its key "${k.name}" is ${k.pgType === "uuid" || !k.readOnly ? `an ${k.pgType}` : "read-only"}, so the server assigns it`;
  const where = args.explicit ? args.explicitAt : locate(args.keyPointer);
  if (!TEMP_KEY_TYPES.has(k.pgType) || k.numericString) {
    diagnostics.push(
      error(
        "model/server-key-type",
        `${args.entityName} (${args.path}): ${why}, but a row created on this device needs a temporary key until the server's arrives, and a ${k.pgType}${k.numericString ? " sent as a string" : ""} key cannot hold one.`,
        where,
        `Server-assigned keys must be integers, text or uuids. If the client may choose the key, set \`x-sync: { key_source: client }\` on ${args.path} (or \`key_source: client\` in its entry under \`entities:\` in the config).`,
      ),
    );
    return undefined;
  }
  if (!args.create) return { keySource };
  const createKeyPath = createResponseKeyPath(args.doc, args.create, k.name);
  if (!createKeyPath) {
    diagnostics.push(
      error(
        "model/server-key-not-returned",
        `${args.entityName} (${args.path}): ${why}, but no 2xx JSON response of ${args.create.method.toUpperCase()} ${args.create.path} documents a "${k.name}": the client could not learn the key of a row it created, so its temporary key could not be replaced.`,
        locate(pointerJoin(args.create.pointer, "responses")),
        `Return the created row (or \`{ data: <row> }\`) with its "${k.name}" in the create's 201/200 response and describe it in the spec; or, if the server keeps a key the client sends, set \`x-sync: { key_source: client }\` on ${args.path} (or \`key_source: client\` in its entry under \`entities:\` in the config).`,
      ),
    );
    return undefined;
  }
  return { keySource, createKeyPath };
}

/** What kind of temporary key a server-key entity's rows made on this device get (see Entity.tempKey); its SQL is printed in src/plan/print/sql.ts. */
export function tempKeyOf(key: EntityField): NonNullable<Entity["tempKey"]> {
  if (key.codec === "uuid") return { kind: "uuid" };
  if (key.codec === "text") return { kind: "prefixed" };
  return { kind: "negative" };
}

/**
 * How a row created on this device gets its key when none is given: decided here once, for the
 * SQL insert trigger, the collection's `newKey()` and the create hooks alike.
 */
export function newKeyOf(keySource: KeySource, key: EntityField): NewKey {
  if (keySource === "server") return tempKeyOf(key).kind;
  return key.codec === "uuid" ? "uuid" : "required";
}

/** Reads `x-sync.key_source`. */
export function readKeySource(value: Json | undefined, at: SourceLocation, diagnostics: Diagnostic[]): KeySource | undefined {
  if (value === undefined) return undefined;
  if (value === "client" || value === "server") return value;
  const near = typeof value === "string" ? closest(value, KEY_SOURCES) : undefined;
  diagnostics.push(error("model/invalid-x-sync", `x-sync.key_source must be \`client\` or \`server\`, got ${JSON.stringify(value)}.`, at, near ? `Did you mean \`${near}\`?` : "`server` when the server assigns keys (serial ids), `client` when it keeps the key the client sends."));
  return undefined;
}

/** A field of one entity that holds another entity's key, as the model found it. */
export interface ReferenceCandidate {
  entity: Entity;
  field: EntityField;
  /** `x-sync-references` of the property, when set. */
  explicit?: string;
  pointer: string;
}

/**
 * Foreign keys to entities with server-assigned keys (their temporary keys are replaced on this
 * device, in these fields too). A field references entity A when its property says
 * `x-sync-references: <A's name, table or path>`, or when it is named after A (`project_id`,
 * `projectId` for the entity `projects`) and has A's key type. Fields referring to client-key
 * entities need nothing: their keys never change.
 */
export function resolveReferences(candidates: ReferenceCandidate[], entities: Entity[], locate: (p: string) => SourceLocation, diagnostics: Diagnostic[]): void {
  const byName = new Map<string, Entity>();
  for (const e of entities) for (const n of [e.table, e.names.original, e.names.snake, e.names.snakePlural, e.names.camel, e.path]) if (!byName.has(n)) byName.set(n, e);
  for (const c of candidates) {
    let target: Entity | undefined;
    if (c.explicit !== undefined) {
      target = byName.get(c.explicit);
      if (!target) {
        const near = closest(c.explicit, [...byName.keys()]);
        diagnostics.push(error("model/invalid-x-sync", `x-sync-references of ${c.entity.names.original}.${c.field.name} names "${c.explicit}", which is not a synced entity.`, locate(`${c.pointer}/x-sync-references`), near ? `Did you mean "${near}"?` : `Name one of: ${entities.map((e) => e.table).join(", ")}.`));
        continue;
      }
      if (target.keyField.pgType !== c.field.pgType) {
        diagnostics.push(error("model/invalid-x-sync", `${c.entity.names.original}.${c.field.name} (${c.field.pgType}) is said to reference ${target.names.original}, whose key "${target.key}" is a ${target.keyField.pgType}.`, locate(`${c.pointer}/x-sync-references`), "Give the property the type of the key it holds, or remove x-sync-references."));
        continue;
      }
    } else {
      target = entities.find(
        (e) => e !== c.entity && (c.field.name === `${e.names.snake}_${e.key}` || c.field.name === `${e.names.camel}${e.key[0]!.toUpperCase()}${e.key.slice(1)}`) && e.keyField.pgType === c.field.pgType,
      );
    }
    if (target?.keySource === "server") c.entity.references.push({ field: c.field.name, pgType: c.field.pgType, table: target.table });
  }
}
