// bench/ui/storage: the generated createDatabase (PGlite in its Web Worker) on each browser
// storage, driven by bench/ui/storage.mts through window.__storageBench.
import { createDatabase, type LocalDatabase } from "../../../examples/finance-tracker/app/src/generated/db/init.ts";

const worker = () => new Worker(new URL("../../../examples/finance-tracker/app/src/generated/db/worker.ts", import.meta.url), { type: "module" });

let db: LocalDatabase | undefined;
const time = async <T>(fn: () => Promise<T>): Promise<[number, T]> => {
  const t = performance.now();
  const value = await fn();
  return [performance.now() - t, value];
};

declare global {
  interface Window {
    __storageBench: {
      open(dataDir: string, prebuilt?: string): Promise<number>;
      query(sql: string, params?: unknown[]): Promise<[number, number]>;
      close(): Promise<number>;
    };
  }
}

window.__storageBench = {
  async open(dataDir, prebuilt) {
    const [ms, opened] = await time(() => createDatabase({ dataDir, worker, ...(prebuilt ? { prebuiltDataDir: prebuilt } : {}) }));
    db = opened;
    return ms;
  },
  async query(sql, params) {
    const [ms, r] = await time(() => db!.pg.query(sql, params));
    return [ms, r.rows.length];
  },
  async close() {
    const [ms] = await time(() => db!.close());
    db = undefined;
    return ms;
  },
};
