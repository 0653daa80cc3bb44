/// <reference types="vite-plugin-pwa/vanillajs" />
import { useEffect } from "react";
import { registerSW } from "virtual:pwa-register";

/**
 * Registers the app's service worker (vite-plugin-pwa / Workbox: the app shell and PGlite's files,
 * precached, so the app opens offline after this first visit). Rendered once the local database is
 * open, so the precache never races the page for PGlite's WebAssembly: two fetches of one URL at once
 * can make Chromium fail the page's (net::ERR_CACHE_WRITE_FAILURE), and then PGlite cannot start.
 */
export function ServiceWorker() {
  useEffect(() => {
    registerSW({ immediate: true });
  }, []);
  return null;
}
