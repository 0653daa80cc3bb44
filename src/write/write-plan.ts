/**
 * Stage 5: write. RenderedFile[] + the manifest of owned files → a WritePlan (what to
 * create, update, delete), then applied all-or-nothing: every new text is staged next to its
 * target first, then swapped in; if anything fails, the originals are put back.
 *
 * The generator owns exactly the files in its manifest (`<output>/.sync-patterns-manifest.json`).
 * It deletes stale files it made and never touches anything else: a file at a target path
 * that it does not own is an error, not an overwrite.
 */
import { sha256 } from "../hash.js";
import fs from "node:fs/promises";
import path from "node:path";
import { error, fail, ok, type Result } from "../diagnostics/diagnostic.js";
import type { RenderedFile } from "../render/render.js";

export const MANIFEST_FILE = ".sync-patterns-manifest.json";

export interface Manifest {
  generator: "sync-patterns";
  /** Version of sync-patterns that wrote the files. */
  version: string;
  /** Output path (relative to the output folder) → sha256 of the content written. */
  files: Record<string, string>;
  /** The npm packages the written client needs (name → range), to tell when a generation needs new ones. */
  packages?: Record<string, string>;
}

export interface WritePlan {
  /** Absolute output folder. */
  outDir: string;
  create: RenderedFile[];
  update: RenderedFile[];
  unchanged: string[];
  /** Stale files this generator wrote earlier and no longer produces. */
  remove: string[];
  manifest: Manifest;
}


export async function readManifest(outDir: string): Promise<Manifest | undefined> {
  try {
    const raw = JSON.parse(await fs.readFile(path.join(outDir, MANIFEST_FILE), "utf8")) as Manifest;
    return raw && raw.generator === "sync-patterns" && typeof raw.files === "object" ? raw : undefined;
  } catch {
    return undefined;
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EISDIR") return DIRECTORY;
    return undefined;
  }
}

/** Marks a target path that is a folder: never a file the generator may replace. */
const DIRECTORY = "\u0000directory";

export async function planWrites(outDir: string, files: RenderedFile[], version: string, displayOut: string): Promise<Result<WritePlan>> {
  const previous = await readManifest(outDir);
  const owned = new Set(Object.keys(previous?.files ?? {}));
  const plan: WritePlan = { outDir, create: [], update: [], unchanged: [], remove: [], manifest: { generator: "sync-patterns", version, files: {} } };
  const diagnostics = [];
  const wanted = new Set<string>();
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const rel = file.path;
    if (rel.startsWith("/") || rel.split("/").includes("..")) throw new Error(`internal: output path escapes the output folder: ${rel}`);
    if (wanted.has(rel)) throw new Error(`internal: two artifacts write ${rel}`);
    wanted.add(rel);
    plan.manifest.files[rel] = sha256(file.content);
    const current = await readIfExists(path.join(outDir, rel));
    if (current === DIRECTORY) {
      diagnostics.push(error("write/not-a-file", `${path.posix.join(displayOut, rel)} is a folder; the generator needs a file there.`, { file: path.posix.join(displayOut, rel) }, "Move the folder away, or choose another `output` folder."));
    } else if (current === undefined) plan.create.push(file);
    else if (current === file.content) plan.unchanged.push(rel);
    else if (owned.has(rel)) plan.update.push(file);
    else {
      diagnostics.push(
        error("write/unowned-file", `${path.posix.join(displayOut, rel)} exists and was not written by sync-patterns; it would be overwritten.`, { file: path.posix.join(displayOut, rel) }, `Move or delete that file, or choose another \`output\` folder in sync-patterns.config.yaml.`),
      );
    }
  }
  for (const rel of [...owned].sort()) {
    if (!wanted.has(rel) && (await readIfExists(path.join(outDir, rel))) !== undefined) plan.remove.push(rel);
  }
  if (diagnostics.length) return fail(diagnostics);
  return ok(plan);
}

export function planIsEmpty(plan: WritePlan): boolean {
  return plan.create.length === 0 && plan.update.length === 0 && plan.remove.length === 0;
}

/** Applies a plan: stage, swap, then clean up. On failure every touched file is restored. */
export async function applyWritePlan(plan: WritePlan): Promise<void> {
  const stamp = `${process.pid}-${Date.now().toString(36)}`;
  const writes = [...plan.create, ...plan.update];
  const staged: { target: string; temp: string; backup?: string }[] = [];
  const swapped: typeof staged = [];
  const removed: { target: string; backup: string }[] = [];
  try {
    for (const file of writes) {
      const target = path.join(plan.outDir, file.path);
      await fs.mkdir(path.dirname(target), { recursive: true });
      const temp = `${target}.${stamp}.tmp`;
      await fs.writeFile(temp, file.content);
      staged.push({ target, temp });
    }
    for (const s of staged) {
      // Recorded before the first rename, so a failure between the two still restores the original.
      swapped.push(s);
      if (await exists(s.target)) {
        s.backup = `${s.target}.${stamp}.bak`;
        await fs.rename(s.target, s.backup);
      }
      await fs.rename(s.temp, s.target);
    }
    for (const rel of plan.remove) {
      const target = path.join(plan.outDir, rel);
      const backup = `${target}.${stamp}.bak`;
      await fs.rename(target, backup);
      removed.push({ target, backup });
    }
    await fs.mkdir(plan.outDir, { recursive: true });
    const manifest = path.join(plan.outDir, MANIFEST_FILE);
    await fs.writeFile(`${manifest}.${stamp}.tmp`, JSON.stringify(plan.manifest, null, 2) + "\n");
    await fs.rename(`${manifest}.${stamp}.tmp`, manifest);
  } catch (e) {
    for (const r of removed.reverse()) await fs.rename(r.backup, r.target).catch(() => {});
    for (const s of swapped.reverse()) {
      if (s.backup) await fs.rename(s.backup, s.target).catch(() => {});
      else if (!(await exists(s.temp))) await fs.rm(s.target, { force: true });
    }
    for (const s of staged) await fs.rm(s.temp, { force: true });
    throw e;
  }
  // Committed: the new output is in place. Leftover backups are only clutter, never a reason to fail.
  for (const s of swapped) if (s.backup) await fs.rm(s.backup, { force: true, recursive: true }).catch(() => {});
  for (const r of removed) {
    await fs.rm(r.backup, { force: true, recursive: true }).catch(() => {});
    await removeEmptyDirs(path.dirname(r.target), plan.outDir);
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

async function removeEmptyDirs(dir: string, stopAt: string): Promise<void> {
  while (dir.startsWith(stopAt + path.sep)) {
    const entries = await fs.readdir(dir).catch(() => ["?"]);
    if (entries.length) return;
    await fs.rmdir(dir).catch(() => {});
    dir = path.dirname(dir);
  }
}
