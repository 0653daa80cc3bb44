/**
 * The one place where the sync-patterns generators are defined. The CLI (src/cli/main.ts)
 * runs them through node-plop; `npx plop --plopfile plopfile.ts` works too during development.
 *
 * Each generator is a list of actions of our own types. `sync-patterns:generate` is the Eta
 * action: it renders every artifact of the spec through the template chain (ejected copy
 * first, built-in second) and applies the write plan. Actions report through
 * `answers.report`, and throw when that report has errors so that plop stops the generator.
 */
import type { NodePlopAPI } from "node-plop";
import { runAdd } from "./src/cli/commands/add.js";
import { runEject } from "./src/cli/commands/eject.js";
import { runGenerate } from "./src/cli/commands/generate.js";
import { runInit, type InitAnswers } from "./src/cli/commands/init.js";
import { runTemplates, TEMPLATES_SUBCOMMANDS, type TemplatesSubcommand } from "./src/cli/commands/templates.js";
import { createReport, type Report } from "./src/cli/report.js";
import { hasErrors } from "./src/diagnostics/diagnostic.js";
import { DEFAULTS } from "./src/config/config.js";
import type { Side } from "./src/eject/merge.js";
import type { SyncMode } from "./src/model/types.js";

export interface GeneratorAnswers {
  cwd?: string;
  report?: Report;
  // init
  spec?: string;
  out?: string;
  apiUrl?: string;
  electricUrl?: string;
  force?: boolean;
  install?: boolean;
  configFlags?: boolean;
  // generate
  check?: boolean;
  dryRun?: boolean;
  // add
  entity?: string;
  mode?: SyncMode;
  as?: string;
  // eject, templates
  what?: string;
  names?: string[];
  // templates update
  prefer?: Side;
}

type Step = (cwd: string, answers: GeneratorAnswers, report: Report) => Promise<void>;

function action(step: Step) {
  return async (raw: object): Promise<string> => {
    const answers = raw as GeneratorAnswers;
    const report = answers.report ?? createReport();
    await step(answers.cwd ?? process.cwd(), answers, report);
    if (hasErrors(report.diagnostics)) throw new Error(report.diagnostics.find((d) => d.severity === "error")!.message);
    return report.lines.at(-1) ?? "done";
  };
}

export default function plopfile(plop: NodePlopAPI): void {
  plop.setActionType("sync-patterns:init", action((cwd, a, r) => runInit(cwd, a as InitAnswers, r)));
  plop.setActionType("sync-patterns:generate", action(async (cwd, a, r) => void (await runGenerate(cwd, { ...(a.check ? { check: true } : {}), ...(a.dryRun ? { dryRun: true } : {}) }, r))));
  plop.setActionType("sync-patterns:add", action((cwd, a, r) => runAdd(cwd, a.entity ?? "", { ...(a.mode ? { mode: a.mode } : {}), ...(a.as !== undefined ? { as: a.as } : {}) }, r)));
  plop.setActionType("sync-patterns:eject", action((cwd, a, r) => runEject(cwd, a.names ?? [], a.force === true, r)));
  plop.setActionType("sync-patterns:templates", action((cwd, a, r) => runTemplates(cwd, (a.what ?? "status") as TemplatesSubcommand, a.names ?? [], a.prefer, r)));

  plop.setGenerator("init", {
    description: "write sync-patterns.config.yaml and generate the client",
    prompts: [
      { type: "input", name: "spec", message: "OpenAPI spec (path or URL)", default: "openapi.yaml" },
      { type: "input", name: "out", message: "Output folder", default: DEFAULTS.output },
      { type: "input", name: "apiUrl", message: "REST API base URL (empty: the spec's first server)", default: "" },
      { type: "input", name: "electricUrl", message: "Electric shape URL (empty: none yet)", default: "" },
    ],
    actions: [{ type: "sync-patterns:init" }],
  });
  plop.setGenerator("generate", {
    description: "regenerate everything from the spec and the config",
    prompts: [],
    actions: [{ type: "sync-patterns:generate" }],
  });
  plop.setGenerator("add", {
    description: "add one resource of the spec to the local-first stack",
    prompts: [{ type: "input", name: "entity", message: "Resource to sync (name, path or schema)" }],
    actions: [{ type: "sync-patterns:add" }],
  });
  plop.setGenerator("eject", {
    description: "copy built-in templates into the project",
    prompts: [{ type: "list", name: "what", message: "What to eject", choices: ["templates"] }],
    actions: [{ type: "sync-patterns:eject" }],
  });
  plop.setGenerator("templates", {
    description: "status, diff, update or check the ejected templates",
    prompts: [{ type: "list", name: "what", message: "What to do", choices: [...TEMPLATES_SUBCOMMANDS] }],
    actions: [{ type: "sync-patterns:templates" }],
  });
}
