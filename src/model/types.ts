/**
 * The SpecModel: the one normalized, data-only view of an OpenAPI document. Every fact a
 * template needs is decided here (names in each case, TypeScript and Postgres types, codecs,
 * endpoints, SQL object names), so templates contain no OpenAPI lookups and no logic. TypeScript
 * types are data (`TsType`, ./ts-type.ts), documentation is the spec's text as written, default
 * values are JSON values; SQL text (quoted identifiers, string literals, temporary-key expressions),
 * TypeScript types, property keys, literals and doc comments are printed once, by src/plan/print/,
 * into the template context (src/plan/context.ts). No field here holds code text.
 *
 * Bump MODEL_VERSION when a field of the template context is removed or changes meaning;
 * ejected templates declare the version they were written for (src/model/migrations.ts).
 */

export const MODEL_VERSION = 3;

/** One identifier spelled in every case a template needs. */
export interface Names {
  /** As written in the spec, e.g. `contacts` or `Contact`. */
  original: string;
  /** `Contact` */
  pascal: string;
  /** `contact` */
  camel: string;
  /** `contact` */
  snake: string;
  /** `contact` (file names) */
  kebab: string;
  /** `Contacts` */
  pascalPlural: string;
  /** `contacts` */
  camelPlural: string;
  /** `contacts` */
  snakePlural: string;
}

/**
 * A TypeScript type as data: what the model knows of a value's type (built from a JSON Schema by
 * src/model/ts-type.ts); src/plan/print/typescript.ts prints it, once.
 */
export type TsType =
  | { kind: "unknown" }
  | { kind: "never" }
  | { kind: "void" }
  | { kind: "primitive"; name: "string" | "number" | "boolean" | "null" }
  /** A global type of the platform: `Blob` (binary bodies), `FormData` (multipart bodies). */
  | { kind: "global"; name: "Blob" | "FormData" }
  | { kind: "literal"; value: string | number | boolean }
  /** A named schema type; `namespace` when it is imported as one (`T.Contact`). */
  | { kind: "ref"; name: string; namespace?: string }
  | { kind: "array"; item: TsType }
  /** 3.1 `prefixItems`; `rest` when more items of any type may follow. */
  | { kind: "tuple"; items: TsType[]; rest: boolean }
  /** Properties and an index type (`additionalProperties`); neither → `Record<string, unknown>`. */
  | { kind: "object"; props: TsMember[]; index?: TsType }
  | { kind: "union"; members: TsType[] }
  | { kind: "intersection"; members: TsType[] }
  /** A oneOf member narrowed by its discriminator: `(T & { property: "tag" | … })`. */
  | { kind: "tagged"; type: TsType; property: string; tags: string[] }
  /** A request body sent as multipart: `FormData`, or the fields of the schema (`FormData | T`). */
  | { kind: "multipart"; fields: TsType };

export interface TsMember {
  /** Property name as it travels on the wire (printed as a key by the printer). */
  name: string;
  type: TsType;
  optional: boolean;
}

/**
 * Documentation from the spec as written (summary, title and description joined by line breaks;
 * empty when there is none). Untrusted text: src/plan/print/ makes it a doc comment (`docComment`),
 * safe inside `/** … *\/`.
 */
export type DocText = string;

/** A JSON value as the spec gives it (a schema's `default`). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface SchemaProperty {
  /** Property name as it travels on the wire. */
  name: string;
  /** Its TypeScript type (in the form of the list it is in: read or write); printed as `tsType`. */
  type: TsType;
  optional: boolean;
  readOnly: boolean;
  writeOnly: boolean;
  deprecated: boolean;
  doc: DocText;
}

/** A named schema from `components.schemas`, rendered as a type in `types/`. */
export interface NamedSchema {
  /** Schema name as written in the spec. */
  original: string;
  /** Unique TypeScript type name. */
  name: string;
  /** Name of the request (write) form, when it differs from the read form. */
  writeName?: string;
  /** The schema's title (when it differs from its name) and description. */
  doc: DocText;
  deprecated: boolean;
  /** `interface` when the schema is a plain object with properties, `alias` otherwise. */
  kind: "interface" | "alias";
  /** Properties of the read form (no writeOnly ones). */
  properties: SchemaProperty[];
  /** Properties of the write form (no readOnly ones); used when `writeName` is set. */
  writeProperties: SchemaProperty[];
  /** Index signature value type for `additionalProperties`, on interfaces. */
  indexType?: TsType;
  /** The aliased type (read form) for `alias`; printed as `tsType`. */
  type?: TsType;
  /** The aliased type (write form) for `alias`; printed as `tsWriteType`. */
  writeType?: TsType;
}

export type HttpMethod = "get" | "put" | "post" | "patch" | "delete" | "head" | "options" | "trace";

export interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  /** Printed as `tsType`. */
  type: TsType;
  required: boolean;
  /** Query serialization: `form` (default) or `deepObject`; explode as in the spec. */
  style: string;
  explode: boolean;
  doc: DocText;
}

export type BodyEncoding = "json" | "form" | "multipart" | "binary" | "text";

export interface RequestBody {
  /** Printed as `tsType`. */
  type: TsType;
  required: boolean;
  mediaType: string;
  encoding: BodyEncoding;
}

export type ResponseEncoding = "json" | "text" | "blob" | "none";

/** The exported names of one operation besides its fetch function (docs/naming.md). */
export interface OperationNames {
  /** The React hook: `useGetContact` (queries), `useCreateContactMutation` (mutations). */
  hook: string;
  /** The query-key factory, `getContactQueryKey`; empty for mutations. */
  queryKey: string;
  /** The options factory: `getContactOptions` (query options), `createContactMutation` (mutation options). */
  options: string;
  /** The error type the operation rejects with: `GetContactError`. */
  error: string;
}

/** Documented non-2xx responses that share one body type. */
export interface OperationError {
  /** Response keys as in the spec (`404`, `4XX`, `default`), sorted. */
  responses: string[];
  /** Type of the body: the JSON schema's type, `string` for text, `unknown` when not described; printed as `bodyType`. */
  body: TsType;
}

export interface Operation {
  /** operationId as written, or derived from method and path when the spec has none. */
  id: string;
  /** Function name (camelCase, unique, never a reserved word). */
  fnName: string;
  /** `Contact` style name used for hooks: `use${pascal}`. */
  pascal: string;
  /** Hook, query key, options factory and error type names, unique among all exported names. */
  names: OperationNames;
  /** Documented error responses, grouped by body type (sorted by their first key). */
  errors: OperationError[];
  /** Every documented error response key (`["404", "4XX", "default"]`), for the runtime to tell which one answered. */
  errorResponses: string[];
  method: HttpMethod;
  /** Path template as in the spec: `/api/contacts/{id}`. */
  path: string;
  /** Group (first tag, or `default`), and the file it lands in. */
  group: string;
  groupFile: string;
  /** The operation's summary and description (when it differs from the summary). */
  doc: DocText;
  deprecated: boolean;
  pathParams: Parameter[];
  queryParams: Parameter[];
  headerParams: Parameter[];
  body?: RequestBody;
  /** Type of the success response body; printed as `responseType`. */
  response: TsType;
  responseEncoding: ResponseEncoding;
  /** True for GET/HEAD: generated as a query hook; everything else is a mutation hook. */
  isQuery: boolean;
  /** True when the caller must pass an argument object (any required parameter or body). */
  argsRequired: boolean;
  /** True when the operation takes any argument at all. */
  hasArgs: boolean;
  /** Type of the argument object (`{ path: { id: string }; body: T.ContactWrite }`), when it takes any; printed as `argsType`. */
  args?: TsType;
}

export interface OperationGroup {
  name: string;
  file: string;
  operations: Operation[];
  /** Whether any operation is a query / a mutation / refers to a named schema type (imports). */
  hasQueries: boolean;
  hasMutations: boolean;
  usesSchemaTypes: boolean;
  /** Whether its TanStack Query module (queries/<group>.ts) names schema types: in args or responses (error bodies stay in api/). */
  queriesUseSchemaTypes: boolean;
}

export type SyncMode = "local-first" | "confirmed";

/** Where new keys come from (docs/extensions.md, "Keys"): the client makes them, or the server assigns them. */
export type KeySource = "client" | "server";

/** A field holding the key of an entity whose keys the server assigns: its temporary keys are replaced here too. */
export interface KeyReference {
  /** The field (property name) of this entity. */
  field: string;
  /** The field's Postgres type (the key type of the referenced entity). */
  pgType: string;
  /** The referenced entity's table. */
  table: string;
}

/**
 * How the runtime turns a column's values into JavaScript and back (src/model/pg-type.ts decides
 * it with the Postgres type): `json` values are sent as JSON text, `date` values read as
 * `YYYY-MM-DD`, `timestamp` values as ISO strings, `bigint` as numbers. The runtime branches on
 * this, never on Postgres type text.
 */
export type Codec = "text" | "uuid" | "int" | "bigint" | "float" | "numeric" | "bool" | "json" | "timestamp" | "date" | "time" | "bytes";

/** How a row created on this device gets its key when none is given (decided once, src/model/keys.ts). */
export type NewKey =
  /** A uuid (the runtime makes a time-ordered one; SQL `gen_random_uuid()` when the insert has none). */
  | "uuid"
  /** Server keys on integer columns: a negative number from the local sequence (temporary). */
  | "negative"
  /** Server keys on text columns: `tmp:<uuid>` (temporary). */
  | "prefixed"
  /** The caller must give the key (client keys that are neither uuid nor made by the server). */
  | "required";

