/**
 * The output folder must really be inside the project. `output:` is checked as text when the
 * config is read; this checks the disk: a symbolic link at the output folder, at a folder above
 * it, or at a folder inside it where a file is about to be written, must not lead out of the
 * project, or the generator would write (and delete) files elsewhere.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { error, type Diagnostic, type SourceLocation } from "../diagnostics/diagnostic.js";

/** Where `target` really is: symbolic links of its existing part resolved (a dangling link by its text). */
async function realLocation(target: string): Promise<string> {
  let existing = target;
  for (;;) {
    const stat = await fs.lstat(existing).catch(() => undefined);
    if (stat) break;
    const parent = path.dirname(existing);
    if (parent === existing) return target;
    existing = parent;
  }
  const rest = path.relative(existing, target);
  const real = await fs.realpath(existing).catch(async () => {
    // A dangling link: where it points, resolved as far as it exists.
    const link = await fs.readlink(existing).catch(() => undefined);
    return link === undefined ? existing : realLocation(path.resolve(path.dirname(existing), link));
  });
  return path.join(real, rest);
}

function isInside(parent: string, child: string, allowEqual: boolean): boolean {
  const rel = path.relative(parent, child);
  if (rel === "") return allowEqual;
  return rel !== ".." && !rel.startsWith(".." + path.sep) && !path.isAbsolute(rel);
}

/**
 * Errors when the output folder (or a folder inside it that `files` are written into) resolves,
 * through a symbolic link, to a place outside the project folder `root`.
 */
export async function checkOutputFolder(root: string, output: string, files: readonly string[], location: SourceLocation): Promise<Diagnostic[]> {
  const realRoot = await realLocation(root);
  const outDir = path.resolve(root, output);
  const realOut = await realLocation(outDir);
  const hint = `Generate into a real folder inside the project: replace the link with a folder, or set \`output\` to a folder inside ${root}.`;
  if (!isInside(realRoot, realOut, false)) {
    return [error("write/output-outside-project", `\`output: ${output}\` leads through a symbolic link to ${realOut}, outside the project folder.`, location, hint)];
  }
  const diagnostics: Diagnostic[] = [];
  const folders = new Set(files.map((f) => path.posix.dirname(f)).filter((d) => d !== "."));
  const checked = new Set<string>();
  for (const folder of [...folders].sort()) {
    const parts = folder.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const sub = parts.slice(0, i).join("/");
      if (checked.has(sub)) continue;
      checked.add(sub);
      const real = await realLocation(path.join(outDir, sub));
      if (!isInside(realRoot, real, false)) {
        diagnostics.push(error("write/output-outside-project", `${path.posix.join(output, sub)} inside the output folder leads through a symbolic link to ${real}, outside the project folder.`, location, hint));
        break;
      }
    }
  }
  return diagnostics;
}
