/**
 * `<templates>/context.d.ts`: the types of everything a template can use (`it`), for template
 * authors and their editors. It is made from the compiled declarations of `src/model/types.ts`
 * and `src/plan/context.ts` (shipped in dist/), not from hand-written text, so it always matches
 * what templates get. Written on eject and refreshed by `templates update`.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MODEL_VERSION } from "../model/types.js";
import { VERSION } from "../version.js";

export const CONTEXT_FILE = "context.d.ts";

/** The modules that make up the template context, relative to this one (src/eject or dist/src/eject). */
const MODULES = ["../model/types", "../plan/context"] as const;

/** The text of context.d.ts. */
export async function contextTypes(): Promise<string> {
  const here = fileURLToPath(import.meta.url);
  const parts: string[] = [];
  for (const mod of MODULES) {
    const base = path.resolve(path.dirname(here), mod);
    const dts = here.endsWith(".js") ? await fs.readFile(`${base}.d.ts`, "utf8") : await declarationsFromSource(`${base}.ts`);
    parts.push(
      dts
        // context.ts's own header (about the source tree) and its import of the model types.
        .replace(/^(\/\*\*[\s\S]*?\*\/\n)?import type .* from "\.\.\/model\/types\.js";\n/m, "")
        .replace(/^\/\/# sourceMappingURL=.*\n?/m, "")
        .trim(),
    );
  }
  return [
    `// The template context of sync-patterns ${VERSION} (model version ${MODEL_VERSION}): every Eta template gets \`it: TemplateData\`.`,
    "// Generated: `sync-patterns eject templates` and `sync-patterns templates update` rewrite this file. Do not edit.",
    "// `it.entity` is set for per-entity templates, `it.group` for per-group ones (see docs/templates.md).",
    '// TypeScript code of your own can use it too: import type { TemplateData } from "./context.js";',
    "",
    ...parts.flatMap((p) => [p, ""]),
  ].join("\n");
}

/** Writes context.d.ts into the template folder when its text changed. */
export async function writeContextTypes(templatesDir: string): Promise<boolean> {
  const file = path.join(templatesDir, CONTEXT_FILE);
  const text = await contextTypes();
  const current = await fs.readFile(file, "utf8").catch(() => undefined);
  if (current === text) return false;
  await fs.mkdir(templatesDir, { recursive: true });
  await fs.writeFile(file, text);
  return true;
}

/** In a development checkout run from source (no dist/), the declarations come from the TypeScript compiler. */
async function declarationsFromSource(file: string): Promise<string> {
  const { default: ts } = await import("typescript");
  const source = await fs.readFile(file, "utf8");
  return ts.transpileDeclaration(source, { fileName: file, compilerOptions: { removeComments: false } }).outputText;
}
