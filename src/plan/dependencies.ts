/**
 * The npm packages the generated client imports, with ranges that resolve to one consistent
 * set (checked by the packaging test, which installs exactly these).
 */
import type { SpecModel } from "../model/types.js";

export function clientDependencies(model: SpecModel): Record<string, string> {
  const deps: Record<string, string> = {
    "@tanstack/react-query": "^5.108.0",
    react: "^19.0.0",
    // React's types: the client (and the TanStack packages' declarations) import "react", which
    // ships no types of its own; strict tsc fails without them (TS7016).
    "@types/react": "^19.0.0",
  };
  if (model.entities.length > 0) {
    // The collections import @tanstack/db (framework-free, for core.ts); the hooks import
    // @tanstack/react-db, which pins @tanstack/db exactly: both exact, so that one copy is installed
    // (two copies break useLiveQuery).
    deps["@electric-sql/pglite"] = "^0.5.16";
    deps["@electric-sql/client"] = "^1.5.28";
    deps["@tanstack/db"] = "0.15.1";
    deps["@tanstack/react-db"] = "0.5.11";
    deps.uuid = "^14.0.3";
  }
  return deps;
}
