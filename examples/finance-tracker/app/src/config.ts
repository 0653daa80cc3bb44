/**
 * Where the app finds its servers. Query parameters win (tests point the app at their own
 * servers), then Vite env variables (`VITE_API_URL`, `VITE_ELECTRIC_URL`, set by dev.mjs), then
 * the defaults of a local setup.
 *
 *   ?api=http://127.0.0.1:3000           REST API base URL
 *   ?electric=http://127.0.0.1:3000/v1/shape   shape endpoint: the backend's shape proxy (default: <api>/v1/shape)
 *   ?db=finance-tracker                  IndexedDB name of the local database; each user has their own, `<db>@<user id>`
 *   ?retryMax=5000                       longest wait between two retries of a queued write, ms
 *   ?bench                               exposes the database and collections as window.__financeTracker
 *   ?relaxed                             PGlite's relaxedDurability: off by default, it can lose data (docs/local-database.md)
 *   ?mainthread                          run PGlite on the main thread instead of in a Web Worker (the fallback)
 */
export interface AppConfig {
  apiUrl: string;
  electricUrl: string;
  dataDir: string;
  retryMaxMs: number;
  bench: boolean;
  relaxedDurability: boolean;
  /** PGlite on the main thread instead of in a Web Worker. */
  mainThread: boolean;
}

export function readConfig(search: string, env: Record<string, string | undefined>): AppConfig {
  const params = new URLSearchParams(search);
  const db = params.get("db") || "finance-tracker";
  const apiUrl = params.get("api") || env.VITE_API_URL || "http://127.0.0.1:3000";
  return {
    apiUrl,
    // The app never talks to Electric itself: the backend proxies shapes, scoped to the user's household.
    electricUrl: params.get("electric") || env.VITE_ELECTRIC_URL || `${apiUrl}/v1/shape`,
    dataDir: `idb://${db}`,
    retryMaxMs: Number(params.get("retryMax")) || 5_000,
    bench: params.has("bench"),
    relaxedDurability: params.has("relaxed"),
    mainThread: params.has("mainthread"),
  };
}
