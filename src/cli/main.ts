/**
 * The CLI: argv → command → exit code. The only place that prints, prompts or decides exit
 * codes: 0 success, 1 user error (a located message with a hint), 2 usage error.
 * Commands run as plop generators (plopfile.ts); `list` and `doctor` write no file and run directly.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { CONFIG_FILE } from "../config/config.js";
import { formatDiagnostics } from "../diagnostics/format.js";
import { closest } from "../diagnostics/suggest.js";
import type { GeneratorAnswers } from "../../plopfile.js";
import { findSpec, SPEC_CANDIDATES } from "./commands/init.js";
import { TEMPLATES_SUBCOMMANDS } from "./commands/templates.js";
import { runList } from "./commands/list.js";
import { runDoctorCommand } from "./commands/doctor.js";
import { createReport, exitCodeOf, UsageError, type Report } from "./report.js";
import { watchAndGenerate } from "./watch.js";
import { VERSION } from "../version.js";
import type { Io } from "./io.js";

export type { Io } from "./io.js";

const HELP: Record<string, string> = {
  main: `sync-patterns ${VERSION}: a typed, local-first React client from an OpenAPI spec

Usage: sync-patterns <command> [options]

Commands:
  init              write sync-patterns.config.yaml and generate the client
  generate          regenerate everything from the spec and the config
  add <entity>      add one resource of the spec to the local-first stack
  list              show the entities and operations found in the spec
  doctor            check the running backend and shape endpoint against the contract
  eject templates   copy built-in templates into the project to customise them
  templates <cmd>   status, diff, update or check your ejected templates

Options:
  --cwd <dir>       run as if started in <dir>
  -h, --help        show help (also: sync-patterns <command> --help)
  -v, --version     show the version

Exit codes: 0 success, 1 error in the spec/config/templates, 2 wrong usage.`,
  init: `Usage: sync-patterns init [options]

Writes sync-patterns.config.yaml, generates the client, and prints the npm packages it needs.
Asks for what is missing when run in a terminal; otherwise uses flags and defaults.

Options:
  --spec <path|url>       OpenAPI 3.x / Swagger 2.0 spec, YAML or JSON (default: the first that exists
                          of ${SPEC_CANDIDATES.map((c) => `./${c}`).join(", ")})
  --out <dir>             output folder (default: src/generated)
  --api-url <url>         REST API base URL (default: the spec's first server)
  --electric-url <url>    Electric shape endpoint, e.g. http://localhost:3000/v1/shape
  -y, --yes               do not ask; use flags and defaults
  --force                 rewrite an existing sync-patterns.config.yaml from these flags and defaults,
                          keeping the settings init does not set (entities, artifacts, templates, format)
  --install               install the packages the client needs (npm, pnpm or yarn); with an existing
                          config and no other flags: regenerate from it, then install`,
  generate: `Usage: sync-patterns generate [options]

Regenerates the client from the spec and sync-patterns.config.yaml. Writes only changed files,
removes files it generated earlier that are no longer produced, never touches other files.

Options:
  --check      write nothing; exit 1 and list the files that would change (for CI)
  --dry-run    write nothing; print the write plan
  --watch      regenerate when the spec, the config or an ejected template changes`,
  add: `Usage: sync-patterns add <entity> [--local-first | --confirmed] [--as <name>]

Adds a resource of the spec to the local-first stack, records it in the config and generates
its files. <entity> may be the singular or plural name (contact, contacts), the collection
path (/api/contacts) or the schema name (Contact). When two resources share a name
(/admin/hooks, /repos/{owner}/{repo}/hooks), give the path.

Options:
  --local-first   optimistic writes: resolve after the local write
  --confirmed     confirmed writes: resolve after the server accepted (default)
  --as <name>     the entity's own name (hooks, types, table), e.g. --as repo_hook`,
  list: `Usage: sync-patterns list [--json]

Shows the synced entities (mode, table, key, fields flagged x-sync-exclude / x-owner-only),
the other resources that \`add\` can sync, and every operation.

Options:
  --json   print the data as JSON`,
  doctor: `Usage: sync-patterns doctor [--api URL] [--electric URL] [--auth HEADER=VALUE …] [--entity NAME …] [--write] [--json]

Checks, for each synced entity, the running API and shape endpoint against the contract the
generated client relies on (docs/backend.md): both reachable; the shape's headers, columns,
types and key against the spec; a tampered \`where\` or \`table\` must not widen what comes back.
With --write also: a create's txid arrives in the shape with the row, a replay with the same
Idempotency-Key gives the first answer, an invalid body gets a 4xx problem+json, update and
delete reach their URLs and their txids arrive. Each finding has a code and a fix.

Options:
  --api <url>            REST API base URL (default: apiUrl in the config, else the spec's first server)
  --electric <url>       shape endpoint, Electric or your proxy (default: electricUrl in the config)
  --auth <HEADER=VALUE>  a header sent with every request, e.g. 'Authorization=Bearer …' (repeatable)
  --entity <name>        check only this entity (repeatable; default: every synced entity)
  --write                also check writes: creates, changes and deletes one row marked
                         "sync-patterns doctor" per entity, and deletes it again even when a check fails
  --json                 print the findings as one JSON document on stdout (for CI)

Exit codes: 0 no errors (warnings allowed), 1 a contract error, 2 wrong usage.`,
  eject: `Usage: sync-patterns eject templates [name…] [--force]

Copies built-in templates (all, or the named ones: a file like api/group.ts.eta, a folder like
api, or a file name like group.ts.eta) into the project's template folder (config \`templates\`,
default sync-patterns/templates). Later generations use your copy where one exists.

Options:
  --force   overwrite copies you already ejected

Also writes context.d.ts (the types of \`it\` in templates) and templates.lock.json (what was
ejected, from which version, for which template context version) into the template folder.`,
  templates: `Usage: sync-patterns templates <status | diff | update | check> [name…] [--ours | --theirs]

Keeps ejected templates up to date with the built-ins without losing your edits.

  status            per ejected template: unchanged, modified locally, changed upstream, or both
  diff [name…]      unified diffs base → yours and base → upstream
  update [name…]    three-way merge (base, yours, new built-in) into your copies; conflicting lines
                    get <<<<<<< / ======= / >>>>>>> markers and the command exits 1 until they are
                    resolved; refreshes context.d.ts
  check             render every template against the spec and type-check the result (tsc, strict)

A name is a template (api/group.ts.eta), a folder (api) or a file name (group.ts.eta); no name
means every ejected template.

Options (update only):
  --ours     settle every conflict with your lines
  --theirs   settle every conflict with the built-in's lines
Both also settle markers left by an earlier update.`,
};

type Options = NonNullable<ParseArgsConfig["options"]>;
const COMMON: Options = { help: { type: "boolean", short: "h" }, cwd: { type: "string" } };
const OPTIONS: Record<string, Options> = {
  init: { spec: { type: "string" }, out: { type: "string" }, "api-url": { type: "string" }, "electric-url": { type: "string" }, yes: { type: "boolean", short: "y" }, force: { type: "boolean" }, install: { type: "boolean" } },
  generate: { check: { type: "boolean" }, "dry-run": { type: "boolean" }, watch: { type: "boolean" } },
  add: { "local-first": { type: "boolean" }, confirmed: { type: "boolean" }, as: { type: "string" } },
  list: { json: { type: "boolean" } },
  doctor: { api: { type: "string" }, electric: { type: "string" }, auth: { type: "string", multiple: true }, entity: { type: "string", multiple: true }, write: { type: "boolean" }, json: { type: "boolean" } },
  eject: { force: { type: "boolean" } },
  templates: { ours: { type: "boolean" }, theirs: { type: "boolean" } },
};

/**
 * An option the command does not know is a `cli/unknown-option` usage error that names the
 * command, suggests the closest option it has, and says which other command takes it.
 * (node's parseArgs would say "place it at the end of the command after '--'", which is never the fix here.)
 */
