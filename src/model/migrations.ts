/**
 * What changed in the template context (SpecModel + TemplateData) at each MODEL_VERSION, for
 * templates written against an older one. Add a row whenever MODEL_VERSION is bumped: what was
 * removed or renamed, and what a template should use instead.
 */
import { MODEL_VERSION } from "./types.js";

export const MODEL_MIGRATIONS: Readonly<Record<number, string>> = {
  3: "The model holds no code text; the template context prints it (src/plan/print). What templates get is unchanged except one field: an entity field's `default` is the JSON value the spec gives (was its JSON text): print it with `JSON.stringify(field.default)`. Unchanged for templates: `key` on fields, parameters and schema properties, and `doc` (safe comment lines) on schemas, properties, operations, parameters, fields and entities, are now printed into the context (the model keeps the spec's text, plus `deprecated` on schemas and properties).",
  2: "The model holds facts and the template context adds what is printed (src/plan/print): `it.model.entities[i]`, `it.entity`, `it.group` and `it.model.operations` keep every field they had (`sql`, `column`, `literal`, `tempKey.make`/`check`, `queryStyles`), and each entity has a runtime description (`description`, printed as `descriptionLiteral`, named `descriptionName`) that `sync/entities.ts` exports (`ENTITIES`, replacing `SYNC_ENTITIES`); `db/schema.ts` now lists `{ entity, tables, objects }` per entity plus `objectSuffixes`, and collections take `entity` instead of `table`/`key`/`columns`/`tempKey`. The SQL partials print the bookkeeping names from `it.sql`: include them with `{ sql: it.sql }` (`partials/sql/shared.eta`) and `{ entity, sql: it.sql }` (`tables.eta`, `objects.eta`). Use `entity.newKey` (`uuid` | `negative` | `prefixed` | `required`) instead of comparing `keyField.pgType` with `uuid`; fields have a `codec`. Hooks use the runtime's one `settle()` (collections/pglite-collection.ts).",
  1: "The first versioned template context (sync-patterns 0.1): `it = { model, settings, entity?, group? }`. Templates from before it have no declared version; compare them with the built-ins (`sync-patterns templates diff`).",
};

/** The notes for moving templates from version `from` to the current MODEL_VERSION (or back, when `from` is newer). */
export function migrationNotes(from: number, to = MODEL_VERSION): string[] {
  if (from > to) return [`Your templates were written for a newer sync-patterns (model version ${from}); install that version, or rewrite them for version ${to}.`];
  const notes: string[] = [];
  for (let v = from + 1; v <= to; v++) notes.push(`v${v}: ${MODEL_MIGRATIONS[v] ?? "(no notes recorded)"}`);
  return notes;
}
