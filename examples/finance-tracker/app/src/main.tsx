import { useMemo } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { configureClient, SyncProvider } from "./generated/index.js";
import { App } from "./App.js";
import { SignIn } from "./components/SignIn.js";
import { readConfig } from "./config.js";
import { useSession, writeSession } from "./session.js";
import "./styles.css";

const config = readConfig(window.location.search, import.meta.env);

// PGlite runs in a Web Worker (generated db/worker.ts), on OPFS (idb:// where OPFS access handles
// are missing), and never blocks a paint; `?mainthread` keeps it on the page (on idb://). The `new Worker(new URL(…))` line stays here, where
// Vite sees it and bundles the worker.
const worker = config.mainThread ? undefined : () => new Worker(new URL("./generated/db/worker.ts", import.meta.url), { type: "module" });

/**
 * Signed out: the sign-in form. Signed in: the user's own local database (SyncProvider `user`:
 * one per user, so nobody sees another's rows on a shared device), synced through the backend's
 * shape proxy with the user's token. A sign-in or sign-out in another tab reaches this one too.
 */
function Root() {
  const session = useSession();
  // The credentials of THIS session, for API calls and for the sync engine opened for this user:
  // a tab that has not switched yet never sends one user's queued writes with another's token.
  const token = session?.token;
  const headers = useMemo(() => () => (token ? { authorization: `Bearer ${token}` } : ({} as Record<string, string>)), [token]);
  // A 401 (token expired, or the server forgot it): sign out; queued writes stay for next time.
  configureClient({ baseUrl: config.apiUrl, headers, onUnauthorized: () => writeSession(null) });
  // Query caches (reports, categories) are per user too.
  const queryClient = useMemo(
    () =>
      new QueryClient({
        // Mutations of synced entities are local writes (or wait for the sync engine): never retry them here.
        defaultOptions: { mutations: { retry: false } },
      }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [session?.user.id],
  );
  return (
    <QueryClientProvider client={queryClient}>
      <SyncProvider
        dataDir={config.dataDir}
        {...(config.prebuiltDataDir ? { prebuiltDataDir: config.prebuiltDataDir } : {})}
        user={session?.user.id ?? null}
        headers={headers}
        onUnauthorized={() => writeSession(null)}
        relaxedDurability={config.relaxedDurability}
        {...(worker ? { worker } : {})}
        collectionOptions={config.collectionOptions}
        apiUrl={config.apiUrl}
        electricUrl={config.electricUrl}
        backoff={{ initialMs: 250, maxMs: config.retryMaxMs }}
        onError={(error) => console.warn("[sync]", error)}
        fallback={session ? <p className="loading" data-testid="loading">Opening the local database…</p> : <SignIn apiUrl={config.apiUrl} />}
      >
        {session && <App session={session} />}
      </SyncProvider>
    </QueryClientProvider>
  );
}

createRoot(document.getElementById("root")!).render(<Root />);
