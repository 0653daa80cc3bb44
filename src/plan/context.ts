/**
 * The template context: what every Eta template receives as `it`. Types only.
 *
 * This module and `src/model/types.ts` are the whole template contract: `context.d.ts` in a
 * project's template folder is made from their compiled declarations (src/eject/context-types.ts),
 * so it cannot drift from what templates really get. Keep this module free of other imports.
 *
 * The model holds facts; what templates print as code (quoted SQL names and literals, the
 * temporary-key SQL, TypeScript types, property keys, object literals and doc comments) is added
 * here by the one printing module, src/plan/print/. The template-visible shape is the model's plus
 * those printed fields (`doc` is the model's text printed as comment lines).
 */
import type { Entity, EntityDescription, EntityField, EntityObjects, NamedSchema, Operation, OperationError, OperationGroup, Parameter, RequestBody, SchemaProperty, SpecModel } from "../model/types.js";

/** A documentation comment's lines, made safe to place inside `/** … *\/` (printed from the model's `DocText`). */
export type DocComment = string[];

/** What a template gets of a name it prints as a TypeScript property key, and of documentation. */
interface Printed {
  /** The name as a TypeScript property key: bare when it is an identifier, quoted otherwise. */
  key: string;
  doc: DocComment;
}

/** What every template receives as `it`. */
export interface TemplateData {
  /** The whole normalized spec, with its printed SQL and TypeScript text. */
  model: TemplateModel;
  settings: PlanSettings;
  /** The local database's bookkeeping names as quoted SQL identifiers (src/model/sql-names.ts), for the SQL templates. */
  sql: BookkeepingSql;
  /** The suffix of each SQL object of an entity after its table name (src/model/sql-names.ts): `{ synced: "_synced", onInsert: "_ins", … }`. */
  objectSuffixes: Record<Exclude<keyof EntityObjects, "view">, string>;
  /** Set for per-entity templates (`types/entity.ts.eta`, …, and config artifacts with `each: entity`). */
  entity?: TemplateEntity;
  /** Set for per-group API templates (`api/group.ts.eta`, and config artifacts with `each: group`). */
  group?: TemplateGroup;
}

/** Settings from the config that templates may print. */
export interface PlanSettings {
  /** Base URL of the REST API the client calls by default. */
  apiUrl: string;
  /** Electric shape endpoint, when configured. */
  electricUrl?: string;
}

/** The model as templates see it: entities, operations and groups with their printed text. */
export interface TemplateModel extends Omit<SpecModel, "entities" | "operations" | "groups" | "schemas"> {
  schemas: TemplateSchema[];
  entities: TemplateEntity[];
  operations: TemplateOperation[];
  groups: TemplateGroup[];
}

/** A property of a named schema with its key, TypeScript type and doc comment printed. */
export interface TemplateSchemaProperty extends Omit<SchemaProperty, "doc">, Printed {
  /** TypeScript type expression (in the form of the list it is in: read or write). */
  tsType: string;
}

/** A named schema with its TypeScript types and doc comment printed (`@deprecated` included). */
export interface TemplateSchema extends Omit<NamedSchema, "properties" | "writeProperties" | "indexType" | "doc"> {
  doc: DocComment;
  properties: TemplateSchemaProperty[];
  writeProperties: TemplateSchemaProperty[];
  /** Index signature value type for `additionalProperties`, on interfaces. */
  indexType?: string;
  /** The aliased type (read form) for `alias`; empty for interfaces. */
  tsType: string;
  /** The aliased type (write form) for `alias`; empty for interfaces. */
  tsWriteType: string;
}

/** An entity field with its SQL and TypeScript text. */
export interface TemplateField extends Omit<EntityField, "doc">, Printed {
  /** TypeScript type expression (read form). */
  tsType: string;
  /** SQL identifier, always double-quoted and escaped: `"order"`. */
  column: string;
  /** The name as a SQL string literal: `'order'`. */
  literal: string;
}

