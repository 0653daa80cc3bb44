/**
 * What a new user runs into with the CLI (issue 12, item 9): the packages message after `add`
 * and `generate`, `init --install` / `init --force` on an existing config, unknown flags,
 * `init --help`, `generate --watch` targets and a symlinked output folder. The real bin in
 * temporary projects, as in cli.test.ts.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cli, tempProject } from "../support/project.js";

const NOTE = `type: object
required: [id, title]
properties:
  id: { type: string, format: uuid }
  title: { type: string }
`;

/** One CRUD resource (notes) without x-sync; Note lives in its own file, as specs split into folders do. */
function spec(ref = "./schemas/note.yaml"): string {
  const note = `{ $ref: "${ref}" }`;
  return `openapi: 3.0.3
info: { title: Notes, version: "1" }
servers: [{ url: http://localhost:3000 }]
paths:
  /api/notes:
    get:
      operationId: listNotes
      responses: { "200": { description: ok, content: { application/json: { schema: { type: array, items: ${note} } } } } }
    post:
      operationId: createNote
      requestBody: { content: { application/json: { schema: ${note} } } }
      responses: { "201": { description: ok, content: { application/json: { schema: ${note} } } } }
  /api/notes/{id}:
    parameters: [{ name: id, in: path, required: true, schema: { type: string, format: uuid } }]
    patch:
      operationId: updateNote
      requestBody: { content: { application/json: { schema: ${note} } } }
      responses: { "200": { description: ok, content: { application/json: { schema: ${note} } } } }
    delete:
      operationId: deleteNote
      responses: { "204": { description: gone } }
`;
}

function project(): string {
  return tempProject({ "openapi.yaml": spec(), "schemas/note.yaml": NOTE });
}

async function initialized(): Promise<string> {
  const dir = project();
  const r = await cli(dir, "init", "--yes");
  expect(r.exitCode, r.stderr).toBe(0);
  return dir;
}

const config = (dir: string): string => fs.readFileSync(path.join(dir, "sync-patterns.config.yaml"), "utf8");
/** The packages of the `npm install …` line printed, by name. */
function installLine(stdout: string): string[] {
  const line = stdout.split("\n").find((l) => l.trim().startsWith("npm install "));
  return line ? line.trim().split(/\s+/).slice(2).map((spec) => spec.replace(/(?<=.)@.*$/, "")) : [];
}
const BASE = ["@tanstack/react-query", "react"];
const STACK = ["@electric-sql/pglite", "@electric-sql/client", "@tanstack/db", "@tanstack/react-db", "uuid"];

describe("the packages the client needs", () => {
  it("init prints them", async () => {
    const r = await cli(project(), "init", "--yes");
    expect(installLine(r.stdout)).toEqual(expect.arrayContaining(BASE));
    expect(installLine(r.stdout)).not.toContain("@electric-sql/pglite");
  });

  it("`add` of the first synced entity prints the new full set, naming what is new", async () => {
    const dir = await initialized();
    const r = await cli(dir, "add", "note");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`now also needs ${STACK.join(", ")}[;,]`));
    expect(installLine(r.stdout)).toEqual(expect.arrayContaining([...BASE, ...STACK]));
    // Nothing new the second time.
    expect((await cli(dir, "generate")).stdout).not.toContain("npm install");
  });

  it("`generate` after the spec gained its first x-sync entity prints them too", async () => {
    const dir = await initialized();
    fs.writeFileSync(path.join(dir, "openapi.yaml"), spec().replace("  /api/notes:\n", "  /api/notes:\n    x-sync: true\n"));
    const r = await cli(dir, "generate");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(installLine(r.stdout)).toEqual(expect.arrayContaining([...BASE, ...STACK]));
  });
});

describe("init on an existing config", () => {
  it("`init --install`, as init's own hint says, regenerates from the config instead of failing", async () => {
    const dir = await initialized();
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "app", private: true }));
    // npm reads the project's .npmrc: plan the install, fetch nothing.
    fs.writeFileSync(path.join(dir, ".npmrc"), "dry-run=true\noffline=true\n");
    const r = await cli(dir, "init", "--install");
    expect(r.stderr).not.toContain("init/config-exists");
    expect(r.stdout).toMatch(/Installing: npm install @tanstack\/react-query@\S+ react@\S+/);
  });

  it("with other flags and no --force it still refuses, and the hint names what works", async () => {
    const dir = await initialized();
    const r = await cli(dir, "init", "--yes", "--out", "src/client");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("[init/config-exists]");
    expect(r.stderr).toContain("init --install");
  });

  it("`init --force` keeps the entities that `add` wrote, and says so", async () => {
    const dir = await initialized();
    expect((await cli(dir, "add", "note", "--local-first")).exitCode).toBe(0);
    const r = await cli(dir, "init", "--yes", "--force", "--out", "src/client");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("keeping `templates`, `entities`");
    expect(config(dir)).toMatch(/output: "?src\/client"?[\s\S]*entities:\s+note:\s+mode: local-first/);
    expect(fs.existsSync(path.join(dir, "src/client/types/note.ts"))).toBe(true);
    expect((await cli(dir, "list")).stdout).toMatch(/note +local-first/);
  });

  it("`init --force` replaces a config that is not YAML at all", async () => {
    const dir = await initialized();
    fs.writeFileSync(path.join(dir, "sync-patterns.config.yaml"), "spec: [unclosed\n");
    const r = await cli(dir, "init", "--yes", "--force");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(config(dir)).toContain('spec: "openapi.yaml"');
  });
});

