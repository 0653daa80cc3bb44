/**
 * sync-patterns.config.yaml → ResolvedConfig. Every default is set here, once.
 *
 * ```yaml
 * spec: ./openapi.yaml            # file or http(s) URL (required)
 * output: src/generated           # folder the generator owns
 * apiUrl: http://localhost:3000   # default base URL of the REST API
 * electricUrl: http://localhost:3001/v1/shape
 * templates: sync-patterns/templates   # ejected templates
 * format: none                    # none | prettier | biome
 * entities:                       # added by `sync-patterns add`
 *   contact: { mode: local-first, table: contacts }
 *   repo_hook: { path: "/repos/{owner}/{repo}/hooks", params: { repo: repo_name } }
 * artifacts:                      # the team's own templates, rendered into the output
 *   - { template: forms/entity.tsx.eta, output: "forms/{entity}.tsx", each: entity }
 *   - { template: routes.ts.eta, output: routes.ts }
 * ```
 */
import fs from "node:fs/promises";
import path from "node:path";
import { isMap, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import { error, fail, ok, type Diagnostic, type Result, type SourceLocation } from "../diagnostics/diagnostic.js";
import { closest } from "../diagnostics/suggest.js";
import type { KeySource, SyncMode } from "../model/types.js";

export const CONFIG_FILE = "sync-patterns.config.yaml";

export const DEFAULTS = {
  output: "src/generated",
  templates: "sync-patterns/templates",
  format: "none",
} as const;

export type Formatter = "none" | "prettier" | "biome";
export const FORMATTERS: readonly Formatter[] = ["none", "prettier", "biome"];
export const SYNC_MODES: readonly SyncMode[] = ["local-first", "confirmed"];

export interface EntityConfig {
  mode?: SyncMode;
  table?: string;
  /** The resource's collection path; with it, the entry's key is the entity's name. */
  path?: string;
  /** Path parameter → row property, for parameters not named like a property. */
  params?: Record<string, string>;
  /** Who makes the keys: `client` or `server` (docs/extensions.md, "Keys: who makes them"); overrides x-sync.key_source. */
  keySource?: KeySource;
}

/** How often an extra artifact is rendered: once, per synced entity, or per API group. */
export type ArtifactEach = "once" | "entity" | "group";
export const ARTIFACT_EACH: readonly ArtifactEach[] = ["once", "entity", "group"];
/** Extensions an extra artifact may have: the generator writes a comment header into every file. */
export const ARTIFACT_EXTENSIONS: readonly string[] = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".sql"];

/** An extra artifact declared in the config (`artifacts:`): a template of the project rendered into the output. */
export interface ArtifactConfig {
  /** Logical template name, relative to the template folder: `forms/entity.tsx.eta`. */
  template: string;
  /** Output path relative to the output folder; `{entity}` (kebab name) or `{group}` (group file) when `each` says so. */
  output: string;
  each: ArtifactEach;
  /** The entry in the config file, for errors found later (missing template, clashing output). */
  location: SourceLocation;
}

export interface ResolvedConfig {
  /** Project folder (where the config file is). */
  root: string;
  /** The config file, relative to the working directory, for messages. */
  file: string;
  /** Spec location as written: a path relative to `root`, or a URL. */
  spec: string;
  /** Output folder relative to `root`. */
  output: string;
  apiUrl?: string;
  electricUrl?: string;
  /** Where `output` is set in the config file (for errors about the folder found later). */
  outputLocation?: SourceLocation;
  /** Ejected templates folder relative to `root`. */
  templates: string;
  format: Formatter;
  entities: Record<string, EntityConfig>;
  /** Extra artifacts, in the order written. */
  artifacts: ArtifactConfig[];
}

const KEYS = ["spec", "output", "apiUrl", "electricUrl", "templates", "format", "entities", "artifacts"] as const;
const ENTITY_KEYS = ["mode", "table", "path", "params", "key_source"] as const;
const ARTIFACT_KEYS = ["template", "output", "each"] as const;

