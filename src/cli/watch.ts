/**
 * `generate --watch`: generate once, then again whenever the spec file, the config or an
 * ejected template changes (debounced). Runs until interrupted.
 */
import fs from "node:fs";
import path from "node:path";
import { loadConfig } from "../config/config.js";
import { formatDiagnostics } from "../diagnostics/format.js";
import { isUrl } from "../spec/source.js";
import { runGenerate } from "./commands/generate.js";
import { createReport, exitCodeOf } from "./report.js";
import type { Io } from "./main.js";

export const WATCH_DEBOUNCE_MS = 150;

export async function watchAndGenerate(cwd: string, io: Io, signal?: AbortSignal): Promise<number> {
  const config = await loadConfig(cwd);
  if (!config.ok) {
    io.stderr(formatDiagnostics(config.diagnostics));
    return 1;
  }
  const run = async (): Promise<void> => {
    const report = createReport();
    await runGenerate(cwd, {}, report);
    if (report.diagnostics.length) io.stderr(formatDiagnostics(report.diagnostics));
    io.stdout(`[${new Date().toLocaleTimeString()}] ${exitCodeOf(report) === 0 ? report.lines.at(-1) ?? "done" : "generation failed; the previous output is unchanged"}`);
  };
  await run();
  const targets = [path.join(cwd, "sync-patterns.config.yaml"), path.resolve(cwd, config.value.templates)];
  if (!isUrl(config.value.spec)) targets.push(path.dirname(path.resolve(cwd, config.value.spec)));
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const outDir = path.resolve(cwd, config.value.output);
  const watchers = targets
    .filter((t) => fs.existsSync(t))
    .map((t) =>
      fs.watch(t, { recursive: fs.statSync(t).isDirectory() }, (_event, file) => {
        const changed = file ? path.resolve(fs.statSync(t).isDirectory() ? t : path.dirname(t), file.toString()) : t;
        if (changed.startsWith(outDir + path.sep) || changed.includes(`${path.sep}node_modules${path.sep}`)) return;
        clearTimeout(timer);
        timer = setTimeout(() => (running = running.then(run)), WATCH_DEBOUNCE_MS);
      }),
    );
  io.stdout(`Watching ${targets.map((t) => path.relative(cwd, t) || ".").join(", ")} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    signal?.addEventListener("abort", stop);
  });
  clearTimeout(timer);
  for (const w of watchers) w.close();
  await running;
  return 0;
}
