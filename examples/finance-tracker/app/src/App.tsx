import { useEffect } from "react";
import { Accounts } from "./components/Accounts.js";
import { BenchHook } from "./components/BenchHook.js";
import { Contacts } from "./components/Contacts.js";
import { ErrorsPanel } from "./components/ErrorsPanel.js";
import { SyncBadge } from "./components/SyncBadge.js";
import { Toasts, ToastProvider } from "./components/Toasts.js";
import { Transactions } from "./components/Transactions.js";

export function App({ bench }: { bench: boolean }) {
  // The service worker that lets the app open offline (vite-plugin-pwa, production builds).
  // Registered once the local database is open: its precache downloads (PGlite's WebAssembly
  // among them) then do not race PGlite's own on the first visit.
  useEffect(() => {
    if (import.meta.env.PROD && "serviceWorker" in navigator) void navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`);
  }, []);
  return (
    <ToastProvider>
      <div className="app" data-testid="app">
        <header>
          <h1>Finance tracker</h1>
          <SyncBadge />
        </header>
        <main>
          <Contacts />
          <div className="side">
            <Accounts />
            <Transactions />
            <ErrorsPanel />
          </div>
        </main>
        <Toasts />
        {bench && <BenchHook />}
      </div>
    </ToastProvider>
  );
}
