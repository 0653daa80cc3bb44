/**
 * SQL printing, in one place: quoted identifiers, string literals, the bookkeeping names and an
 * entity's SQL text (its objects' quoted names, each field's column and literal, how a temporary
 * key is made and recognized). The model holds the facts (names, types); the SQL templates
 * (templates/partials/sql/*.eta) print what this module gives them through `it`.
 */
import { docComment, printKey, printTsType } from "./typescript.js";
import { BOOKKEEPING, CHANNELS, ENTITY_OBJECT_SUFFIXES, SYNC_STATUS_COLUMN } from "../../model/sql-names.js";
import type { Entity, EntityField } from "../../model/types.js";
import type { BookkeepingSql, EntitySql, TemplateField } from "../context.js";

/** A double-quoted SQL identifier with embedded quotes doubled: `order` → `"order"`. */
export function sqlIdentifier(name: string): string {
  return `"${name.replace(/\u0000/g, "").replace(/"/g, '""')}"`;
}

/** A single-quoted SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/\u0000/g, "").replace(/'/g, "''")}'`;
}

/** The bookkeeping names (src/model/sql-names.ts) as quoted identifiers, for the SQL templates (`it.sql`). */
export function bookkeepingSql(): BookkeepingSql {
  const quoted = Object.fromEntries(Object.entries(BOOKKEEPING).map(([k, v]) => [k, sqlIdentifier(v)])) as Record<keyof typeof BOOKKEEPING, string>;
  return {
    ...quoted,
    channelChanges: sqlString(CHANNELS.changes),
    channelChangeStatus: sqlString(CHANNELS.changeStatus),
    channelFeed: sqlString(CHANNELS.feed),
    rebuildSuffix: sqlString(ENTITY_OBJECT_SUFFIXES.rebuild),
    syncStatus: sqlIdentifier(SYNC_STATUS_COLUMN),
    syncStatusLiteral: sqlString(SYNC_STATUS_COLUMN),
  };
}

/** A field with its column (quoted identifier), its name as a string literal and as a TypeScript key, its type and doc comment. */
export function printField(f: EntityField): TemplateField {
  return { ...f, key: printKey(f.name), doc: docComment(f.doc), tsType: printTsType(f.type), column: sqlIdentifier(f.name), literal: sqlString(f.name) };
}

/** The quoted names of an entity's SQL objects and its name as a string literal. */
export function entitySql(e: Entity): EntitySql {
  const o = e.objects;
  return {
    table: sqlIdentifier(e.table),
    synced: sqlIdentifier(o.synced),
    local: sqlIdentifier(o.local),
    view: sqlIdentifier(o.view),
    literal: sqlString(e.table),
    rebuild: sqlIdentifier(o.rebuild),
    onInsert: sqlIdentifier(o.onInsert),
    onUpdate: sqlIdentifier(o.onUpdate),
    onDelete: sqlIdentifier(o.onDelete),
    feed: sqlIdentifier(o.feed),
    ack: sqlIdentifier(o.ack),
  };
}

/** How a temporary key is made (`make`, a value of the key's type) and recognized in `NEW` (`check`). */
export function tempKeySql(kind: NonNullable<Entity["tempKey"]>["kind"], key: EntityField): { make: string; check: string } {
  const col = `NEW.${sqlIdentifier(key.name)}`;
  if (kind === "uuid") return { make: "gen_random_uuid()", check: "true" };
  if (kind === "prefixed") return { make: `'tmp:' || gen_random_uuid()::text`, check: `left(${col}, 4) = 'tmp:'` };
  return { make: `-nextval(${sqlString(sqlIdentifier(BOOKKEEPING.tempKeySequence))})`, check: `${col} < 0` };
}