export interface EntityField {
  name: string;
  /** Its TypeScript type (read form); printed as `tsType`. */
  type: TsType;
  pgType: string;
  codec: Codec;
  nullable: boolean;
  required: boolean;
  readOnly: boolean;
  writeOnly: boolean;
  isKey: boolean;
  /** Stored as a Postgres number but a string in JSON (`format: decimal` / `int64` strings): sent as text. */
  numericString: boolean;
  /** The default value, when the spec gives one. */
  default?: JsonValue;
  enum?: (string | number | boolean | null)[];
  doc: DocText;
  /** `x-sync-exclude`: lives only on this device, never sent, never synced. */
  syncExclude: boolean;
  /** `x-owner-only`: only the owner role may edit it (enforced with `x-rbac`; docs/extensions.md#x-owner-only). */
  ownerOnly: boolean;
}

/** The names (unquoted) of an entity's SQL objects; their suffixes are decided in src/model/sql-names.ts. */
export interface EntityObjects {
  /** The view the app reads and writes: the table name itself. */
  view: string;
  /** Server state, written only by shape sync. */
  synced: string;
  /** The optimistic overlay. */
  local: string;
  /** plpgsql functions: fold pending changes into the overlay; view triggers; change feed; write-id acknowledgement. */
  rebuild: string;
  onInsert: string;
  onUpdate: string;
  onDelete: string;
  feed: string;
  ack: string;
}

export interface EntityEndpoints {
  list?: EndpointRef;
  get?: EndpointRef;
  create?: WriteEndpointRef;
  update?: WriteEndpointRef;
  delete?: WriteEndpointRef;
}

export interface EndpointRef {
  method: HttpMethod;
  path: string;
  operationId: string;
  fnName: string;
}

/**
 * One piece of a write endpoint's path: literal text, or a path parameter filled from a row
 * field (URL-encoded). `/v1/files/{file_key}/comments/{comment_id}` with the key `id` is
 * `["/v1/files/", { param: "file_key", field: "file_key" }, "/comments/", { param: "comment_id", field: "id" }]`.
 */
export type PathPart = string | { param: string; field: string };

/** A create, update or delete endpoint of an entity, with every path parameter bound to a row field. */
export interface WriteEndpointRef extends EndpointRef {
  parts: PathPart[];
}

export interface Rbac {
  fieldGroups: { name: string; fields: string[] }[];
  /** Role → the field groups it may edit; a role with none is read-only (no create, update or delete). */
  rolePermissions: { role: string; groups: string[] }[];
  /** Roles that may create rows (`x-rbac.create`; default: every role with a field group). */
  create: string[];
  /** Roles that may delete rows (`x-rbac.delete`; default: every role with a field group). */
  delete: string[];
  /** The role `x-owner-only` fields need (`owner`). */
  ownerRole: string;
  /** `x-rbac.roles`: where the caller's role on each row comes from; absent: the client cannot know it (nothing is enforced in the hooks). */
  roles?: RoleSource;
}

/**
 * The caller's role on a row: the `role` of the membership row (a synced entity scoped to the
 * user) whose `match` column equals the row's `scope` column. No such membership: no role.
 */
export interface RoleSource {
  /** The membership entity's name, table and collection (`householdMembers`). */
  entity: string;
  table: string;
  collection: string;
  /** Its column holding the scope value (`household_id`) and the one holding the role (`role`). */
  match: string;
  role: string;
  /** The protected entity's scope column (`x-sync.scope`). */
  scope: string;
}

/** A CRUD resource of the spec: a collection path with an item schema. */
export interface Resource {
  names: Names;
  /** Collection path, e.g. `/api/contacts`. */
  path: string;
  itemPath?: string;
  /** Named schema of the item, when the item is a `$ref`. */
  schemaName?: string;
  /** What the spec says about syncing this resource (`x-sync`), before config overrides. */
  specSync?: {
    mode: SyncMode;
    /** `x-sync.name`: the entity's name (hooks, types, default table) instead of the path's last segment. */
    name?: string;
    table?: string;
    key?: string;
    writeId?: string;
    /** `x-sync.scope`: the property that scopes rows per tenant (validated into `Entity.scopeField`). */
    scope?: string;
    /** `x-sync.key_source`. */
    keySource?: KeySource;
    /** `x-sync.params`: path parameter → row property, for parameters not named like a property. */
    params?: Record<string, string>;
  };
}

