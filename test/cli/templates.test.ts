/**
 * The template lifecycle through the real CLI in temporary projects: eject → edit → generate;
 * `templates status / diff / update` against a second version of the built-in templates;
 * per-entity overrides; extra artifacts from the config; the model version contract;
 * `templates check`.
 *
 * The "new upstream" is a copy of templates/ with a few edits, made per test and handed to the
 * CLI through SYNC_PATTERNS_BUILTIN_TEMPLATES (a hook for tests only; see src/render/templates.ts).
 * Deriving it from the real built-ins keeps the fixture valid when the built-ins change.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { installedPackage } from "../support/npm.js";
import { BIN, EXAMPLE_SPEC, REPO, snapshotTree, tempProject, type CliResult } from "../support/project.js";

const spec = fs.readFileSync(EXAMPLE_SPEC, "utf8");
const TEMPLATES = "sync-patterns/templates";

/** The real CLI; `upstream` points the built-in templates at a fixture folder. */
async function run(cwd: string, args: string[], upstream?: string): Promise<CliResult> {
  const env = { NO_COLOR: "1", ...(upstream ? { SYNC_PATTERNS_BUILTIN_TEMPLATES: upstream } : {}) };
  const r = await execa("node", [BIN, ...args], { cwd, reject: false, env, stdin: "ignore" });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function initialized(dir = tempProject()): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "openapi.yaml"), spec);
  const r = await run(dir, ["init", "--yes"]);
  expect(r.exitCode, r.stderr).toBe(0);
  return dir;
}

type Edit = (text: string) => string;

/** A second version of the built-in templates: a copy of templates/ with `edits` applied. */
function upstreamVersion(edits: Record<string, Edit> = {}): string {
  const dir = tempProject();
  fs.cpSync(path.join(REPO, "templates"), dir, { recursive: true });
  for (const [name, edit] of Object.entries(edits)) editFile(path.join(dir, name), edit);
  return dir;
}

function editFile(file: string, edit: Edit): void {
  const before = fs.readFileSync(file, "utf8");
  const after = edit(before);
  expect(after, `the edit of ${file} changes nothing: the built-in changed, update the test`).not.toBe(before);
  fs.writeFileSync(file, after);
}

const read = (dir: string, rel: string): string => fs.readFileSync(path.join(dir, rel), "utf8");
const sha = (text: string): string => createHash("sha256").update(text).digest("hex");
const lockOf = (dir: string): { modelVersion: number; templates: Record<string, { sha256: string; version: string }> } => JSON.parse(read(dir, `${TEMPLATES}/templates.lock.json`));

// Edits of core.ts.eta: line 2 is `export * from "./types/schemas.js";`, the end is far from it.
const SCHEMAS = 'export * from "./types/schemas.js";\n';
const ADD_TEAM_TOP: Edit = (t) => t.replace(SCHEMAS, `${SCHEMAS}export const TEAM = "ours";\n`);
const ADD_FIX_BOTTOM: Edit = (t) => `${t}export const UPSTREAM_FIX = 2;\n`;
const OURS_ON_LINE_2: Edit = (t) => t.replace(SCHEMAS, 'export * from "./types/schemas.js"; // ours\n');
const THEIRS_ON_LINE_2: Edit = (t) => t.replace(SCHEMAS, 'export * from "./types/schemas.js"; // upstream\n');

describe("eject, edit, regenerate", () => {
  it("the edited copy is used, and generate --check sees the edit as drift first", async () => {
    const dir = await initialized();
    expect((await run(dir, ["eject", "templates", "core.ts.eta"])).exitCode).toBe(0);
    editFile(path.join(dir, TEMPLATES, "core.ts.eta"), ADD_TEAM_TOP);
    const check = await run(dir, ["generate", "--check"]);
    expect(check.exitCode).toBe(1);
    expect(check.stdout).toContain("update  src/generated/core.ts");
    const g = await run(dir, ["generate"]);
    expect(g.exitCode, g.stderr).toBe(0);
    expect(read(dir, "src/generated/core.ts")).toContain('export const TEAM = "ours";');
    const status = await run(dir, ["templates", "status"]);
    expect(status.stdout).toMatch(/^ +modified locally +core\.ts\.eta$/m);
  });
});

