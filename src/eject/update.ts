/**
 * `templates update`: brings ejected templates up to the installed built-ins without losing
 * local edits. Per template, from its status:
 *
 * - upstream unchanged: nothing to do (your edits, if any, stay);
 * - you did not edit it: your copy becomes the new built-in;
 * - both changed: a three-way merge (base, yours, upstream) is written to your copy; lines both
 *   sides changed differently get conflict markers, or one side with `prefer`.
 *
 * Whenever your copy now contains the new built-in's changes (markers included), `.base/` and the
 * lock record the new built-in as the base, so a later update never merges the same change twice.
 * Your copy is never replaced wholesale: only what upstream changed is brought in.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { error, warning, type Diagnostic } from "../diagnostics/diagnostic.js";
import { MODEL_VERSION } from "../model/types.js";
import { VERSION } from "../version.js";
import { writeContextTypes } from "./context-types.js";
import { BASE_DIR, loadLock, recordBase, writeLock, type TemplateLock } from "./eject.js";
import { firstConflictLine, mergeThreeWay, resolveConflicts, type Side } from "./merge.js";
import { templateStatus, templateStatuses, type TemplateStatus } from "./status.js";

export type UpdateAction =
  /** Upstream did not change: nothing written. */
  | "up-to-date"
  /** Your unedited copy became the new built-in. */
  | "replaced"
  /** Your copy already had upstream's text: only the base moved. */
  | "already-merged"
  /** Your edits and upstream's merged cleanly. */
  | "merged"
  /** Merged with conflict markers left in your copy. */
  | "conflicts"
  /** Conflict markers left by an earlier update were resolved to one side. */
  | "resolved"
  /** No longer ejected (your copy was deleted): dropped from the lock and .base/. */
  | "forgotten"
  /** Not updated (see the diagnostics). */
  | "skipped";

export interface UpdateOutcome {
  name: string;
  action: UpdateAction;
  /** Conflicts left as markers, or decided by `prefer`. */
  conflicts: number;
  decided: number;
}

export interface UpdateResult {
  outcomes: UpdateOutcome[];
  diagnostics: Diagnostic[];
  /** The lock's model version before and after. */
  modelVersion: { before: number; after: number };
  contextWritten: boolean;
}

export async function updateTemplates(templatesDir: string, names: string[], prefer?: Side): Promise<UpdateResult> {
  const loaded = await loadLock(templatesDir);
  const empty = { outcomes: [], modelVersion: { before: MODEL_VERSION, after: MODEL_VERSION }, contextWritten: false };
  if (loaded.diagnostics.length) return { ...empty, diagnostics: loaded.diagnostics };
  const lock = loaded.lock ?? { lockVersion: 1 as const, modelVersion: MODEL_VERSION, templates: {} };
  const { statuses, diagnostics } = await templateStatuses(templatesDir, lock, names);
  if (diagnostics.length) return { ...empty, diagnostics };
  const outcomes: UpdateOutcome[] = [];
  for (const status of statuses) outcomes.push(await updateOne(templatesDir, lock, status, prefer, diagnostics));

  // The lock declares the current model version once every ejected template is at the installed
  // built-in and free of conflicts: the upgrade is done (the user's own edits are theirs to check).
  const before = lock.modelVersion;
  const all = await Promise.all(Object.entries(lock.templates).map(([name, entry]) => templateStatus(templatesDir, name, entry)));
  if (all.every((s) => s.state === "unchanged" || s.state === "modified")) lock.modelVersion = MODEL_VERSION;
  await writeLock(templatesDir, lock);
  const contextWritten = await writeContextTypes(templatesDir);
  return { outcomes, diagnostics, modelVersion: { before, after: lock.modelVersion }, contextWritten };
}

async function updateOne(templatesDir: string, lock: TemplateLock, status: TemplateStatus, prefer: Side | undefined, diagnostics: Diagnostic[]): Promise<UpdateOutcome> {
  const { name, files } = status;
  const outcome = (action: UpdateAction, conflicts = 0, decided = 0): UpdateOutcome => ({ name, action, conflicts, decided });
  let yours = status.yours;
  let resolved = 0;

  if (status.state === "conflicts") {
    if (!prefer) {
      diagnostics.push(error("template/unresolved-conflicts", `${name} still has conflict markers from an earlier update.`, { file: files.yours, line: status.conflictLine!, column: 1 }, `Edit the file to keep the lines you want and delete the markers, or keep one side of every conflict with \`sync-patterns templates update ${name} --ours\` (your lines) or \`--theirs\` (the built-in's).`));
      return outcome("skipped");
    }
    const r = resolveConflicts(status.yours!, prefer);
    if (r.unbalanced) {
      diagnostics.push(error("template/unresolved-conflicts", `${name} has conflict markers that do not pair up (<<<<<<<, =======, >>>>>>>), so --${prefer} cannot pick a side.`, { file: files.yours, line: status.conflictLine!, column: 1 }, "Resolve them by hand."));
      return outcome("skipped");
    }
    await fs.writeFile(files.yours, r.text);
    yours = r.text;
    resolved = r.resolved;
  }
  const current = resolved ? await templateStatus(templatesDir, name, status.entry) : status;

  switch (current.state) {
    case "deleted":
      delete lock.templates[name];
      await fs.rm(path.join(templatesDir, BASE_DIR, name), { force: true });
      return outcome("forgotten");
    case "removed-upstream":
      diagnostics.push(warning("template/upstream-removed", `The built-in template ${name} no longer exists; your copy is not used by any artifact.`, { file: files.yours }, "Delete your copy (then `templates update` drops it from the lock), or check the changelog for what replaced it."));
      return outcome("skipped");
    case "no-base":
      diagnostics.push(error("template/no-base", `The base of ${name} (${path.join(BASE_DIR, name)}) is missing, so your edits cannot be told from upstream's.`, { file: files.base }, `Restore ${path.join(BASE_DIR, name)} from version control, or save your copy and re-eject it with \`sync-patterns eject templates --force ${name}\`.`));
      return outcome("skipped");
    case "unchanged":
    case "modified":
      return outcome(resolved ? "resolved" : "up-to-date", 0, resolved);
    case "upstream":
      await fs.writeFile(files.yours, current.upstream!);
      await recordBase(templatesDir, lock, name, current.upstream!);
      return outcome("replaced", 0, resolved);
    case "both":
    case "conflicts": {
      if (yours === current.upstream) {
        await recordBase(templatesDir, lock, name, current.upstream!);
        return outcome("already-merged", 0, resolved);
      }
      const merged = mergeThreeWay(yours!, current.base!, current.upstream!, { yours: `yours (${name})`, upstream: `upstream (sync-patterns ${VERSION})` }, prefer);
      await fs.writeFile(files.yours, merged.text);
      await recordBase(templatesDir, lock, name, current.upstream!);
      if (merged.conflicts) {
        diagnostics.push(error("template/merge-conflicts", `${name}: ${merged.conflicts} conflict${merged.conflicts === 1 ? "" : "s"} between your edits and the new built-in; markers were written into your copy.`, { file: files.yours, line: firstConflictLine(merged.text) ?? 1, column: 1 }, `Keep the lines you want between <<<<<<< and >>>>>>> and delete the markers (\`generate\` refuses the template until then), or rerun with \`sync-patterns templates update ${name} --ours\` or \`--theirs\`.`));
        return outcome("conflicts", merged.conflicts);
      }
      return outcome("merged", 0, merged.decided + resolved);
    }
  }
}
