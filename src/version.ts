/** The package version, read from package.json (works from src/ and from dist/src/). */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

function findPackageJson(): { version: string; root: string } {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "sync-patterns") return { version: pkg.version ?? "0.0.0", root: dir };
    }
    dir = path.dirname(dir);
  }
  return { version: "0.0.0", root: dir };
}

const pkg = findPackageJson();
export const VERSION = pkg.version;
export const PACKAGE_ROOT = pkg.root;