describe("templates status / diff / update against a new upstream", () => {
  interface Case {
    local?: Edit;
    upstream?: Edit;
    status: string;
    diff: { yours: RegExp; upstream: RegExp };
    update: { exitCode: number; line: RegExp };
    /** The template after the update, from the base, local and upstream texts. */
    after: (t: { base: string; local: string; upstream: string }) => string;
    /** Whether the lock and .base/ record the new upstream afterwards. */
    recordsUpstream: boolean;
    /** What the regenerated core.ts contains (after a clean update). */
    output: string[];
  }
  const cases: [string, Case][] = [
    [
      "unchanged on both sides",
      { status: "unchanged", diff: { yours: /base → yours: no changes/, upstream: /base → upstream: no changes/ }, update: { exitCode: 0, line: /up to date +\S+core\.ts\.eta +\(no upstream changes\)/ }, after: (t) => t.base, recordsUpstream: true, output: [] },
    ],
    [
      "changed locally only",
      {
        local: ADD_TEAM_TOP,
        status: "modified locally",
        diff: { yours: /\+export const TEAM = "ours";/, upstream: /base → upstream: no changes/ },
        update: { exitCode: 0, line: /up to date +\S+core\.ts\.eta/ },
        after: (t) => t.local,
        recordsUpstream: true,
        output: ['export const TEAM = "ours";'],
      },
    ],
    [
      "changed upstream only",
      {
        upstream: ADD_FIX_BOTTOM,
        status: "changed upstream",
        diff: { yours: /base → yours: no changes/, upstream: /\+export const UPSTREAM_FIX = 2;/ },
        update: { exitCode: 0, line: /updated +\S+core\.ts\.eta +\(you had not edited it/ },
        after: (t) => t.upstream,
        recordsUpstream: true,
        output: ["export const UPSTREAM_FIX = 2;"],
      },
    ],
    [
      "changed on both sides, on different lines: a clean merge",
      {
        local: ADD_TEAM_TOP,
        upstream: ADD_FIX_BOTTOM,
        status: "changed locally and upstream",
        diff: { yours: /\+export const TEAM = "ours";/, upstream: /\+export const UPSTREAM_FIX = 2;/ },
        update: { exitCode: 0, line: /merged +\S+core\.ts\.eta/ },
        after: (t) => ADD_FIX_BOTTOM(ADD_TEAM_TOP(t.base)),
        recordsUpstream: true,
        output: ['export const TEAM = "ours";', "export const UPSTREAM_FIX = 2;"],
      },
    ],
  ];
  it.each(cases)("%s", async (_name, c) => {
    const dir = await initialized();
    await run(dir, ["eject", "templates", "core.ts.eta"]);
    const file = path.join(dir, TEMPLATES, "core.ts.eta");
    const base = fs.readFileSync(file, "utf8");
    if (c.local) editFile(file, c.local);
    const local = fs.readFileSync(file, "utf8");
    const upstreamDir = upstreamVersion(c.upstream ? { "core.ts.eta": c.upstream } : {});
    const upstream = read(upstreamDir, "core.ts.eta");

    const status = await run(dir, ["templates", "status"], upstreamDir);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^ +${c.status} +core\\.ts\\.eta$`, "m"));

    const diff = await run(dir, ["templates", "diff", "core.ts.eta"], upstreamDir);
    expect(diff.exitCode, diff.stderr).toBe(0);
    const [mine, theirs] = diff.stdout.split("base → upstream");
    expect(mine).toMatch(c.diff.yours);
    expect(`base → upstream${theirs}`).toMatch(c.diff.upstream);
    if (c.local) expect(mine).toMatch(/^--- sync-patterns\/templates\/\.base\/core\.ts\.eta .*\n\+\+\+ sync-patterns\/templates\/core\.ts\.eta \(yours\)\n@@ /m);

    const update = await run(dir, ["templates", "update"], upstreamDir);
    expect(update.exitCode, update.stderr).toBe(c.update.exitCode);
    expect(update.stdout).toMatch(c.update.line);
    expect(fs.readFileSync(file, "utf8")).toBe(c.after({ base, local, upstream }));
    if (c.recordsUpstream) {
      expect(lockOf(dir).templates["core.ts.eta"]!.sha256).toBe(sha(upstream));
      expect(read(dir, `${TEMPLATES}/.base/core.ts.eta`)).toBe(upstream);
    }
    expect((await run(dir, ["templates", "status"], upstreamDir)).stdout).toMatch(new RegExp(`^ +${c.local ? "modified locally" : "unchanged"} +core\\.ts\\.eta$`, "m"));

    const g = await run(dir, ["generate"], upstreamDir);
    expect(g.exitCode, g.stderr).toBe(0);
    expect(g.stderr).not.toContain("[template/upstream-changed]");
    for (const line of c.output) expect(read(dir, "src/generated/core.ts")).toContain(line);
  });

  it("changed on both sides, on the same lines: conflict markers, exit 1, generate refuses; --theirs settles them", async () => {
    const dir = await initialized();
    await run(dir, ["eject", "templates", "core.ts.eta"]);
    const file = path.join(dir, TEMPLATES, "core.ts.eta");
    const base = fs.readFileSync(file, "utf8");
    editFile(file, (t) => ADD_FIX_BOTTOM(OURS_ON_LINE_2(t)).replace("UPSTREAM_FIX = 2", 'TEAM = "ours"'));
    const upstreamDir = upstreamVersion({ "core.ts.eta": THEIRS_ON_LINE_2 });
    const upstream = read(upstreamDir, "core.ts.eta");
    const before = snapshotTree(path.join(dir, "src/generated"));

    const update = await run(dir, ["templates", "update"], upstreamDir);
    expect(update.exitCode).toBe(1);
    expect(update.stdout).toMatch(/CONFLICT +\S+core\.ts\.eta +\(1 conflict: markers written into your copy\)/);
    expect(update.stderr).toContain(`${file}:2:1`);
    expect(update.stderr).toContain("[template/merge-conflicts]");
    const merged = fs.readFileSync(file, "utf8");
    expect(merged).toMatch(/^<<<<<<< yours .*\nexport \* from "\.\/types\/schemas\.js"; \/\/ ours\n=======\nexport \* from "\.\/types\/schemas\.js"; \/\/ upstream\n>>>>>>> upstream .*\n/m);
    expect(merged.endsWith('export const TEAM = "ours";\n')).toBe(true);
    expect(merged).not.toBe(base);

    const g = await run(dir, ["generate"], upstreamDir);
    expect(g.exitCode).toBe(1);
    expect(g.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2:1 +Template core\\.ts\\.eta still has merge conflict markers\\.`));
    expect(snapshotTree(path.join(dir, "src/generated"))).toEqual(before);
    expect((await run(dir, ["templates", "status"], upstreamDir)).stdout).toMatch(/^ +conflict markers +core\.ts\.eta +\(line 2\)$/m);

    // Running update again does not merge twice or overwrite: the markers must go first.
    const again = await run(dir, ["templates", "update"], upstreamDir);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain("[template/unresolved-conflicts]");
    expect(fs.readFileSync(file, "utf8")).toBe(merged);

    const theirs = await run(dir, ["templates", "update", "core.ts.eta", "--theirs"], upstreamDir);
    expect(theirs.exitCode, theirs.stderr).toBe(0);
    expect(theirs.stdout).toMatch(/resolved +\S+core\.ts\.eta +\(1 conflict resolved --theirs\)/);
    expect(fs.readFileSync(file, "utf8")).toBe(`${upstream}export const TEAM = "ours";\n`);
    expect(read(dir, `${TEMPLATES}/.base/core.ts.eta`)).toBe(upstream);
    const after = await run(dir, ["generate"], upstreamDir);
    expect(after.exitCode, after.stderr).toBe(0);
    expect(read(dir, "src/generated/core.ts")).toMatch(/\/\/ upstream[\s\S]*export const TEAM = "ours";/);
  });

  it("update --ours settles conflicting lines with yours and still takes upstream's other changes", async () => {
    const dir = await initialized();
    await run(dir, ["eject", "templates", "core.ts.eta"]);
    const file = path.join(dir, TEMPLATES, "core.ts.eta");
    const base = fs.readFileSync(file, "utf8");
    editFile(file, OURS_ON_LINE_2);
    const upstreamDir = upstreamVersion({ "core.ts.eta": (t) => ADD_FIX_BOTTOM(THEIRS_ON_LINE_2(t)) });
    const r = await run(dir, ["templates", "update", "--ours"], upstreamDir);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/merged +\S+core\.ts\.eta +\(.*1 conflict decided --ours\)/);
    expect(fs.readFileSync(file, "utf8")).toBe(ADD_FIX_BOTTOM(OURS_ON_LINE_2(base)));
  });

  it("only the named templates are updated; unknown names and usage mistakes are reported", async () => {
    const dir = await initialized();
    await run(dir, ["eject", "templates", "core.ts.eta", "api/defaults.ts.eta"]);
    const upstreamDir = upstreamVersion({ "core.ts.eta": ADD_FIX_BOTTOM, "api/defaults.ts.eta": (t) => `${t}export const FIX = 1;\n` });
    const r = await run(dir, ["templates", "update", "defaults.ts.eta"], upstreamDir);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(read(dir, `${TEMPLATES}/api/defaults.ts.eta`)).toContain("export const FIX = 1;");
    expect(read(dir, `${TEMPLATES}/core.ts.eta`)).not.toContain("UPSTREAM_FIX");
    expect((await run(dir, ["templates", "status"], upstreamDir)).stdout).toMatch(/^ +changed upstream +core\.ts\.eta$/m);

    const unknown = await run(dir, ["templates", "diff", "coore.ts.eta"], upstreamDir);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain("[template/not-ejected]");
    expect(unknown.stderr).toContain('Did you mean "core.ts.eta"?');
    const notEjected = await run(dir, ["templates", "diff", "api/group.ts.eta"]);
    expect(notEjected.stderr).toContain("`sync-patterns eject templates api/group.ts.eta` first");
  });

  it("status before any eject says so", async () => {
    const dir = await initialized();
    const r = await run(dir, ["templates", "status"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("No ejected templates in sync-patterns/templates.");
  });
});