function rejectUnknownOptions(command: string, args: string[], known: Options): void {
  const { tokens } = parseArgs({ args, options: known, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== "option" || Object.hasOwn(known, token.name)) continue;
    const flags = Object.entries(known).map(([name, o]) => `--${name}${o.short ? ` (-${o.short})` : ""}`);
    const near = closest(token.name, Object.keys(known));
    const elsewhere = Object.entries(OPTIONS).filter(([, o]) => Object.hasOwn(o, token.name)).map(([c]) => `\`${c}\``);
    const hint = [
      near ? `Did you mean --${near}?` : "",
      elsewhere.length ? `--${token.name} is an option of ${elsewhere.join(" and ")}.` : "",
      `Options of \`${command}\`: ${flags.join(", ")}.`,
    ].filter(Boolean).join(" ");
    throw new UsageError(`unknown option ${token.rawName} for \`sync-patterns ${command}\``, command, "cli/unknown-option", hint);
  }
}

export async function main(argv: string[], io: Io): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (e) {
    if (e instanceof UsageError) {
      const head = `error: ${e.message}  [${e.code}]${e.hint ? `\n    hint: ${e.hint}` : ""}`;
      io.stderr(`${head}\n\n${HELP[e.command ?? "main"]}`);
      return 2;
    }
    io.stderr(`internal error: ${(e as Error).stack ?? String(e)}\nThis is a bug in sync-patterns ${VERSION}; please report it with the command you ran.`);
    return 1;
  }
}