export async function loadConfig(root: string, displayRoot = root): Promise<Result<ResolvedConfig>> {
  const abs = path.join(root, CONFIG_FILE);
  const file = path.relative(displayRoot, abs) || CONFIG_FILE;
  let text: string;
  try {
    text = await fs.readFile(abs, "utf8");
  } catch {
    return fail([error("config/not-found", `No ${CONFIG_FILE} in ${root}.`, { file }, "Run `npx sync-patterns init` first, or run the command from the project folder.")]);
  }
  return parseConfig(text, root, file);
}

export function parseConfig(text: string, root: string, file: string): Result<ResolvedConfig> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  const at = (keyPath: (string | number)[]): { file: string; pointer: string; line?: number; column?: number } => {
    // Point at the key of the setting: that is where a reader looks.
    const parent = keyPath.length > 1 ? doc.getIn(keyPath.slice(0, -1), true) : doc.contents;
    const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(keyPath.at(-1))) : undefined;
    const node = (pair?.key ?? doc.getIn(keyPath, true)) as { range?: [number, number] } | undefined;
    const pointer = "/" + keyPath.join("/");
    const pos = node?.range ? lc.linePos(node.range[0]) : undefined;
    return { file, pointer, ...(pos ? { line: pos.line, column: pos.col } : {}) };
  };
  if (doc.errors.length) {
    return fail(doc.errors.map((e) => error("config/syntax", `Syntax error: ${e.message.split("\n")[0]}`, { file, ...(e.linePos?.[0] ? { line: e.linePos[0].line, column: e.linePos[0].col } : {}) }, "Fix the YAML syntax.")));
  }
  const raw = doc.toJS() as unknown;
  const diags: Diagnostic[] = [];
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return fail([error("config/not-an-object", "The config must be a YAML mapping with at least `spec:`.", { file, line: 1, column: 1 }, "Start it with `spec: ./openapi.yaml`.")]);
  }
  const cfg = raw as Record<string, unknown>;
  for (const key of Object.keys(cfg)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      const near = closest(key, KEYS);
      diags.push(error("config/unknown-key", `Unknown setting \`${key}\`.`, at([key]), near ? `Did you mean \`${near}\`?` : `Known settings: ${KEYS.join(", ")}.`));
    }
  }
  const str = (key: string, required = false): string | undefined => {
    const v = cfg[key];
    if (v === undefined || v === null) {
      if (required) diags.push(error("config/missing-key", `\`${key}\` is required.`, { file, line: 1, column: 1 }, `Add \`${key}: ./openapi.yaml\` (a path or an http(s) URL).`));
      return undefined;
    }
    if (typeof v !== "string" || v.trim() === "") {
      diags.push(error("config/wrong-type", `\`${key}\` must be a non-empty string, got ${JSON.stringify(v)}.`, at([key])));
      return undefined;
    }
    return v;
  };
  const inside = (key: string, value: string): string | undefined => {
    const resolved = path.resolve(root, value);
    const rel = path.relative(root, resolved);
    if (rel === "" || rel === ".." || rel.startsWith(".." + path.sep) || path.isAbsolute(rel)) {
      diags.push(error("config/path-outside-project", `\`${key}: ${value}\` is outside the project folder.`, at([key]), `Use a folder inside ${root}, such as \`${key === "output" ? DEFAULTS.output : DEFAULTS.templates}\`.`));
      return undefined;
    }
    return rel.split(path.sep).join("/");
  };
  const url = (key: string): string | undefined => {
    const v = str(key);
    if (v !== undefined && !/^https?:\/\/|^\//.test(v)) {
      diags.push(error("config/wrong-type", `\`${key}\` must be an http(s) URL or an absolute path, got ${JSON.stringify(v)}.`, at([key]), `For example \`${key}: http://localhost:3000\`.`));
      return undefined;
    }
    return v;
  };

  const spec = str("spec", true);
  const output = inside("output", str("output") ?? DEFAULTS.output);
  const templates = inside("templates", str("templates") ?? DEFAULTS.templates);
  const apiUrl = url("apiUrl");
  const electricUrl = url("electricUrl");
  const format = (str("format") ?? DEFAULTS.format) as Formatter;
  if (!FORMATTERS.includes(format)) diags.push(error("config/wrong-value", `\`format\` must be one of ${FORMATTERS.join(", ")}.`, at(["format"])));

  const entities: Record<string, EntityConfig> = {};
  const rawEntities = cfg.entities;
  if (rawEntities !== undefined && rawEntities !== null) {
    if (typeof rawEntities !== "object" || Array.isArray(rawEntities)) {
      diags.push(error("config/wrong-type", "`entities` must be a mapping of entity name → settings.", at(["entities"]), "For example `entities: { contact: { mode: local-first } }`."));
    } else {
      for (const [name, value] of Object.entries(rawEntities as Record<string, unknown>)) {
        const e: EntityConfig = {};
        if (value !== null && (typeof value !== "object" || Array.isArray(value))) {
          diags.push(error("config/wrong-type", `\`entities.${name}\` must be a mapping.`, at(["entities", name]), "For example `{ mode: local-first }`."));
          continue;
        }
        for (const [k, v] of Object.entries((value ?? {}) as Record<string, unknown>)) {
          if (k === "mode") {
            if (!SYNC_MODES.includes(v as SyncMode)) diags.push(error("config/wrong-value", `\`entities.${name}.mode\` must be local-first or confirmed.`, at(["entities", name, k])));
            else e.mode = v as SyncMode;
          } else if (k === "table") {
            if (typeof v !== "string" || v === "") diags.push(error("config/wrong-type", `\`entities.${name}.table\` must be a string.`, at(["entities", name, k])));
            else e.table = v;
          } else if (k === "path") {
            if (typeof v !== "string" || !v.startsWith("/")) diags.push(error("config/wrong-type", `\`entities.${name}.path\` must be a path of the spec, got ${JSON.stringify(v)}.`, at(["entities", name, k]), "For example `path: /repos/{owner}/{repo}/hooks` (the collection path, as the spec writes it)."));
            else e.path = v;
          } else if (k === "key_source") {
            if (v !== "client" && v !== "server") diags.push(error("config/wrong-value", `\`entities.${name}.key_source\` must be client or server, got ${JSON.stringify(v)}.`, at(["entities", name, k]), "`server` when the server assigns keys (serial ids), `client` when it keeps the key the client sends."));
            else e.keySource = v;
          } else if (k === "params") {
            if (v === null || typeof v !== "object" || Array.isArray(v)) {
              diags.push(error("config/wrong-type", `\`entities.${name}.params\` must map path parameters to row properties.`, at(["entities", name, k]), "For example `params: { file_key: fileKey }`."));
            } else {
              const params: Record<string, string> = {};
              for (const [param, field] of Object.entries(v as Record<string, unknown>)) {
                if (typeof field !== "string" || field === "") diags.push(error("config/wrong-type", `\`entities.${name}.params.${param}\` must name a property of the row, got ${JSON.stringify(field)}.`, at(["entities", name, k, param]), `For example \`${param}: ${param}\`.`));
                else params[param] = field;
              }
              e.params = params;
            }
          } else {
            const near = closest(k, ENTITY_KEYS);
            diags.push(error("config/unknown-key", `Unknown entity setting \`${k}\`.`, at(["entities", name, k]), near ? `Did you mean \`${near}\`?` : `Known: ${ENTITY_KEYS.join(", ")}.`));
          }
        }
        entities[name] = e;
      }
    }
  }
  const artifacts = parseArtifacts(cfg.artifacts, at, diags);
  if (diags.length || spec === undefined || output === undefined || templates === undefined) return fail(diags);
  return ok({ root, file, spec, output, templates, format, entities, artifacts, outputLocation: cfg.output === undefined ? { file, pointer: "/output" } : at(["output"]), ...(apiUrl ? { apiUrl } : {}), ...(electricUrl ? { electricUrl } : {}) });
}