describe("the template context version", () => {
  it("a lock written for another model version stops generate with a migration note; update records the current one", async () => {
    const dir = await initialized();
    await run(dir, ["eject", "templates", "index.ts.eta"]);
    const lockFile = path.join(dir, TEMPLATES, "templates.lock.json");
    const current = lockOf(dir).modelVersion;
    fs.writeFileSync(lockFile, JSON.stringify({ ...lockOf(dir), modelVersion: current - 1 }));
    const g = await run(dir, ["generate"]);
    expect(g.exitCode).toBe(1);
    expect(g.stderr).toContain(`${lockFile}  Your templates were written for template context version ${current - 1}`);
    expect(g.stderr).toMatch(new RegExp(`v${current}: \\S`));
    expect(g.stderr).toContain("[template/model-version]");
    const u = await run(dir, ["templates", "update"]);
    expect(u.exitCode, u.stderr).toBe(0);
    expect(u.stdout).toContain(`now declare model version ${current} (was ${current - 1})`);
    expect(lockOf(dir).modelVersion).toBe(current);
    expect((await run(dir, ["generate"])).exitCode).toBe(0);
  });
});

describe("per-entity overrides", () => {
  const overrides: [string, string][] = [
    ["types/entity.ts.eta", "types/contact.ts"],
    ["schema/entity.sql.eta", "schema/contact.sql"],
    ["collections/entity.ts.eta", "collections/contact.ts"],
    ["hooks/entity.ts.eta", "hooks/contact.ts"],
  ];
  it("<dir>/<entity-kebab>.<ext> next to <dir>/entity.<ext> applies to that entity only, for every per-entity template", async () => {
    const dir = await initialized();
    for (const [template] of overrides) {
      const marker = template.endsWith(".sql.eta") ? "-- contact only" : "// contact only";
      const target = path.join(dir, TEMPLATES, template.replace("/entity.", "/contact."));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, `${read(REPO, `templates/${template}`)}${marker}\n`);
    }
    const g = await run(dir, ["generate"]);
    expect(g.exitCode, g.stderr).toBe(0);
    for (const [, output] of overrides) {
      expect(read(dir, `src/generated/${output}`), output).toMatch(/(--|\/\/) contact only\n$/);
      expect(read(dir, `src/generated/${output.replace("contact", "account")}`)).not.toContain("contact only");
    }
  });

  it("a runtime error in an override names the override file and line", async () => {
    const dir = await initialized();
    const target = path.join(dir, TEMPLATES, "hooks/contact.ts.eta");
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, "// first\n// second\n<%= it.entity.names.nope.length %>\n");
    const r = await run(dir, ["generate"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`${target}:3:1`);
    expect(r.stderr).toContain("[template/runtime-error]");
  });
});

