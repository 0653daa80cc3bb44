/**
 * `generate --watch`: generate once, then again whenever one of its inputs changes (debounced),
 * until interrupted. The inputs, watched with chokidar, are exactly: the config file, the spec
 * file and the local files it `$ref`s, and the ejected template folder (recursively, also
 * before it exists). Never a whole folder of the project, never the output folder: the
 * generator's own writes must not start another run. The set is computed again after every
 * run, so a config that points at another spec, or a new `$ref`, is followed.
 */
import fs from "node:fs";
import path from "node:path";
import { watch, type FSWatcher } from "chokidar";
import { CONFIG_FILE, loadConfig, type ResolvedConfig } from "../config/config.js";
import { formatDiagnostics } from "../diagnostics/format.js";
import { specLocation } from "../generate.js";
import { loadSpec } from "../spec/load.js";
import { isUrl } from "../spec/source.js";
import { runGenerate } from "./commands/generate.js";
import { createReport, exitCodeOf } from "./report.js";
import type { Io } from "./io.js";

export const WATCH_DEBOUNCE_MS = 150;

function isWithin(folder: string, target: string): boolean {
  const rel = path.relative(folder, target);
  return rel === "" || (rel !== ".." && !rel.startsWith(".." + path.sep) && !path.isAbsolute(rel));
}

/**
 * What `generate --watch` watches for a config (absolute paths, in this order): the config file,
 * the spec and the local documents it `$ref`s (when the spec loads; `knownRefs` otherwise), the
 * template folder. Anything inside the output folder is left out.
 */
export async function watchTargets(config: ResolvedConfig, cwd: string, knownRefs: readonly string[] = []): Promise<{ targets: string[]; refs: string[] }> {
  let refs = [...knownRefs];
  const targets = [path.join(config.root, CONFIG_FILE)];
  if (!isUrl(config.spec)) {
    targets.push(path.resolve(config.root, config.spec));
    const spec = await loadSpec(specLocation(config), cwd);
    if (spec.ok) refs = Object.values(spec.value.externals).filter((e) => !isUrl(e)).map((e) => path.resolve(cwd, e));
    targets.push(...refs);
  }
  targets.push(path.resolve(config.root, config.templates));
  const outDir = path.resolve(config.root, config.output);
  return { targets: [...new Set(targets)].filter((t) => !isWithin(outDir, t)), refs };
}

function nearestExisting(target: string): string {
  let p = target;
  while (!fs.existsSync(p) && path.dirname(p) !== p) p = path.dirname(p);
  return p;
}

export async function watchAndGenerate(cwd: string, io: Io, signal?: AbortSignal): Promise<number> {
  const first = await loadConfig(cwd);
  if (!first.ok) {
    io.stderr(formatDiagnostics(first.diagnostics));
    return 1;
  }
  let config = first.value;
  let refs: string[] = [];
  let watched: string[] = [];
  let watcher: FSWatcher | undefined;

  let paths: string[] = [];
  const describe = (): string => watched.map((t) => path.relative(cwd, t) || ".").join(", ");
  // A target that does not exist yet (the template folder before the first eject) is watched
  // through its nearest existing folder, where every path off the way to a target is ignored.
  const relevant = (p: string): boolean => watched.some((t) => isWithin(p, t) || isWithin(t, p));
  /** Watches the current targets; true when they changed since the last call (not on the first). */
  const follow = async (): Promise<boolean> => {
    const next = await watchTargets(config, cwd, refs);
    refs = next.refs;
    const changed = next.targets.join("\n") !== watched.join("\n");
    watched = next.targets;
    const nextPaths = [...new Set(watched.map(nearestExisting))];
    const first = watcher === undefined;
    if (first || nextPaths.join("\n") !== paths.join("\n")) {
      // A new watcher rather than add/unwatch: chokidar keeps ignoring what was unwatched, below it too.
      await watcher?.close();
      paths = nextPaths;
      const next = watch(paths, { ignoreInitial: true, ignored: (p) => !relevant(path.resolve(p)) });
      next.on("all", schedule);
      await new Promise<void>((resolve) => next.once("ready", () => resolve()));
      watcher = next;
    }
    return !first && changed;
  };

  const run = async (): Promise<void> => {
    const report = createReport();
    await runGenerate(cwd, {}, report);
    if (report.diagnostics.length) io.stderr(formatDiagnostics(report.diagnostics));
    const ok = exitCodeOf(report) === 0;
    // Watch what this generation read before saying it is done, so that a change made after the
    // line below is always seen.
    const reloaded = await loadConfig(cwd);
    if (reloaded.ok) config = reloaded.value;
    const moved = await follow();
    // The packages message (when the client needs new ones), then the summary line.
    const notes = ok ? report.lines.filter((l) => !/^ {2}(create|update|delete) {2}/.test(l)).slice(0, -1) : [];
    if (notes.length) io.stdout(notes.join("\n"));
    io.stdout(`[${new Date().toLocaleTimeString()}] ${ok ? (report.lines.at(-1) ?? "done") : "generation failed; the previous output is unchanged"}`);
    if (moved) io.stdout(`Now watching ${describe()}`);
  };

  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  function schedule(): void {
    clearTimeout(timer);
    timer = setTimeout(() => (running = running.then(run)), WATCH_DEBOUNCE_MS);
  }

  await run();
  io.stdout(`Watching ${describe()} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    signal?.addEventListener("abort", stop);
  });
  clearTimeout(timer);
  await running;
  await watcher?.close();
  return 0;
}