type At = (keyPath: (string | number)[]) => SourceLocation;

/** `artifacts:` → ArtifactConfig[]; problems go to `diags`, each at its entry or key. */
function parseArtifacts(raw: unknown, at: At, diags: Diagnostic[]): ArtifactConfig[] {
  if (raw === undefined || raw === null) return [];
  const example = "For example `artifacts: [{ template: forms/entity.tsx.eta, output: \"forms/{entity}.tsx\", each: entity }]`.";
  if (!Array.isArray(raw)) {
    diags.push(error("config/wrong-type", "`artifacts` must be a list of `{ template, output, each? }`.", at(["artifacts"]), example));
    return [];
  }
  const out: ArtifactConfig[] = [];
  raw.forEach((item: unknown, i) => {
    const where = `artifacts[${i}]`;
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      diags.push(error("config/wrong-type", `\`${where}\` must be a mapping with \`template\` and \`output\`.`, at(["artifacts", i]), example));
      return;
    }
    const entry = item as Record<string, unknown>;
    const before = diags.length;
    for (const key of Object.keys(entry)) {
      if (!(ARTIFACT_KEYS as readonly string[]).includes(key)) {
        const near = closest(key, ARTIFACT_KEYS);
        diags.push(error("config/unknown-key", `Unknown artifact setting \`${key}\`.`, at(["artifacts", i, key]), near ? `Did you mean \`${near}\`?` : `Known: ${ARTIFACT_KEYS.join(", ")}.`));
      }
    }
    const text = (key: "template" | "output"): string | undefined => {
      const v = entry[key];
      if (v === undefined || v === null) {
        diags.push(error("config/missing-key", `\`${where}.${key}\` is required.`, at(["artifacts", i]), example));
        return undefined;
      }
      if (typeof v !== "string" || v.trim() === "") {
        diags.push(error("config/wrong-type", `\`${where}.${key}\` must be a non-empty string, got ${JSON.stringify(v)}.`, at(["artifacts", i, key])));
        return undefined;
      }
      return v;
    };
    const each = entry.each ?? "once";
    if (!ARTIFACT_EACH.includes(each as ArtifactEach)) {
      diags.push(error("config/wrong-value", `\`${where}.each\` must be one of ${ARTIFACT_EACH.join(", ")}, got ${JSON.stringify(each)}.`, at(["artifacts", i, "each"]), "`entity`: one file per synced entity; `group`: one per API group; leave it out for one file."));
    }
    const template = relativePath(text("template"), "template", `${where}.template`, at(["artifacts", i, "template"]), diags);
    const output = relativePath(text("output"), "output", `${where}.output`, at(["artifacts", i, "output"]), diags);
    if (output !== undefined) {
      if (!ARTIFACT_EXTENSIONS.includes(path.posix.extname(output))) {
        diags.push(error("config/wrong-value", `\`${where}.output: ${output}\` must end in ${ARTIFACT_EXTENSIONS.join(", ")}.`, at(["artifacts", i, "output"]), "Generated files carry a comment header, so only code files can be generated."));
      }
      const placeholders = [...output.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!);
      const allowed = each === "entity" ? ["entity"] : each === "group" ? ["group"] : [];
      for (const p of placeholders.filter((p) => !allowed.includes(p))) {
        diags.push(error("config/wrong-value", `\`${where}.output\` uses {${p}}, which ${allowed.length ? `is not known with \`each: ${String(each)}\`; use {${allowed[0]}}` : "needs `each: entity` ({entity}) or `each: group` ({group})"}.`, at(["artifacts", i, "output"])));
      }
      if (allowed.length && !placeholders.includes(allowed[0]!)) {
        diags.push(error("config/wrong-value", `\`${where}.output\` must contain {${allowed[0]}}: with \`each: ${String(each)}\` every ${allowed[0]} would write the same file.`, at(["artifacts", i, "output"]), `For example \`output: "${allowed[0] === "entity" ? "forms/{entity}.tsx" : "api/{group}.extra.ts"}"\`.`));
      }
    }
    if (diags.length === before && template !== undefined && output !== undefined) out.push({ template, output, each: each as ArtifactEach, location: at(["artifacts", i]) });
  });
  return out;
}

