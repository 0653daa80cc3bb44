// What the runtime knows of an entity: one typed description per entity, emitted once by the
// generator into sync/entities.ts and handed to every runtime module (the local database and its
// change feed, the collections, shape sync, the change writer). Plain TypeScript, copied as is
// into the generated output (db/entity.ts); the generator declares the same type
// (EntityDescription in sync-patterns' src/model/types.ts).
//
// The runtime decides by `codec`, `newKey`, `keySource` and the flags, never by Postgres type
// text; `sqlType` and `sql.keyType` are only printed into SQL casts.

/**
 * How values of a column travel between the database and JavaScript: `json` values are written
 * as JSON text; `date` values read as `YYYY-MM-DD`, `timestamp` values as ISO strings; `bigint`
 * values read as numbers.
 */
export type Codec = "text" | "uuid" | "int" | "bigint" | "float" | "numeric" | "bool" | "json" | "timestamp" | "date" | "time" | "bytes";

/**
 * How a row created on this device gets its key when none is given: `uuid` (a time-ordered uuid),
 * `negative` (server keys, integer: a negative number from the local sequence), `prefixed` (server
 * keys, text: `tmp:<uuid>`), `required` (the caller gives it).
 */
export type NewKey = "uuid" | "negative" | "prefixed" | "required";

export interface ColumnDescription {
  name: string;
  codec: Codec;
  /** The column's Postgres type, for SQL casts only. */
  sqlType: string;
  key: boolean;
  readOnly: boolean;
  writeOnly: boolean;
  /** `x-sync-exclude`: lives only on this device, never sent, never synced. */
  device: boolean;
}

export interface EndpointDescription {
  /** Upper case: `POST`. */
  method: string;
  /** Path template as the spec writes it, e.g. `/v1/files/{file_key}/comments/{comment_id}` (for messages). */
  path: string;
  /** Its path parameters, in order. */
  params: string[];
}

export interface WriteEndpointDescription extends EndpointDescription {
  /**
   * The same path as literal text and parameters, each bound to the row field that fills it:
   * `["/v1/files/", { param: "file_key", field: "file_key" }, "/comments/", { param: "comment_id", field: "id" }]`.
   */
  parts: (string | { param: string; field: string })[];
}

export interface EntityDescription {
  /** The entity's name in `_changes.entity`, the change feed, `_sync_shapes` and the shape's `table`: its table name. */
  table: string;
  /** Its SQL objects' names (unquoted: quote with `quoteIdent`), and the key column's Postgres type for casts. */
  sql: {
    view: string;
    synced: string;
    local: string;
    rebuild: string;
    onInsert: string;
    onUpdate: string;
    onDelete: string;
    feed: string;
    ack: string;
    keyType: string;
  };
  /** The key column. */
  key: string;
  /**
   * `server`: the server assigns keys (x-sync key_source). A create is sent without the key, and
   * the key in its JSON response (at `createKeyPath`, e.g. `["id"]` or `["data", "id"]`) replaces
   * the row's temporary key on this device.
   */
  keySource: "client" | "server";
  newKey: NewKey;
  createKeyPath?: string[];
  mode: "local-first" | "confirmed";
  localFirst: boolean;
  /** `x-sync.scope`: the column the server scopes rows by (the shape proxy sets it; the client never chooses it). */
  scope?: string;
  columns: ColumnDescription[];
  list?: EndpointDescription;
  get?: EndpointDescription;
  create?: WriteEndpointDescription;
  update?: WriteEndpointDescription;
  remove?: WriteEndpointDescription;
  /** A server column echoing the change id (x-sync.write_id); acknowledgement then comes from it. */
  writeId?: string;
  /** Fields of this entity holding keys of server-key entities (foreign keys): rewritten when a temporary key is replaced. */
  references: { field: string; table: string; sqlType: string }[];
}

/** The entities by table name, for the places that start from a name stored in the database (`_changes.entity`, the feed). */
export function byTable<T extends { table: string }>(entities: readonly T[]): ReadonlyMap<string, T> {
  return new Map(entities.map((e) => [e.table, e]));
}