async function dispatch(argv: string[], io: Io): Promise<number> {
  const command = argv[0];
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    io.stdout(HELP[argv[1] ?? "main"] ?? HELP.main!);
    return command === undefined ? 2 : 0;
  }
  if (command === "-v" || command === "--version") {
    io.stdout(VERSION);
    return 0;
  }
  const options = OPTIONS[command];
  if (!options) {
    const near = closest(command, [...Object.keys(OPTIONS), "help"]);
    throw new UsageError(`unknown command "${command}"`, undefined, "cli/unknown-command", near ? `Did you mean \`sync-patterns ${near}\`?` : undefined);
  }
  rejectUnknownOptions(command, argv.slice(1), { ...COMMON, ...options });
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv.slice(1), options: { ...COMMON, ...options }, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^TypeError \[\w+\]: /, ""), command);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(HELP[command]!);
    return 0;
  }
  const cwd = path.resolve(io.cwd, (values.cwd as string | undefined) ?? ".");
  if (!fs.existsSync(cwd)) throw new UsageError(`--cwd ${values.cwd}: no such folder`, command);
  const report = createReport();
  const answers: GeneratorAnswers = { cwd, report };

  switch (command) {
    case "init": {
      if (positionals.length) throw new UsageError(`init takes no arguments (got "${positionals[0]}")`, command);
      const given = { spec: values.spec as string | undefined, out: values.out as string | undefined, apiUrl: values["api-url"] as string | undefined, electricUrl: values["electric-url"] as string | undefined };
      const configFlags = Object.values(given).some((v) => v !== undefined);
      Object.assign(answers, given, { force: values.force === true, install: values.install === true, configFlags });
      // `init --install` on an existing config installs for that config: nothing to ask or look up.
      const installOnly = values.install === true && !values.force && !configFlags && fs.existsSync(path.join(cwd, CONFIG_FILE));
      if (installOnly) return runGenerator("init", answers, io);
      const ask = io.interactive && !values.yes && Object.values(given).some((v) => v === undefined);
      if (!ask && answers.spec === undefined) {
        answers.spec = await findSpec(cwd);
        if (answers.spec === undefined) throw new UsageError(`no spec given and none found (looked for ${SPEC_CANDIDATES.join(", ")}): pass --spec <path|url>`, command);
      }
      // The spec prompt offers the file the lookup finds, not a fixed name.
      const found = ask && given.spec === undefined ? await findSpec(cwd) : undefined;
      return runGenerator("init", answers, io, ask ? [given.spec, given.out, given.apiUrl, given.electricUrl] : undefined, found ? { spec: found } : undefined);
    }
    case "generate": {
      if (positionals.length) throw new UsageError(`generate takes no arguments (got "${positionals[0]}")`, command);
      if ([values.check, values["dry-run"], values.watch].filter(Boolean).length > 1) throw new UsageError("use only one of --check, --dry-run and --watch", command);
      if (values.watch) return watchAndGenerate(cwd, io);
      Object.assign(answers, { check: values.check === true, dryRun: values["dry-run"] === true });
      return runGenerator("generate", answers, io);
    }
    case "add": {
      if (positionals.length !== 1) throw new UsageError(positionals.length ? "add takes one entity name" : "which entity? e.g. `sync-patterns add contact`", command);
      if (values["local-first"] && values.confirmed) throw new UsageError("use either --local-first or --confirmed", command);
      Object.assign(answers, { entity: positionals[0], ...(values["local-first"] ? { mode: "local-first" } : values.confirmed ? { mode: "confirmed" } : {}), ...(typeof values.as === "string" ? { as: values.as } : {}) });
      return runGenerator("add", answers, io);
    }
    case "list": {
      if (positionals.length) throw new UsageError(`list takes no arguments (got "${positionals[0]}")`, command);
      await runList(cwd, report, values.json === true);
      return finish(report, io);
    }
    case "doctor": {
      if (positionals.length) throw new UsageError(`doctor takes no arguments (got "${positionals[0]}"); name entities with --entity`, command);
      await runDoctorCommand(cwd, { api: values.api as string | undefined, electric: values.electric as string | undefined, auth: (values.auth as unknown as string[] | undefined) ?? [], entity: (values.entity as unknown as string[] | undefined) ?? [], write: values.write === true, json: values.json === true }, report);
      return finish(report, io);
    }
    case "eject": {
      if (positionals[0] !== "templates") throw new UsageError(`say what to eject: \`sync-patterns eject templates [name…]\``, command);
      Object.assign(answers, { what: "templates", names: positionals.slice(1), force: values.force === true });
      return runGenerator("eject", answers, io);
    }
    case "templates": {
      const sub = positionals[0];
      if (sub === undefined) throw new UsageError("say what to do: `sync-patterns templates <status | diff | update | check>`", command);
      if (!(TEMPLATES_SUBCOMMANDS as readonly string[]).includes(sub)) throw new UsageError(`unknown templates command "${sub}" (use ${TEMPLATES_SUBCOMMANDS.join(", ")})`, command);
      const names = positionals.slice(1);
      if ((sub === "status" || sub === "check") && names.length) throw new UsageError(`templates ${sub} takes no names (got "${names[0]}")`, command);
      if ((values.ours || values.theirs) && sub !== "update") throw new UsageError(`--${values.ours ? "ours" : "theirs"} only goes with \`templates update\``, command);
      if (values.ours && values.theirs) throw new UsageError("use either --ours or --theirs", command);
      Object.assign(answers, { what: sub, names, ...(values.ours ? { prefer: "ours" } : values.theirs ? { prefer: "theirs" } : {}) });
      return runGenerator("templates", answers, io);
    }
  }
  throw new UsageError(`unknown command "${command}"`);
}

