/**
 * The npm packages the generated client imports, with ranges that resolve to one consistent
 * set (checked by the packaging test, which installs exactly these).
 */
export function clientDependencies(): Record<string, string> {
  return {
    "@tanstack/react-query": "^5.108.0",
    react: "^19.0.0",
  };
}
