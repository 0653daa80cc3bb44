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
  // The config file, the spec's folder (not recursively: that is usually the whole project) and the
  // ejected templates (recursively), when they exist.
  const targets: { path: string; recursive: boolean }[] = [
    { path: path.join(cwd, "sync-patterns.config.yaml"), recursive: false },
    { path: path.resolve(cwd, config.value.templates), recursive: true },
    ...(isUrl(config.value.spec) ? [] : [{ path: path.dirname(path.resolve(cwd, config.value.spec)), recursive: false }]),
  ].filter((t) => fs.existsSync(t.path));
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const outDir = path.resolve(cwd, config.value.output);
  const watchers = targets.map((t) =>
    fs.watch(t.path, { recursive: t.recursive }, (_event, file) => {
      const changed = file ? path.resolve(fs.statSync(t.path).isDirectory() ? t.path : path.dirname(t.path), file.toString()) : t.path;
      if (changed.startsWith(outDir + path.sep) || changed.includes(`${path.sep}node_modules${path.sep}`)) return;
      clearTimeout(timer);
      timer = setTimeout(() => (running = running.then(run)), WATCH_DEBOUNCE_MS);
    }),
  );
  io.stdout(`Watching ${targets.map((t) => path.relative(cwd, t.path) || ".").join(", ")} (Ctrl-C to stop)`);
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
