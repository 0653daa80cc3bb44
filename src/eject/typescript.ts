/**
 * The TypeScript `templates check` runs: the compiler the project has installed (found through
 * its package's `bin` field, so TypeScript 5's `bin/tsc` and TypeScript 7's native `tsc` both
 * resolve), and the compiler options of the project's own tsconfig for the output folder, with
 * the strictness flags of the stock app templates on top.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { createFilesMatcher, getTsconfig, parseTsconfig, type TsConfigResult } from "get-tsconfig";

export interface Compiler {
  /** The package that provides it (`typescript` or `@typescript/native-preview`). */
  package: string;
  version: string;
  /** A Node script: run it as `node <bin> …`. */
  bin: string;
}

/** Packages that ship a `tsc`-compatible command line, and the name of the command in their `bin`. */
const COMPILER_PACKAGES: [pkg: string, command: string][] = [
  ["typescript", "tsc"],
  ["@typescript/native-preview", "tsgo"],
];

/** The compiler from the project's own node_modules, else the one sync-patterns was installed with. */
export function resolveCompiler(root: string): Compiler | undefined {
  for (const from of [path.join(root, "package.json"), import.meta.url]) {
    const require = createRequire(from);
    for (const [pkg, command] of COMPILER_PACKAGES) {
      const found = compilerIn(require, pkg, command);
      if (found) return found;
    }
  }
  return undefined;
}

function compilerIn(require: NodeJS.Require, pkg: string, command: string): Compiler | undefined {
  let manifestPath: string;
  try {
    // `package.json` is exported by every TypeScript package; `bin/tsc` is not by TypeScript 7.
    manifestPath = require.resolve(`${pkg}/package.json`);
  } catch {
    return undefined;
  }
  const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as { version?: string; bin?: string | Record<string, string> };
  const rel = typeof manifest.bin === "string" ? manifest.bin : manifest.bin?.[command];
  if (!rel) return undefined;
  const bin = path.resolve(path.dirname(manifestPath), rel);
  return fs.existsSync(bin) ? { package: pkg, version: manifest.version ?? "0.0.0", bin } : undefined;
}

/**
 * Flags the check adds to whatever config it starts from: `strict` and the checks strict
 * projects add, and the ones the stock `create-vite` templates set (`erasableSyntaxOnly`,
 * `verbatimModuleSyntax`, `noUncheckedSideEffectImports`, …), each from the TypeScript version
 * that knows it.
 */
const STRICTNESS: [flag: string, since: [major: number, minor: number]][] = [
  ["strict", [2, 3]],
  ["noUncheckedIndexedAccess", [4, 1]],
  ["exactOptionalPropertyTypes", [4, 4]],
  ["noUnusedLocals", [2, 0]],
  ["noUnusedParameters", [2, 0]],
  ["noFallthroughCasesInSwitch", [1, 8]],
  ["verbatimModuleSyntax", [5, 0]],
  ["noUncheckedSideEffectImports", [5, 6]],
  ["erasableSyntaxOnly", [5, 8]],
];

/** The options of the check when the project has no tsconfig for the output folder. */
export const STANDALONE_OPTIONS = {
  target: "ES2022",
  module: "ESNext",
  moduleResolution: "Bundler",
  moduleDetection: "force",
  lib: ["ES2022", "DOM", "DOM.Iterable"],
  jsx: "react-jsx",
  skipLibCheck: true,
  types: [],
} as const;

export function strictnessFlags(version: string): Record<string, true> {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const known = ([m, n]: [number, number]): boolean => major > m || (major === m && minor >= n);
  return Object.fromEntries(STRICTNESS.filter(([, since]) => known(since)).map(([flag]) => [flag, true]));
}

/**
 * The project's tsconfig whose files include the output folder: the nearest tsconfig.json
 * above it, or, when that one is a solution (`references`, as `create-vite`'s is), the
 * referenced config that includes it (`tsconfig.app.json`). Undefined when the project has none.
 */
export function projectTsconfig(root: string, outputDir: string): string | undefined {
  const probe = path.join(outputDir, "index.ts");
  const nearest = getTsconfig(outputDir);
  if (!nearest || path.relative(root, nearest.path).startsWith("..")) return undefined;
  const candidates: TsConfigResult[] = [nearest];
  for (const ref of nearest.config.references ?? []) {
    let file = path.resolve(path.dirname(nearest.path), ref.path);
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, "tsconfig.json");
    if (fs.existsSync(file)) candidates.push({ path: file, config: parseTsconfig(file) });
  }
  const including = candidates.find((c) => createFilesMatcher(c)(probe));
  if (including) return including.path;
  // A config that lists no files of its own only points at others: none of them covers the output.
  const solution = Array.isArray(nearest.config.files) && nearest.config.files.length === 0;
  return solution ? undefined : nearest.path;
}

/**
 * The tsconfig.json of the check folder: the project's config (extended, so its paths, `types`
 * and `lib` resolve as in the app) or the standalone options, with the strictness flags on top,
 * emitting nothing and ignoring what only a build of the project's own files means
 * (`rootDir`, `composite`, build info).
 */
export function checkTsconfig(compiler: Compiler, base: string | undefined): Record<string, unknown> {
  const strict: Record<string, boolean> = strictnessFlags(compiler.version);
  // A CommonJS project compiles the client's ES imports to require(); verbatimModuleSyntax would refuse them.
  const module = base ? String(parseTsconfig(base).compilerOptions?.module ?? "").toLowerCase() : "";
  if (module === "commonjs") delete strict.verbatimModuleSyntax;
  const compilerOptions = base
    ? { ...strict, noEmit: true, composite: false, incremental: false, declaration: false, emitDeclarationOnly: false, tsBuildInfoFile: null, rootDir: null, outDir: null }
    : { ...STANDALONE_OPTIONS, ...strict, noEmit: true };
  return {
    ...(base ? { extends: base } : {}),
    compilerOptions,
    // An empty `files` overrides the base's own list; without a base it would be an error (TS18002).
    ...(base ? { files: [] } : {}),
    include: ["**/*.ts", "**/*.tsx", "**/*.mts", "**/*.cts"],
    exclude: ["node_modules"],
    references: [],
  };
}
