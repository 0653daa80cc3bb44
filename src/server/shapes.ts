/**
 * Shape definitions from the spec: `generate` writes `server/shapes.json` next to the client
 * (one entry per synced entity: its table, the columns that leave the server — `x-sync-exclude`
 * fields are not among them — and its `x-sync.scope` column). `shapesFromSpec` turns it into the
 * proxy's definitions, so the columns and the scope come from the same spec as the client.
 */
import type { ShapeDefinition, WhereParam } from "./shape-proxy.js";

/** One entry of `server/shapes.json`. */
export interface SpecShape {
  /** The entity's name (`contact`). */
  entity: string;
  /** The Postgres table, also the shape name the client asks for. */
  table: string;
  key: string;
  /** Synced columns, the key included; `x-sync-exclude` fields are not listed. */
  columns: string[];
  /** `x-sync.scope`: the column rows are scoped by; null when the entity is not scoped. */
  scope: string | null;
}

/** The contents of the generated `server/shapes.json`. */
export interface SpecShapes {
  shapes: Record<string, SpecShape>;
}

export interface FromSpecOptions<User> {
  /**
   * The value of a scoped shape's scope column that this user may see (`user.householdId`);
   * null or undefined: the user may not read the shape (403).
   */
  scope?: (user: User, shape: SpecShape) => WhereParam | null | undefined;
}

export function shapesFromSpec<User>(spec: SpecShapes, options: FromSpecOptions<User> = {}): Record<string, ShapeDefinition<User>> {
  const out: Record<string, ShapeDefinition<User>> = {};
  for (const [name, shape] of Object.entries(spec.shapes)) {
    const scope = shape.scope;
    if (scope === null) {
      out[name] = { table: shape.table, key: shape.key, columns: shape.columns };
      continue;
    }
    const scopeOf = options.scope;
    if (!scopeOf) throw new TypeError(`The shape ${JSON.stringify(name)} is scoped by ${JSON.stringify(scope)} (x-sync.scope): pass shapesFromSpec(…, { scope: (user) => <the user's ${scope}> }).`);
    out[name] = {
      table: shape.table,
      key: shape.key,
      columns: shape.columns,
      where: (user) => {
        const value = scopeOf(user, shape);
        return value === null || value === undefined ? null : { where: `${quoteIdent(scope)} = $1`, params: [value] };
      },
    };
  }
  return out;
}

/** A Postgres identifier, always quoted (`"order"`, `"a""b"`). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