/** A resource in the local-first stack. */
export interface Entity {
  names: Names;
  /** Postgres table base name (unquoted), e.g. `contacts`. */
  table: string;
  /** The names of its SQL objects (view, tables, functions), unquoted. */
  objects: EntityObjects;
  /** The key property (the key column), as written in the spec. */
  key: string;
  keyField: EntityField;
  /** `client`: the client makes the key; `server`: rows made here get a temporary key, replaced by the server's on confirmation. */
  keySource: KeySource;
  /** Server keys: where the create's JSON response carries the new key, e.g. `["id"]` or `["data", "id"]`. */
  createKeyPath?: string[];
  /** Fields that hold keys of server-key entities (foreign keys), rewritten with them. */
  references: KeyReference[];
  /** How a row created here gets its key when none is given. */
  newKey: NewKey;
  /**
   * Server keys: what kind of temporary key a row created on this device gets (`negative`: a
   * negative number; `prefixed`: `tmp:<uuid>`; `uuid`: a random uuid). Its SQL is printed in the
   * template context (`it.entity.tempKey.make` / `.check`).
   */
  tempKey?: { kind: "negative" | "prefixed" | "uuid" };
  mode: SyncMode;
  localFirst: boolean;
  path: string;
  itemPath?: string;
  /** TypeScript names of the row type, its write form (the row itself when there is no split), the create/update payloads, and the local row (row + `_sync_status`). */
  types: { row: string; write: string; create: string; update: string; local: string };
  /** React hook and collection names: `useContacts`, `useContact`, `useCreateContact`, … */
  hooks: { list: string; get: string; create: string; update: string; remove: string; collection: string };
  fields: EntityField[];
  /** Fields that travel to and from the server (not `x-sync-exclude`), key included. */
  syncedFields: EntityField[];
  /** Synced fields other than the key. */
  dataFields: EntityField[];
  /** `x-sync-exclude` fields: stored only on this device. */
  deviceFields: EntityField[];
  /** Data fields a client may set (not readOnly): what a local insert overlays until the server row arrives. */
  writableFields: EntityField[];
  /** `x-sync.write_id`: a server column that echoes the id of the client change that last wrote the row. */
  writeIdField?: EntityField;
  /**
   * `x-sync.scope`: the column the server scopes rows by (`household_id`). The shape proxy sets
   * `where <scope> = <the user's value>`; the client never chooses it. Absent: rows are not scoped.
   */
  scopeField?: EntityField;
  /** Non-key fields that fill a path parameter of a write endpoint (a parent's key, e.g. `file_key`); every change records their values. */
  pathFields: EntityField[];
  endpoints: EntityEndpoints;
  rbac?: Rbac;
  doc: DocText;
}

/** A column as the runtime sees it. */
export interface ColumnDescription {
  name: string;
  codec: Codec;
  /** The column's Postgres type, printed into SQL casts only (`$1::uuid[]`); the runtime never branches on it. */
  sqlType: string;
  key: boolean;
  readOnly: boolean;
  writeOnly: boolean;
  /** `x-sync-exclude`: lives only on this device, never sent, never synced. */
  device: boolean;
}

/** An endpoint of an entity: method (upper case), path template and its path parameters. */
export interface EndpointDescription {
  method: string;
  path: string;
  params: string[];
}

/** A write endpoint: method (upper case), path template, and the path as literal text and parameters, each bound to the row field that fills it. */
export interface WriteEndpointDescription {
  method: string;
  path: string;
  parts: PathPart[];
}

/**
 * What the generated runtime knows of one entity, as data: emitted once into the client
 * (`sync/entities.ts`) and handed to every runtime module (local database, collections, shape
 * sync, change writer). Built from the Entity by src/model/description.ts;
 * templates/runtime/local-db.ts declares the same type for the client.
 */
export interface EntityDescription {
  /** The entity's name in `_changes.entity`, the change feed, `_sync_shapes` and the shape's `table`: its table name. */
  table: string;
  /** Its SQL objects' names (unquoted), and the key column's Postgres type for casts. */
  sql: EntityObjects & { keyType: string };
  /** The key column. */
  key: string;
  keySource: KeySource;
  /** How a row created here gets its key when none is given. */
  newKey: NewKey;
  /** Server keys: where the create's JSON response carries the new key. */
  createKeyPath?: string[];
  mode: SyncMode;
  localFirst: boolean;
  /** `x-sync.scope`: the column the server scopes rows by. */
  scope?: string;
  columns: ColumnDescription[];
  list?: EndpointDescription;
  get?: EndpointDescription;
  create?: WriteEndpointDescription;
  update?: WriteEndpointDescription;
  remove?: WriteEndpointDescription;
  /** `x-sync.write_id`: a server column echoing the change id of the last write. */
  writeId?: string;
  /** Fields holding keys of server-key entities, rewritten when a temporary key is replaced. */
  references: { field: string; table: string; sqlType: string }[];
}

export interface SpecModel {
  modelVersion: number;
  title: string;
  version: string;
  /** First server URL, when the spec has one. */
  serverUrl?: string;
  schemas: NamedSchema[];
  operations: Operation[];
  groups: OperationGroup[];
  resources: Resource[];
  entities: Entity[];
}
