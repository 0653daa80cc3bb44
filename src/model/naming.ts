/**
 * Naming: every identifier the generated code uses is decided here.
 *
 * Rules (documented in docs/naming.md):
 *  1. Words are split by change-case: on non-alphanumerics and on lower→upper case changes;
 *     letters of any script and ASCII digits are kept, other characters become word breaks.
 *     Plural and singular forms come from `pluralize`, with the house exceptions below.
 *  2. A name that starts with a digit is prefixed with `_`.
 *  3. A name that is a reserved word in TypeScript/JavaScript gets a `_` suffix (`delete_`).
 *     Type names that would shadow a global type the generated code uses get a `Schema` suffix.
 *  4. Collisions (two names that map to the same identifier, e.g. `user` and `User`) are
 *     resolved in a deterministic order (sorted by the original spelling): the first keeps the
 *     name, later ones get `2`, `3`, … and a warning names both.
 */

import { kebabCase as toKebabCase, pascalCase as toPascalCase, snakeCase as toSnakeCase, split } from "change-case";
import inflection from "pluralize";

const RESERVED_WORDS = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally " +
    "for function if import in instanceof new null return super switch this throw true try typeof var void " +
    "while with as implements interface let package private protected public static yield any boolean " +
    "constructor declare get module require number set string symbol type from of await async never unknown " +
    "undefined object bigint arguments eval keyof readonly infer is satisfies abstract namespace asserts"
  ).split(" "),
);

/** Global types the generated code refers to; a schema must not shadow them. */
const RESERVED_TYPE_NAMES = new Set(
  (
    "Array Blob Boolean Date Error File FormData Headers Map Number Object Omit Partial Pick Promise " +
    "ReadonlyArray Record Request RequestInit Required Response Set String Symbol URL URLSearchParams " +
    "AbortSignal ReturnType Exclude Extract NonNullable Readonly Function BigInt JSON Math"
  ).split(" "),
);

/** Words of a name: change-case's `split` (lower→upper and ACRONYMWord boundaries; anything but letters and ASCII digits breaks). */
export function splitWords(input: string): string[] {
  return split(input);
}

/** Plain `toUpperCase`/`toLowerCase`, never the machine's locale: output must not depend on where it runs. */
const CASE_OPTIONS = { locale: false, mergeAmbiguousCharacters: true } as const;

function fixLeadingDigit(name: string): string {
  return /^\p{Nd}/u.test(name) ? `_${name}` : name;
}

export function pascalCase(input: string): string {
  // Case mapping can add combining marks (Greek, for one); NFC folds what it can back.
  const name = toPascalCase(input, CASE_OPTIONS).normalize("NFC");
  return fixLeadingDigit(name === "" ? "Unnamed" : name);
}

export function camelCase(input: string): string {
  const p = pascalCase(input);
  return p.startsWith("_") ? p : p.charAt(0).toLowerCase() + p.slice(1);
}

export function snakeCase(input: string): string {
  const name = toSnakeCase(input, CASE_OPTIONS);
  return fixLeadingDigit(name === "" ? "unnamed" : name);
}

export function kebabCase(input: string): string {
  const name = toKebabCase(input, CASE_OPTIONS);
  return name === "" ? "unnamed" : name;
}

/**
 * Inflection is the `pluralize` library, plus the house exceptions below, registered through its
 * own rule API so that `pluralize` and `singularize` agree and the names of existing specs stay as
 * they were (docs/naming.md).
 */
const UNCOUNTABLE = ["data", "information", "money", "series", "species", "news", "metadata", "equipment"];
for (const word of UNCOUNTABLE) inflection.addUncountableRule(word);
inflection.addPluralRule(/^datum$/i, "data");
// pluralize counts "media" as uncountable; a resource needs distinct singular and plural names.
inflection.addIrregularRule("media", "medias");

/** English plural of one word (`category` → `categories`). */
export function pluralize(word: string): string {
  return inflection.plural(word);
}

/** English singular of one word; a word that already looks singular is returned unchanged. */
export function singularize(word: string): string {
  return inflection.singular(word);
}

/** Applies an inflection to the last word only: `line_item` → `line_items`. */
function inflectLast(input: string, inflect: (w: string) => string): string {
  const words = splitWords(input);
  if (words.length === 0) return input;
  words[words.length - 1] = inflect(words[words.length - 1]!);
  return words.join("_");
}

export interface NameSet {
  original: string;
  pascal: string;
  camel: string;
  snake: string;
  kebab: string;
  pascalPlural: string;
  camelPlural: string;
  snakePlural: string;
}

/** Names for an entity from its singular form. */
export function entityNames(singular: string): NameSet {
  const plural = inflectLast(singular, pluralize);
  return {
    original: singular,
    pascal: safeTypeName(pascalCase(singular)),
    camel: safeIdentifier(camelCase(singular)),
    snake: snakeCase(singular),
    kebab: kebabCase(singular),
    pascalPlural: safeTypeName(pascalCase(plural)),
    camelPlural: safeIdentifier(camelCase(plural)),
    snakePlural: snakeCase(plural),
  };
}

export function singularOf(input: string): string {
  return inflectLast(input, singularize);
}

export function pluralOf(input: string): string {
  return inflectLast(input, pluralize);
}

export function isReservedWord(name: string): boolean {
  return RESERVED_WORDS.has(name);
}

/** A value identifier: never a reserved word. */
export function safeIdentifier(name: string): string {
  return RESERVED_WORDS.has(name) ? `${name}_` : name;
}

/** A type identifier: never a reserved word, never a global type the generated code uses. */
export function safeTypeName(name: string): string {
  if (RESERVED_TYPE_NAMES.has(name)) return `${name}Schema`;
  return RESERVED_WORDS.has(name) ? `${name}_` : name;
}

const IDENTIFIER = /^[\p{L}_$][\p{L}\p{N}_$]*$/u;

export function isIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

/**
 * Hands out unique names in the order it is asked. Callers ask in a deterministic order
 * (sorted by the spec's spelling) so that output never depends on object key order.
 */
export class NameRegistry {
  private readonly taken = new Map<string, string>();
  constructor(private readonly caseInsensitive = false) {}

  /** Reserve a name; returns the unique name and, if it had to change, the owner it collided with. */
  claim(wanted: string, owner: string): { name: string; collidedWith?: string } {
    const norm = (n: string): string => (this.caseInsensitive ? n.toLowerCase() : n);
    const first = this.taken.get(norm(wanted));
    if (first === undefined) {
      this.taken.set(norm(wanted), owner);
      return { name: wanted };
    }
    for (let i = 2; ; i++) {
      const candidate = `${wanted}${i}`;
      if (!this.taken.has(norm(candidate))) {
        this.taken.set(norm(candidate), owner);
        return { name: candidate, collidedWith: first };
      }
    }
  }

  has(name: string): boolean {
    return this.taken.has(this.caseInsensitive ? name.toLowerCase() : name);
  }
}

/** Documentation texts from the spec joined as one text, one per line (non-strings and empty texts skipped). */
export function docText(...texts: unknown[]): string {
  return texts.filter((t): t is string => typeof t === "string" && t !== "").join("\n");
}
