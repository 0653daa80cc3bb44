#!/usr/bin/env node
// Entry point. Runs the compiled CLI when it exists (installed from npm),
// otherwise the TypeScript sources through tsx (development checkout).
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const compiled = fileURLToPath(new URL("../dist/src/cli/bin.js", import.meta.url));
if (existsSync(compiled) && !process.env.SYNC_PATTERNS_FROM_SOURCE) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli/bin.ts", import.meta.url).href);
}