describe("usage", () => {
  it("an unknown flag is a cli/unknown-option error with a suggestion, not parseArgs' advice about `--`", async () => {
    const r = await cli(tempProject(), "generate", "--chek");
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^error: unknown option --chek for `sync-patterns generate` +\[cli\/unknown-option\]/);
    expect(r.stderr).toContain("Did you mean --check?");
    expect(r.stderr).not.toContain("after '--'");
  });

  it("a flag of another command says which command takes it", async () => {
    const r = await cli(tempProject(), "generate", "--force");
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("--force is an option of `init` and `eject`");
  });

  it("an unknown command suggests the closest one", async () => {
    const r = await cli(tempProject(), "genrate");
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^error: unknown command "genrate" +\[cli\/unknown-command\]\n +hint: Did you mean `sync-patterns generate`\?/);
  });

  it("`init --help` gives the real spec lookup order", async () => {
    const r = await cli(tempProject(), "init", "--help");
    expect(r.stdout).toContain("./openapi.yaml, ./openapi.yml, ./openapi.json, ./swagger.yaml, ./swagger.json");
  });
});

// `script` gives the CLI a terminal, as a user's shell does, so that init asks.
const hasScript = fs.existsSync("/usr/bin/script");

describe("init in a terminal", () => {
  it.skipIf(!hasScript)("offers the spec file it found as the default, not a fixed openapi.yaml", async () => {
    const { execa } = await import("execa");
    const { BIN } = await import("../support/project.js");
    const dir = tempProject({ "swagger.yaml": spec(), "schemas/note.yaml": NOTE });
    const child = execa("script", ["-qec", `node ${JSON.stringify(BIN)} init`, "/dev/null"], { cwd: dir, reject: false, env: { NO_COLOR: "1" } });
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString().replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")));
    try {
      await until(() => out.includes("OpenAPI spec"));
      await until(() => /OpenAPI spec \(path or URL\)\s*\((\S+)\)/.test(out));
      expect(/OpenAPI spec \(path or URL\)\s*\((\S+)\)/.exec(out)?.[1]).toBe("swagger.yaml");
    } finally {
      child.kill("SIGKILL");
      await child;
    }
  });
});