/** A relative path that stays inside its folder (the template folder or the output folder), normalized with `/`. */
function relativePath(value: string | undefined, what: "template" | "output", name: string, where: SourceLocation, diags: Diagnostic[]): string | undefined {
  if (value === undefined) return undefined;
  const clean = path.posix.normalize(value.replace(/\\/g, "/"));
  const folder = what === "template" ? "template folder (config `templates`)" : "output folder (config `output`)";
  if (clean.startsWith("/") || /^[a-zA-Z]:/.test(clean) || clean === ".." || clean.startsWith("../") || clean === "." || clean.endsWith("/")) {
    diags.push(error("config/path-outside-folder", `\`${name}: ${value}\` must be a file path inside the ${folder}.`, where, `Write it relative to the ${folder}, without \`..\`: ${what === "template" ? "`forms/entity.tsx.eta`" : "`forms/{entity}.tsx`"}.`));
    return undefined;
  }
  if (what === "template" && clean.split("/")[0] === ".base") {
    diags.push(error("config/wrong-value", `\`${name}: ${value}\` points into .base/, the pristine copies kept for upgrades.`, where, "Name your own template, or an ejected one, instead."));
    return undefined;
  }
  return clean;
}

/** The config file text for `init`. */
export function renderConfig(cfg: { spec: string; output: string; apiUrl?: string; electricUrl?: string }): string {
  const lines = [
    "# sync-patterns configuration (docs/config.md in the sync-patterns package). Regenerate with `npx sync-patterns generate`.",
    `spec: ${JSON.stringify(cfg.spec)}`,
    `output: ${JSON.stringify(cfg.output)}`,
  ];
  if (cfg.apiUrl) lines.push(`apiUrl: ${JSON.stringify(cfg.apiUrl)}`);
  if (cfg.electricUrl) lines.push(`electricUrl: ${JSON.stringify(cfg.electricUrl)}`);
  lines.push(`templates: ${JSON.stringify(DEFAULTS.templates)}`);
  return lines.join("\n") + "\n";
}