/** Quoted SQL identifiers of an entity's objects, and the table name as a string literal. */
export interface EntitySql {
  table: string;
  synced: string;
  local: string;
  view: string;
  /** `'contacts'`: the entity's name in `_changes.entity` and the change feed. */
  literal: string;
  /** plpgsql functions: fold pending changes into the overlay; view triggers; change feed. */
  rebuild: string;
  onInsert: string;
  onUpdate: string;
  onDelete: string;
  feed: string;
  ack: string;
}

type FieldLists = "keyField" | "fields" | "syncedFields" | "dataFields" | "deviceFields" | "writableFields" | "writeIdField" | "scopeField" | "pathFields" | "tempKey";

/** An entity as templates see it. */
export interface TemplateEntity extends Omit<Entity, FieldLists | "doc"> {
  doc: DocComment;
  /** Quoted SQL identifiers derived from `table`, and the table name as a string literal. */
  sql: EntitySql;
  keyField: TemplateField;
  fields: TemplateField[];
  syncedFields: TemplateField[];
  dataFields: TemplateField[];
  deviceFields: TemplateField[];
  writableFields: TemplateField[];
  writeIdField?: TemplateField;
  scopeField?: TemplateField;
  pathFields: TemplateField[];
  /**
   * Server keys: how a row created on this device gets its temporary key, as SQL (`make`, a
   * value of the key's type; `check`, true for a temporary key in `NEW`), and its `kind` for the
   * runtime (`negative`: a negative number; `prefixed`: `tmp:<uuid>`; `uuid`: a random uuid).
   */
  tempKey?: { make: string; check: string; kind: "negative" | "prefixed" | "uuid" };
  /** What the runtime gets of this entity (emitted once, in `sync/entities.ts`). */
  description: EntityDescription;
  /** `description` as a TypeScript object literal. */
  descriptionLiteral: string;
  /** The name of its description's constant in `sync/entities.ts`, e.g. `contactsEntity`. */
  descriptionName: string;
}

/** A parameter with its key, TypeScript type and doc comment printed. */
export interface TemplateParameter extends Omit<Parameter, "doc">, Printed {
  tsType: string;
}

/** An operation as templates see it. */
export interface TemplateOperation extends Omit<Operation, "pathParams" | "queryParams" | "headerParams" | "body" | "errors" | "doc"> {
  /** The summary and description, then `METHOD /path`, `@deprecated` and `@throws`, as doc comment lines. */
  doc: DocComment;
  pathParams: TemplateParameter[];
  queryParams: TemplateParameter[];
  headerParams: TemplateParameter[];
  body?: RequestBody & { tsType: string };
  /** Documented error responses, with the keys as a union of string literals (`documented`: `"400" | "404"`) and the body type (`bodyType`). */
  errors: (OperationError & { documented: string; bodyType: string })[];
  /** TypeScript type of the success response body. */
  responseType: string;
  /** TypeScript type of the argument object: `{ path: { id: string }; body: T.ContactWrite }`; empty when none. */
  argsType: string;
  /** Query parameters serialized differently from `form` + explode, as a TypeScript object literal; empty when none. */
  queryStyles: string;
}

export interface TemplateGroup extends Omit<OperationGroup, "operations"> {
  operations: TemplateOperation[];
}

/** The bookkeeping names of the local database (src/model/sql-names.ts, `BOOKKEEPING`), quoted. */
export interface BookkeepingSql {
  changes: string;
  changesRowIndex: string;
  changesOpenIndex: string;
  changesTxidIndex: string;
  changesStatusChanged: string;
  changesSent: string;
  changesNotify: string;
  tempKeys: string;
  tempKeySequence: string;
  feed: string;
  feedHorizon: string;
  feedEntityIndex: string;
  feedReset: string;
  schema: string;
  shapes: string;
  seenTxids: string;
  acknowledge: string;
  validateChanges: string;
  /** NOTIFY channels as SQL string literals: new changes, a change's status, the change feed. */
  channelChanges: string;
  channelChangeStatus: string;
  channelFeed: string;
  /** The suffix of an entity's rebuild function, as a SQL string literal (`'_rebuild'`). */
  rebuildSuffix: string;
  /** The column the view adds to every row, quoted, and as a string literal. */
  syncStatus: string;
  syncStatusLiteral: string;
}