describe("a symlinked output folder", () => {
  it("is refused with the config line and a hint; nothing is written outside the project", async () => {
    const dir = await initialized();
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), "sp-outside-"));
    try {
      fs.rmSync(path.join(dir, "src/generated"), { recursive: true });
      fs.symlinkSync(outside, path.join(dir, "src/generated"));
      fs.writeFileSync(path.join(dir, "openapi.yaml"), spec().replace("operationId: listNotes", "operationId: allNotes"));
      const r = await cli(dir, "generate");
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/sync-patterns\.config\.yaml:\d+:\d+ +\/output +.*src\/generated.*symbolic link.*outside the project.*\[write\/output-outside-project\]/);
      expect(r.stderr).toContain("hint:");
      expect(fs.readdirSync(outside)).toEqual([]);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it("is refused when a folder above it is the link", async () => {
    const dir = await initialized();
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), "sp-outside-"));
    try {
      fs.renameSync(path.join(dir, "src"), path.join(outside, "src"));
      fs.symlinkSync(path.join(outside, "src"), path.join(dir, "src"));
      const r = await cli(dir, "generate");
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain("[write/output-outside-project]");
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it("is refused when a folder inside it, written into, links out", async () => {
    const dir = await initialized();
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), "sp-outside-"));
    try {
      const api = path.join(dir, "src/generated/api");
      for (const f of fs.readdirSync(api)) fs.copyFileSync(path.join(api, f), path.join(outside, f));
      fs.rmSync(api, { recursive: true });
      fs.symlinkSync(outside, api);
      const before = fs.readdirSync(outside).sort();
      // A tag moves the operations from api/default.ts to api/notes.ts: a write and a delete through the link.
      fs.writeFileSync(path.join(dir, "openapi.yaml"), spec().replace(/operationId: /g, "tags: [notes]\n      operationId: "));
      const r = await cli(dir, "generate");
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/src\/generated\/api inside the output folder leads through a symbolic link to .*\[write\/output-outside-project\]/);
      expect(fs.readdirSync(outside).sort()).toEqual(before);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it("is refused when stale files would be deleted through a link inside it", async () => {
    const dir = await initialized();
    expect((await cli(dir, "add", "note")).exitCode).toBe(0);
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), "sp-outside-"));
    try {
      const collections = path.join(dir, "src/generated/collections");
      for (const f of fs.readdirSync(collections)) fs.copyFileSync(path.join(collections, f), path.join(outside, f));
      fs.rmSync(collections, { recursive: true });
      fs.symlinkSync(outside, collections);
      const before = fs.readdirSync(outside).sort();
      // Without the entity, nothing is written into collections/ any more: its files are only deleted.
      fs.writeFileSync(path.join(dir, "sync-patterns.config.yaml"), config(dir).replace(/entities:[\s\S]*$/, ""));
      const r = await cli(dir, "generate");
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/src\/generated\/collections inside the output folder leads through a symbolic link .*\[write\/output-outside-project\]/);
      expect(fs.readdirSync(outside).sort()).toEqual(before);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it("a link that stays inside the project is fine", async () => {
    const dir = await initialized();
    fs.renameSync(path.join(dir, "src/generated"), path.join(dir, "client"));
    fs.symlinkSync(path.join(dir, "client"), path.join(dir, "src/generated"));
    const r = await cli(dir, "generate");
    expect(r.exitCode, r.stderr).toBe(0);
  });
});

describe("generate --watch", () => {
  /** Starts `generate --watch`; resolves once it watches, with its output so far and a stop function. */
  async function watching(dir: string): Promise<{ out: () => string; stop: () => Promise<number> }> {
    const { execa } = await import("execa");
    const { BIN } = await import("../support/project.js");
    const child = execa("node", [BIN, "generate", "--watch"], { cwd: dir, reject: false, env: { NO_COLOR: "1" } });
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    await until(() => out.includes("Watching"));
    return {
      out: () => out,
      stop: async () => {
        child.kill("SIGTERM");
        return (await child).exitCode ?? -1;
      },
    };
  }

  it("watches exactly the config, the spec, the files it $refs and the template folder", async () => {
    const dir = await initialized();
    const w = await watching(dir);
    try {
      expect(w.out()).toContain("Watching sync-patterns.config.yaml, openapi.yaml, schemas/note.yaml, sync-patterns/templates (Ctrl-C to stop)");
    } finally {
      expect(await w.stop()).toBe(0);
    }
  });

  it("regenerates when a $ref'd file in another folder changes", async () => {
    const dir = await initialized();
    const w = await watching(dir);
    try {
      fs.writeFileSync(path.join(dir, "schemas/note.yaml"), NOTE + "  pinnedAt: { type: string, format: date-time }\n");
      await until(() => fs.readFileSync(path.join(dir, "src/generated/api/default.ts"), "utf8").includes("pinnedAt"));
    } finally {
      expect(await w.stop()).toBe(0);
    }
  });

  it("never watches the output folder, even inside the spec's folder; follows a new template folder", async () => {
    const dir = tempProject({ "api/openapi.yaml": spec(), "api/schemas/note.yaml": NOTE });
    expect((await cli(dir, "init", "--yes", "--spec", "api/openapi.yaml", "--out", "api/client")).exitCode).toBe(0);
    const w = await watching(dir);
    try {
      expect(w.out()).toContain("Watching sync-patterns.config.yaml, api/openapi.yaml, api/schemas/note.yaml, sync-patterns/templates (");
      // The template folder is watched before it exists: ejecting a template and editing it regenerates.
      expect((await cli(dir, "eject", "templates", "api/defaults.ts.eta")).exitCode).toBe(0);
      // The new folder starts a run (its template is still the built-in); then an edit starts another.
      await until(() => (w.out().match(/^\[.*\] Up to date/gm) ?? []).length >= 2);
      const template = path.join(dir, "sync-patterns/templates/api/defaults.ts.eta");
      fs.appendFileSync(template, "\n// edited in the template\n");
      await until(() => fs.readFileSync(path.join(dir, "api/client/api/defaults.ts"), "utf8").includes("edited in the template"));
    } finally {
      expect(await w.stop()).toBe(0);
    }
  });
});

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}