/** Removes `entities.<name>` from the config text (when `add --as` renames an entry), keeping comments and layout. */
export function withoutEntity(text: string, name: string): string {
  const doc: Document = parseDocument(text);
  doc.deleteIn(["entities", name]);
  return doc.toString();
}

/** The settings `init` writes; `init --force` replaces these and keeps every other one. */
export const INIT_KEYS = ["spec", "output", "apiUrl", "electricUrl"] as const;

/**
 * `init --force` on an existing config: sets init's own settings (removing apiUrl/electricUrl when
 * not given) and keeps the rest (entities, artifacts, templates, format), comments and layout.
 * A config that is not valid YAML is replaced whole (`kept` is empty).
 */
export function reinitConfig(text: string, cfg: { spec: string; output: string; apiUrl?: string; electricUrl?: string }): { text: string; kept: string[] } {
  const doc: Document = parseDocument(text);
  if (doc.errors.length || !isMap(doc.contents)) return { text: renderConfig(cfg), kept: [] };
  for (const key of INIT_KEYS) {
    const value = cfg[key];
    if (value === undefined) doc.delete(key);
    else doc.set(key, value);
  }
  const kept = doc.contents.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key)).filter((k) => !(INIT_KEYS as readonly string[]).includes(k));
  return { text: doc.toString(), kept };
}

/** Adds or updates `entities.<name>` in the config text, keeping comments and layout. */
export function withEntity(text: string, name: string, entity: EntityConfig): string {
  const doc: Document = parseDocument(text);
  if (!isMap(doc.get("entities"))) doc.set("entities", doc.createNode({}));
  const value: Record<string, unknown> = {};
  if (entity.mode) value.mode = entity.mode;
  if (entity.table) value.table = entity.table;
  if (entity.path) value.path = entity.path;
  if (entity.params && Object.keys(entity.params).length) value.params = entity.params;
  if (entity.keySource) value.key_source = entity.keySource;
  doc.setIn(["entities", name], doc.createNode(value));
  return doc.toString();
}