/** Where plopfile is: next to src/ in a checkout (plopfile.ts), next to dist/src when built (plopfile.js). */
function plopfilePath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const js = path.resolve(here, "../../plopfile.js");
  return fs.existsSync(js) ? js : path.resolve(here, "../../plopfile.ts");
}

async function runGenerator(name: string, answers: GeneratorAnswers, io: Io, promptDefaults?: (string | undefined)[], promptSuggestions?: Record<string, string>): Promise<number> {
  const { default: nodePlop } = await import("node-plop");
  const plop = await nodePlop(undefined, { destBasePath: answers.cwd ?? io.cwd, force: false });
  const file = plopfilePath();
  plop.setPlopfilePath(file);
  const mod = (await import(pathToFileURL(file).href)) as { default: (p: typeof plop) => void };
  mod.default(plop);
  const generator = plop.getGenerator(name);
  if (promptSuggestions && Array.isArray(generator.prompts)) {
    for (const prompt of generator.prompts as { name?: string; default?: unknown }[]) {
      if (prompt.name !== undefined && promptSuggestions[prompt.name] !== undefined) prompt.default = promptSuggestions[prompt.name];
    }
  }
  let all: GeneratorAnswers = answers;
  if (promptDefaults) {
    const prompted = (await generator.runPrompts(promptDefaults.map((v) => v ?? "_"))) as GeneratorAnswers;
    all = { ...answers, ...Object.fromEntries(Object.entries(prompted).filter(([, v]) => v !== "")) };
  }
  const report = all.report!;
  const { failures } = await generator.runActions(all as never);
  for (const f of failures) {
    // Our actions report through `report`; a failure without diagnostics is plop's own.
    if (!report.diagnostics.some((d) => d.severity === "error") && f.error && !/Aborted due to previous/.test(f.error)) {
      report.diagnostics.push({ code: "cli/action-failed", severity: "error", message: f.error });
    }
  }
  return finish(report, io);
}

export function finish(report: Report, io: Io): number {
  if (report.diagnostics.length) io.stderr(formatDiagnostics(report.diagnostics));
  if (report.lines.length) io.stdout(report.lines.join("\n"));
  return exitCodeOf(report);
}