describe("extra artifacts declared in the config", () => {
  const FORM = [
    "<% const e = it.entity; -%>",
    "export function <%= e.names.pascal %>Form(): string {",
    "  return <%~ JSON.stringify(e.writableFields.map((f) => f.name).join(\", \")) %>;",
    "}",
    "",
  ].join("\n");
  const ROUTES = "export const ROUTES = <%~ JSON.stringify(it.model.entities.map((e) => e.path)) %> as const;\n";
  const CONFIG = ["artifacts:", '  - { template: forms/entity.ts.eta, output: "forms/{entity}.ts", each: entity }', "  - { template: routes.ts.eta, output: routes.ts }", ""].join("\n");

  async function withExtras(templates: Record<string, string>, config = CONFIG): Promise<string> {
    const dir = await initialized();
    for (const [name, text] of Object.entries(templates)) {
      fs.mkdirSync(path.dirname(path.join(dir, TEMPLATES, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, TEMPLATES, name), text);
    }
    fs.appendFileSync(path.join(dir, "sync-patterns.config.yaml"), config);
    return dir;
  }

  it("are rendered from the same model into the same manifest, and removed with it", async () => {
    const dir = await withExtras({ "forms/entity.ts.eta": FORM, "routes.ts.eta": ROUTES });
    const g = await run(dir, ["generate"]);
    expect(g.exitCode, g.stderr).toBe(0);
    expect(g.stdout).toContain("create  src/generated/forms/contact.ts");
    expect(read(dir, "src/generated/forms/contact.ts")).toMatch(/^\/\/ Generated by sync-patterns[\s\S]*export function ContactForm\(\): string \{\n {2}return "first_name, /m);
    expect(read(dir, "src/generated/routes.ts")).toContain('export const ROUTES = ["/api/accounts","/api/contacts","/api/household_members","/api/transactions"] as const;');
    const manifest = JSON.parse(read(dir, "src/generated/.sync-patterns-manifest.json")) as { files: Record<string, string> };
    expect(Object.keys(manifest.files)).toEqual(expect.arrayContaining(["forms/account.ts", "forms/contact.ts", "forms/transaction.ts", "routes.ts"]));
    // Per-entity overrides work for extra artifacts too.
    fs.writeFileSync(path.join(dir, TEMPLATES, "forms/contact.ts.eta"), "export const CONTACT_FORM = 1;\n");
    await run(dir, ["generate"]);
    expect(read(dir, "src/generated/forms/contact.ts")).toContain("CONTACT_FORM");
    expect(read(dir, "src/generated/forms/account.ts")).toContain("AccountForm");
    // Dropping the declaration deletes what it generated (owned files), nothing else.
    const configFile = path.join(dir, "sync-patterns.config.yaml");
    fs.writeFileSync(configFile, read(dir, "sync-patterns.config.yaml").replace(CONFIG, ""));
    const again = await run(dir, ["generate"]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain("delete  src/generated/routes.ts");
    expect(fs.existsSync(path.join(dir, "src/generated/forms/contact.ts"))).toBe(false);
  });

  it("a template missing from the template folder is an error at the config entry", async () => {
    const dir = await withExtras({ "forms/entity.ts.eta": FORM });
    const r = await run(dir, ["generate"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/sync-patterns\.config\.yaml:\d+:\d+ +\/artifacts\/1 +Template routes\.ts\.eta of this extra artifact is not in \S+sync-patterns\/templates/);
    expect(r.stderr).toContain("[template/not-found]");
    expect(fs.existsSync(path.join(dir, "src/generated/forms"))).toBe(false);
  });

  it("an output outside the output folder, or one a built-in already writes, is refused at its line", async () => {
    const outside = await withExtras({ "x.ts.eta": "x\n" }, "artifacts:\n  - { template: x.ts.eta, output: ../../x.ts }\n");
    const r1 = await run(outside, ["generate"]);
    expect(r1.exitCode).toBe(1);
    expect(r1.stderr).toMatch(/sync-patterns\.config\.yaml:\d+:\d+ +\/artifacts\/0\/output .*inside the output folder.*\[config\/path-outside-folder\]/);
    const clash = await withExtras({ "x.ts.eta": "x\n" }, "artifacts:\n  - { template: x.ts.eta, output: index.ts }\n");
    const r2 = await run(clash, ["generate"]);
    expect(r2.exitCode).toBe(1);
    expect(r2.stderr).toMatch(/sync-patterns\.config\.yaml:\d+:\d+ +\/artifacts\/0 +Extra artifact x\.ts\.eta would write index\.ts, which the built-in template index\.ts\.eta already writes\.  \[plan\/output-conflict\]/);
  });

  it("a runtime error in an extra artifact's template names its file and line", async () => {
    const dir = await withExtras({ "forms/entity.ts.eta": "// ok\n<%= it.entity.nope.deeper %>\n", "routes.ts.eta": ROUTES });
    const r = await run(dir, ["generate"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`${path.join(dir, TEMPLATES, "forms/entity.ts.eta")}:2:1`);
    expect(r.stderr).toContain("[template/runtime-error]");
  });
});

describe("templates check", () => {
  async function project(): Promise<string> {
    const dir = await initialized();
    // The packages the generated client imports, as an installed project has them.
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
    return dir;
  }

  it("renders the built-ins, ejected templates and extra artifacts (.tsx too) and type-checks them", async () => {
    const dir = await project();
    await run(dir, ["eject", "templates", "collections/entity.ts.eta"]);
    fs.mkdirSync(path.join(dir, TEMPLATES, "forms"), { recursive: true });
    fs.writeFileSync(path.join(dir, TEMPLATES, "forms/entity.tsx.eta"), "<% const e = it.entity; -%>\nexport function <%= e.names.pascal %>Form() {\n  return <form data-table=<%~ JSON.stringify(e.table) %> />;\n}\n");
    fs.appendFileSync(path.join(dir, "sync-patterns.config.yaml"), 'artifacts:\n  - { template: forms/entity.tsx.eta, output: "forms/{entity}.tsx", each: entity }\n');
    const before = snapshotTree(path.join(dir, "src/generated"));
    const r = await run(dir, ["templates", "check"]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Rendered 59 files from \d+ templates \(2 of them yours\) and type-checked 52 TypeScript files with typescript@5\.9\.\d+ in strict mode: no errors\./);
    expect(snapshotTree(path.join(dir, "src/generated"))).toEqual(before);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(".sync-patterns-check"))).toEqual([]);
  });

  it("a type error in the output of a template is an error located at the template", async () => {
    const dir = await project();
    await run(dir, ["eject", "templates", "api/defaults.ts.eta"]);
    const file = path.join(dir, TEMPLATES, "api/defaults.ts.eta");
    fs.appendFileSync(file, 'export const PORT: number = "3000";\n');
    const r = await run(dir, ["templates", "check"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:4:1 +api/defaults\\.ts:\\d+:\\d+ TS2322: Type 'string' is not assignable to type 'number'\\.`));
    expect(r.stderr).toContain('| export const PORT: number = "3000";');
    expect(r.stderr).toContain("[template/type-error]");
  });

  /** The tsconfig files of the current create-vite react-ts template (test/stock builds the real one). */
  function viteTsconfig(dir: string, extra: Record<string, unknown> = {}): void {
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ files: [], references: [{ path: "./tsconfig.app.json" }, { path: "./tsconfig.node.json" }] }));
    const app = {
      compilerOptions: {
        tsBuildInfoFile: "./node_modules/.tmp/tsconfig.app.tsbuildinfo",
        target: "es2023",
        lib: ["ES2023", "DOM"],
        module: "esnext",
        types: ["vite/client"],
        skipLibCheck: true,
        moduleResolution: "bundler",
        allowImportingTsExtensions: true,
        verbatimModuleSyntax: true,
        moduleDetection: "force",
        noEmit: true,
        jsx: "react-jsx",
        noUnusedLocals: true,
        noUnusedParameters: true,
        erasableSyntaxOnly: true,
        noFallthroughCasesInSwitch: true,
        ...extra,
      },
      include: ["src"],
    };
    // JSON with comments, as create-vite writes it.
    fs.writeFileSync(path.join(dir, "tsconfig.app.json"), `/* the app */\n${JSON.stringify(app, null, 2)}\n`);
    fs.writeFileSync(path.join(dir, "tsconfig.node.json"), JSON.stringify({ compilerOptions: { module: "nodenext", noEmit: true }, include: ["vite.config.ts"] }));
  }

  it("in a stock Vite app, checks with the app's tsconfig.app.json: the built-ins pass its erasableSyntaxOnly", async () => {
    const dir = await project();
    viteTsconfig(dir);
    const r = await run(dir, ["templates", "check"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/type-checked \d+ TypeScript files with typescript@\S+ in tsconfig\.app\.json's options plus strict mode: no errors\./);
  });

  it("the app's own options and the stock strictness flags both apply: a parameter property and a missing `override` are errors at the template", async () => {
    const dir = await project();
    viteTsconfig(dir, { noImplicitOverride: true });
    await run(dir, ["eject", "templates", "api/defaults.ts.eta"]);
    const file = path.join(dir, TEMPLATES, "api/defaults.ts.eta");
    fs.appendFileSync(file, "export class Base {\n  describe(): string {\n    return \"base\";\n  }\n}\nexport class Port extends Base {\n  constructor(readonly port: number) {\n    super();\n  }\n  describe(): string {\n    return String(this.port);\n  }\n}\n");
    const r = await run(dir, ["templates", "check"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/TS1294: This syntax is not allowed when 'erasableSyntaxOnly' is enabled\./);
    expect(r.stderr).toMatch(/TS4114: This member must have an 'override' modifier/);
    expect(r.stderr).toContain(`${file}:`);
  });

  // TypeScript 7's packages expose their compiler only through their `bin` field (no `typescript/bin/tsc` export).
  it.each([
    ["typescript", "5.9.3"],
    ["typescript", "7.0.2"],
    ["@typescript/native-preview", "7.0.0-dev.20260707.2"],
  ])("finds and runs the project's %s@%s", async (name, version) => {
    // The client's packages one level up, as in a workspace, without this repository's TypeScript.
    const outer = tempProject();
    fs.mkdirSync(path.join(outer, "node_modules"));
    for (const entry of fs.readdirSync(path.join(REPO, "node_modules"))) {
      if (entry !== "typescript" && entry !== ".bin") fs.symlinkSync(path.join(REPO, "node_modules", entry), path.join(outer, "node_modules", entry));
    }
    const dir = await initialized(path.join(outer, "app"));
    const link = path.join(dir, "node_modules", name);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.join(await installedPackage(name, version), "node_modules", name), link);
    viteTsconfig(dir);
    const ok = await run(dir, ["templates", "check"]);
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toContain(`with ${name}@${version} in tsconfig.app.json's options plus strict mode: no errors.`);

    await run(dir, ["eject", "templates", "api/defaults.ts.eta"]);
    fs.appendFileSync(path.join(dir, TEMPLATES, "api/defaults.ts.eta"), 'export const PORT: number = "3000";\n');
    const bad = await run(dir, ["templates", "check"]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/api\/defaults\.ts:\d+:\d+ TS2322: Type 'string' is not assignable to type 'number'\./);
  }, 180_000);

  it("a template that throws is reported with file and line, as in generate", async () => {
    const dir = await project();
    await run(dir, ["eject", "templates", "index.ts.eta"]);
    const file = path.join(dir, TEMPLATES, "index.ts.eta");
    fs.writeFileSync(file, "line one\n<%= it.model.nope.deeper %>\n");
    const r = await run(dir, ["templates", "check"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`${file}:2:1`);
    expect(r.stderr).toContain("[template/runtime-error]");
  });
});

describe("templates: help and usage errors", () => {
  it("help lists the subcommands", async () => {
    const r = await run(tempProject(), ["templates", "--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/status[\s\S]*diff \[name…\][\s\S]*update \[name…\][\s\S]*check[\s\S]*--ours[\s\S]*--theirs/);
    expect((await run(tempProject(), ["--help"])).stdout).toMatch(/templates <cmd> +status, diff, update or check/);
  });
  const usage: [string, string[]][] = [
    ["no subcommand", ["templates"]],
    ["an unknown subcommand", ["templates", "upgrade"]],
    ["--ours outside update", ["templates", "status", "--ours"]],
    ["--ours with --theirs", ["templates", "update", "--ours", "--theirs"]],
    ["names given to check", ["templates", "check", "index.ts.eta"]],
  ];
  it.each(usage)("exits 2 on %s", async (_name, args) => {
    const r = await run(tempProject(), args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^error: /);
  });
});
