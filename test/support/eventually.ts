/**
 * Runs `check` until it stops throwing (every 50 ms), and returns what it returned; after
 * `timeoutMs` the last error is thrown. For what arrives through sync in its own time: no timing
 * is asserted, the timeout only bounds a failing test.
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 30_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() - start > timeoutMs) throw e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
