import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { configureClient, SyncProvider } from "./generated/index.js";
import { App } from "./App.js";
import { readConfig } from "./config.js";
import "./styles.css";

const config = readConfig(window.location.search, import.meta.env);

// The generated API functions (reports, categories) use this base URL; the sync engine gets its
// own below.
configureClient({ baseUrl: config.apiUrl });

// PGlite runs in a Web Worker (generated db/worker.ts), on OPFS (idb:// where OPFS access handles
// are missing), and never blocks a paint; `?mainthread` keeps it on the page (on idb://). The `new Worker(new URL(…))` line stays here, where
// Vite sees it and bundles the worker.
const worker = config.mainThread ? undefined : () => new Worker(new URL("./generated/db/worker.ts", import.meta.url), { type: "module" });

const queryClient = new QueryClient({
  // Mutations of synced entities are local writes (or wait for the sync engine): never retry them here.
  defaultOptions: { mutations: { retry: false } },
});

createRoot(document.getElementById("root")!).render(
  <QueryClientProvider client={queryClient}>
    <SyncProvider
      dataDir={config.dataDir}
      {...(config.prebuiltDataDir ? { prebuiltDataDir: config.prebuiltDataDir } : {})}
      relaxedDurability={config.relaxedDurability}
      {...(worker ? { worker } : {})}
      apiUrl={config.apiUrl}
      electricUrl={config.electricUrl}
      backoff={{ initialMs: 250, maxMs: config.retryMaxMs }}
      onError={(error) => console.warn("[sync]", error)}
      fallback={<p className="loading" data-testid="loading">Opening the local database…</p>}
    >
      <App />
    </SyncProvider>
  </QueryClientProvider>,
);
