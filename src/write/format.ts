/**
 * Optional formatting with the project's own prettier or biome (config `format`). Runs on a
 * temporary copy before the write plan is made, so `--check` compares formatted text and a
 * formatter failure leaves the output untouched.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { error, fail, ok, type Result } from "../diagnostics/diagnostic.js";
import type { Formatter } from "../config/config.js";
import type { RenderedFile } from "../render/render.js";

const COMMANDS: Record<Exclude<Formatter, "none">, (dir: string) => [string, string[]]> = {
  prettier: (dir) => ["prettier", ["--write", "--log-level", "warn", dir]],
  biome: (dir) => ["biome", ["format", "--write", dir]],
};

export async function formatFiles(files: RenderedFile[], formatter: Formatter, projectRoot: string): Promise<Result<RenderedFile[]>> {
  if (formatter === "none") return ok(files);
  // Inside the project, so the formatter finds the project's own config files.
  const dir = await fs.mkdtemp(path.join(projectRoot, ".sync-patterns-format-"));
  try {
    for (const f of files) {
      await fs.mkdir(path.dirname(path.join(dir, f.path)), { recursive: true });
      await fs.writeFile(path.join(dir, f.path), f.content);
    }
    const [bin, args] = COMMANDS[formatter](dir);
    const { execa } = await import("execa"); // loaded only when a formatter is configured
    const result = await execa(bin, args, { cwd: projectRoot, preferLocal: true, reject: false });
    if (result.exitCode !== 0) {
      const missing = result.failed && /ENOENT|not found/i.test(result.message ?? "");
      return fail([
        error(
          missing ? "format/not-installed" : "format/failed",
          missing ? `\`format: ${formatter}\` is set but ${formatter} is not installed in this project.` : `${formatter} failed: ${String(result.stderr || result.stdout || result.message).split("\n")[0] ?? ""}`,
          { file: "sync-patterns.config.yaml", pointer: "/format" },
          missing ? `Run \`npm install -D ${formatter === "biome" ? "@biomejs/biome" : "prettier"}\`, or set \`format: none\`.` : "Fix the formatter's configuration, or set `format: none`.",
        ),
      ]);
    }
    return ok(await Promise.all(files.map(async (f) => ({ path: f.path, content: await fs.readFile(path.join(dir, f.path), "utf8") }))));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

