import type { CollectionsOptions } from "./generated/index.js";

/**
 * Where the app finds its servers. Query parameters win (tests point the app at their own
 * servers), then Vite env variables (`VITE_API_URL`, `VITE_ELECTRIC_URL`, set by dev.mjs), then
 * the defaults of a local setup.
 *
 *   ?api=http://127.0.0.1:3000           REST API base URL
 *   ?electric=http://127.0.0.1:3000/v1/shape   shape endpoint: the backend's shape proxy (default: <api>/v1/shape)
 *   ?db=finance-tracker                  name of the local database; each user has their own, `<db>@<user id>`
 *   ?storage=idb                         keep it in IndexedDB; by default OPFS (opfs-ahp://), which falls back to IndexedDB where missing
 *   ?initdb                              a new database runs PGlite's initdb instead of starting from the prebuilt data directory
 *   ?retryMax=5000                       longest wait between two retries of a queued write, ms
 *   ?relaxed                             PGlite's relaxedDurability: off by default, it can lose data (docs/local-database.md)
 *   ?mainthread                          run PGlite on the main thread instead of in a Web Worker (the fallback)
 *   ?load=eager                          collections read whole tables; by default contacts and transactions load on demand (each list reads its window)
 */
export interface AppConfig {
  apiUrl: string;
  electricUrl: string;
  /** `opfs-ahp://<db>` (falls back to `idb://<db>` where OPFS access handles are missing), or `idb://<db>` with `?storage=idb`. */
  dataDir: string;
  /** The new database's data directory, built with the app (vite.config.ts): no initdb on a first visit. `?initdb` goes without it. */
  prebuiltDataDir: string | undefined;
  retryMaxMs: number;
  relaxedDurability: boolean;
  /** PGlite on the main thread instead of in a Web Worker. */
  mainThread: boolean;
  /** How the collections load: the large tables on demand (their lists read a window), or every table whole (`?load=eager`). */
  collectionOptions: CollectionsOptions;
}

export function readConfig(search: string, env: Record<string, string | undefined>): AppConfig {
  const params = new URLSearchParams(search);
  const db = params.get("db") || "finance-tracker";
  const apiUrl = params.get("api") || env.VITE_API_URL || "http://127.0.0.1:3000";
  return {
    apiUrl,
    // The app never talks to Electric itself: the backend proxies shapes, scoped to the user's household.
    electricUrl: params.get("electric") || env.VITE_ELECTRIC_URL || `${apiUrl}/v1/shape`,
    dataDir: params.get("storage") === "idb" ? `idb://${db}` : `opfs-ahp://${db}`,
    prebuiltDataDir: params.has("initdb") ? undefined : `${env.BASE_URL ?? "/"}pglite-data.tar.gz`,
    retryMaxMs: Number(params.get("retryMax")) || 5_000,
    relaxedDurability: params.has("relaxed"),
    mainThread: params.has("mainthread"),
    collectionOptions: { syncMode: params.get("load") === "eager" ? "eager" : { contacts: "on-demand", transactions: "on-demand" } },
  };
}
