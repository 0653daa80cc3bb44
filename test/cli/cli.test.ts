/**
 * The CLI as a black box: the real bin in temporary projects, checking what a user sees
 * (stdout, stderr, exit codes 0/1/2) and what lands on disk.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cli, EXAMPLE_SPEC, snapshotTree, tempProject } from "../support/project.js";

const spec = fs.readFileSync(EXAMPLE_SPEC, "utf8");

async function initialized(extra: Record<string, string> = {}): Promise<string> {
  const dir = tempProject({ "openapi.yaml": spec, ...extra });
  const r = await cli(dir, "init", "--yes");
  expect(r.exitCode, r.stderr).toBe(0);
  return dir;
}

describe("help, version and usage errors", () => {
  const cases: [string, string[], number, RegExp][] = [
    ["--help prints the commands", ["--help"], 0, /Commands:[\s\S]*init[\s\S]*eject templates/],
    ["no command prints help and is a usage error", [], 2, /Usage: sync-patterns <command>/],
    ["--version prints the package version", ["--version"], 0, /^\d+\.\d+\.\d+/],
    ["per-command --help", ["generate", "--help"], 0, /--check[\s\S]*--dry-run[\s\S]*--watch/],
    ["help <command>", ["help", "add"], 0, /--local-first/],
  ];
  for (const [name, args, code, out] of cases) {
    it(name, async () => {
      const r = await cli(tempProject(), ...args);
      expect(r.exitCode).toBe(code);
      expect(r.stdout).toMatch(out);
    });
  }

  const usage: [string, string[]][] = [
    ["an unknown command", ["frobnicate"]],
    ["an unknown flag", ["generate", "--frobnicate"]],
    ["a flag missing its value", ["init", "--spec"]],
    ["two exclusive flags", ["generate", "--check", "--dry-run"]],
    ["add without a name", ["add"]],
    ["add with both modes", ["add", "contact", "--local-first", "--confirmed"]],
    ["eject without `templates`", ["eject"]],
  ];
  for (const [name, args] of usage) {
    it(`exits 2 on ${name}`, async () => {
      const r = await cli(tempProject(), ...args);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/^error: /);
    });
  }
});

describe("init", () => {
  it("writes the config, generates the client and prints the packages it needs", async () => {
    const dir = tempProject({ "openapi.yaml": spec });
    const r = await cli(dir, "init", "--yes", "--api-url", "https://api.example.com");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, "sync-patterns.config.yaml"), "utf8")).toMatch(/spec: "openapi.yaml"[\s\S]*apiUrl: "https:\/\/api.example.com"/);
    expect(r.stdout).toMatch(/npm install @tanstack\/react-query@\S+ react@\S+/);
    const files = Object.keys(snapshotTree(path.join(dir, "src/generated")));
    expect(files).toEqual(expect.arrayContaining(["index.ts", "types/schemas.ts", "types/contact.ts", "api/contacts.ts", "api/reports.ts", "api/client.ts"]));
    expect(fs.readFileSync(path.join(dir, "src/generated/api/defaults.ts"), "utf8")).toContain('"https://api.example.com"');
  });

  it("refuses to overwrite an existing config without --force", async () => {
    const dir = await initialized();
    const r = await cli(dir, "init", "--yes");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("[init/config-exists]");
    expect((await cli(dir, "init", "--yes", "--force", "--out", "src/client")).exitCode).toBe(0);
    expect(fs.existsSync(path.join(dir, "src/client/index.ts"))).toBe(true);
  });

  it("writes no config when the spec is broken", async () => {
    const dir = tempProject({ "openapi.yaml": spec.replace("#/components/schemas/Contact'", "#/components/schemas/Contct'") });
    const r = await cli(dir, "init", "--yes");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/openapi\.yaml:\d+:\d+ +\/paths\/\S+ +\$ref points at nothing: #\/components\/schemas\/Contct/);
    expect(r.stderr).toContain('Did you mean "#/components/schemas/Contact"?');
    expect(fs.existsSync(path.join(dir, "sync-patterns.config.yaml"))).toBe(false);
    expect(fs.existsSync(path.join(dir, "src"))).toBe(false);
  });

  it("without --spec and without a spec file it is a usage error", async () => {
    const r = await cli(tempProject(), "init", "--yes");
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("--spec");
  });
});

describe("generate", () => {
  it("is deterministic: two projects get byte-identical output", async () => {
    const a = await initialized();
    const b = await initialized();
    expect(snapshotTree(path.join(a, "src/generated"))).toEqual(snapshotTree(path.join(b, "src/generated")));
  });

  it("writes only changed files and reports the rest unchanged", async () => {
    const dir = await initialized();
    const file = path.join(dir, "src/generated/api/reports.ts");
    const before = fs.statSync(file).mtimeMs;
    const r = await cli(dir, "generate");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/0 created, 0 updated, 0 removed, 55 unchanged/);
    expect(fs.statSync(file).mtimeMs).toBe(before);
  });

  it("every file carries the do-not-edit header", async () => {
    const dir = await initialized();
    for (const [name, text] of Object.entries(snapshotTree(path.join(dir, "src/generated")))) {
      if (name.endsWith(".ts")) expect(text.split("\n")[1], name).toMatch(/^\/\/ Do not edit/);
      // JSON has no comments: the note is its "$comment" field (the manifest is the writer's own file).
      if (name.endsWith(".json") && !name.includes(".sync-patterns-manifest")) expect((JSON.parse(text) as { $comment: string }).$comment, name).toMatch(/Do not edit/);
    }
  });

  it("--check exits 1 and lists drift, 0 when up to date; --dry-run writes nothing", async () => {
    const dir = await initialized();
    expect((await cli(dir, "generate", "--check")).exitCode).toBe(0);
    fs.writeFileSync(path.join(dir, "openapi.yaml"), spec.replace("operationId: getMonthlySummary", "operationId: getMonthSummary"));
    const before = snapshotTree(path.join(dir, "src/generated"));
    const check = await cli(dir, "generate", "--check");
    expect(check.exitCode).toBe(1);
    expect(check.stdout).toContain("update  src/generated/api/reports.ts");
    const dry = await cli(dir, "generate", "--dry-run");
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain("update  src/generated/api/reports.ts");
    expect(snapshotTree(path.join(dir, "src/generated"))).toEqual(before);
  });

  it("a broken spec leaves the previous output byte-identical", async () => {
    const dir = await initialized();
    const before = snapshotTree(path.join(dir, "src/generated"));
    fs.writeFileSync(path.join(dir, "openapi.yaml"), spec.replace("paths:", "paths:\n  bad: [unclosed"));
    const r = await cli(dir, "generate");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/openapi\.yaml:\d+:\d+ +Syntax error/);
    expect(snapshotTree(path.join(dir, "src/generated"))).toEqual(before);
  });

  it("removes stale files it made, and never touches files it does not own", async () => {
    const dir = await initialized();
    fs.writeFileSync(path.join(dir, "src/generated/mine.ts"), "// my own file\n");
    const noReports = spec.replace(/\n {2}\/api\/reports[\s\S]*?(?=\n {2}\/api\/(?!reports)|\ncomponents:)/g, "").replace(/tags: \[reports\]/g, "tags: [accounts]");
    fs.writeFileSync(path.join(dir, "openapi.yaml"), noReports);
    const r = await cli(dir, "generate");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("delete  src/generated/api/reports.ts");
    expect(fs.existsSync(path.join(dir, "src/generated/api/reports.ts"))).toBe(false);
    expect(fs.readFileSync(path.join(dir, "src/generated/mine.ts"), "utf8")).toBe("// my own file\n");
  });

  it("refuses to overwrite a file it did not write", async () => {
    const dir = tempProject({ "openapi.yaml": spec, "src/generated/index.ts": "// hand-written\n" });
    const r = await cli(dir, "init", "--yes");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("[write/unowned-file]");
    expect(fs.readFileSync(path.join(dir, "src/generated/index.ts"), "utf8")).toBe("// hand-written\n");
  });

  it("reports a bad config with its line and a suggestion", async () => {
    const dir = await initialized();
    fs.appendFileSync(path.join(dir, "sync-patterns.config.yaml"), "outptu: src/x\n");
    const r = await cli(dir, "generate");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/sync-patterns\.config\.yaml:\d+:1 +\/outptu +Unknown setting/);
    expect(r.stderr).toContain("Did you mean `output`?");
  });

  it("--watch regenerates when the spec changes", async () => {
    const dir = await initialized();
    const { execa } = await import("execa");
    const { BIN } = await import("../support/project.js");
    const child = execa("node", [BIN, "generate", "--watch"], { cwd: dir, reject: false });
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    await until(() => out.includes("Watching"));
    fs.writeFileSync(path.join(dir, "openapi.yaml"), spec.replace("operationId: exportReport", "operationId: startExport"));
    await until(() => fs.readFileSync(path.join(dir, "src/generated/api/reports.ts"), "utf8").includes("export function startExport"));
    child.kill("SIGTERM");
    expect((await child).exitCode).toBe(0);
  });
});

describe("the committed example client", () => {
  it("is what the current generator produces (generate --check on examples/finance-tracker/app)", async () => {
    const { REPO } = await import("../support/project.js");
    const r = await cli(REPO, "generate", "--check", "--cwd", "examples/finance-tracker/app");
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/is up to date/);
  });
});

describe("add", () => {
  it("brings a resource into the local-first stack and records it in the config", async () => {
    const dir = await initialized();
    const r = await cli(dir, "add", "Category", "--local-first");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("create  src/generated/types/category.ts");
    expect(fs.readFileSync(path.join(dir, "sync-patterns.config.yaml"), "utf8")).toMatch(/entities:\s+category:\s+mode: local-first/);
    const list = await cli(dir, "list");
    expect(list.stdout).toMatch(/category +local-first +table categories/);
  });

  it("finds resources by plural name and by path", async () => {
    for (const name of ["categories", "/api/categories"]) {
      const dir = await initialized();
      expect((await cli(dir, "add", name)).exitCode).toBe(0);
    }
  });

  it("an unknown name lists the resources and suggests the closest", async () => {
    const dir = await initialized();
    const before = fs.readFileSync(path.join(dir, "sync-patterns.config.yaml"), "utf8");
    const r = await cli(dir, "add", "categry");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('Did you mean "category"?');
    expect(r.stderr).toMatch(/Resources found: .*contact/);
    expect(fs.readFileSync(path.join(dir, "sync-patterns.config.yaml"), "utf8")).toBe(before);
  });
});

describe("list", () => {
  it("shows entities with mode, table, key and flagged fields, and the operations", async () => {
    const dir = await initialized();
    const r = await cli(dir, "list");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/contact +local-first +table contacts +key id/);
    expect(r.stdout).toMatch(/account +confirmed +table accounts/);
    expect(r.stdout).toMatch(/local_notes: x-sync-exclude/);
    expect(r.stdout).toMatch(/credit_limit: x-owner-only/);
    expect(r.stdout).toMatch(/GET +\/api\/reports\/monthly-summary +getMonthlySummary/);
    const json = JSON.parse((await cli(dir, "list", "--json")).stdout) as { entities: { table: string }[] };
    expect(json.entities.map((e) => e.table).sort()).toEqual(["accounts", "contacts", "household_members", "transactions"]);
  });
});

describe("eject templates", () => {
  it("ejects, and later generations use the edited copy (partials too)", async () => {
    const dir = await initialized();
    const r = await cli(dir, "eject", "templates", "partials/doc.eta", "api/defaults.ts.eta");
    expect(r.exitCode, r.stderr).toBe(0);
    const tdir = path.join(dir, "sync-patterns/templates");
    const lock = JSON.parse(fs.readFileSync(path.join(tdir, "templates.lock.json"), "utf8")) as { templates: Record<string, { sha256: string }> };
    expect(Object.keys(lock.templates)).toEqual(["api/defaults.ts.eta", "partials/doc.eta"]);
    expect(fs.readFileSync(path.join(tdir, ".base/partials/doc.eta"), "utf8")).toBe(fs.readFileSync(path.join(tdir, "partials/doc.eta"), "utf8"));
    fs.appendFileSync(path.join(tdir, "api/defaults.ts.eta"), "export const TEAM = <%~ JSON.stringify(it.model.title) %>;\n");
    fs.writeFileSync(path.join(tdir, "partials/doc.eta"), fs.readFileSync(path.join(tdir, "partials/doc.eta"), "utf8").replace("/** <%= it.lines[0] %> */", "/** (team) <%= it.lines[0] %> */"));
    const g = await cli(dir, "generate");
    expect(g.exitCode, g.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, "src/generated/api/defaults.ts"), "utf8")).toContain('export const TEAM = "Finance Tracker API";');
    // The partial is included by types/schemas.ts.eta, which was not ejected: the built-in picks up the project's partial.
    expect(fs.readFileSync(path.join(dir, "src/generated/types/schemas.ts"), "utf8")).toContain("/** (team) A person or company. */");
  });

  it("does not overwrite an ejected copy without --force", async () => {
    const dir = await initialized();
    await cli(dir, "eject", "templates", "index.ts.eta");
    const file = path.join(dir, "sync-patterns/templates/index.ts.eta");
    fs.appendFileSync(file, "// mine\n");
    const again = await cli(dir, "eject", "templates", "index.ts.eta");
    expect(again.stderr).toContain("[eject/exists]");
    expect(fs.readFileSync(file, "utf8")).toContain("// mine");
    await cli(dir, "eject", "templates", "index.ts.eta", "--force");
    expect(fs.readFileSync(file, "utf8")).not.toContain("// mine");
  });

  it("an unknown template name is an error with a suggestion", async () => {
    const dir = await initialized();
    const r = await cli(dir, "eject", "templates", "api/grup.ts.eta");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('Did you mean "api/group.ts.eta"?');
  });

  it("warns, naming the template, when the built-in changed since it was ejected", async () => {
    const dir = await initialized();
    await cli(dir, "eject", "templates", "index.ts.eta");
    const lockFile = path.join(dir, "sync-patterns/templates/templates.lock.json");
    const lock = JSON.parse(fs.readFileSync(lockFile, "utf8")) as { templates: Record<string, { sha256: string; version: string }> };
    lock.templates["index.ts.eta"] = { sha256: "0".repeat(64), version: "0.0.1" };
    fs.writeFileSync(lockFile, JSON.stringify(lock));
    const r = await cli(dir, "generate");
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/The built-in template index\.ts\.eta changed since you ejected it \(ejected from 0\.0\.1/);
  });

  it("a template that throws is reported with its file and line, and nothing is written", async () => {
    const dir = await initialized();
    await cli(dir, "eject", "templates", "api/defaults.ts.eta");
    const file = path.join(dir, "sync-patterns/templates/api/defaults.ts.eta");
    fs.writeFileSync(file, "line one\n<%= it.model.nope.deeper %>\n");
    const before = snapshotTree(path.join(dir, "src/generated"));
    const r = await cli(dir, "generate");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`${file}:2:1`);
    expect(r.stderr).toContain("[template/runtime-error]");
    expect(snapshotTree(path.join(dir, "src/generated"))).toEqual(before);
  });
});

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}
