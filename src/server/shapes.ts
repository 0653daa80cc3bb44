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
   * The value of a scoped shape's scope column that this user may see (`user.householdId`), or
   * the list of them (the households the user is a member of: `"household_id" IN ($1, …)`);
   * null, undefined or an empty list: the user may not read the shape (403). Called for every
   * shape request, so a membership granted or revoked changes the shape at the next request
   * (Electric answers the client's old handle with 409 and it re-reads: rows come and go).
   */
  scope?: (user: User, shape: SpecShape) => WhereParam | readonly WhereParam[] | null | undefined | Promise<WhereParam | readonly WhereParam[] | null | undefined>;
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
      where: async (user) => {
        const value = await scopeOf(user, shape);
        if (value === null || value === undefined) return null;
        if (!isList(value)) return { where: `${quoteIdent(scope)} = $1`, params: [value] };
        // Sorted and distinct: the same memberships always make the same shape (and handle).
        const values = [...new Set(value.map((v) => String(v)))].sort();
        if (values.length === 0) return null;
        return { where: `${quoteIdent(scope)} IN (${values.map((_, i) => `$${i + 1}`).join(", ")})`, params: values };
      },
    };
  }
  return out;
}

function isList(value: WhereParam | readonly WhereParam[]): value is readonly WhereParam[] {
  return Array.isArray(value);
}

/** A Postgres identifier, always quoted (`"order"`, `"a""b"`). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
