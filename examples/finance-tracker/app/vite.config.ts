import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import { VitePWA } from "vite-plugin-pwa";
import { prebuiltDataDir } from "./prebuilt-data-dir.js";

// The app is plain React + the generated client. PGlite ships its own WebAssembly and data
// files and finds them with `new URL(…, import.meta.url)`: Vite must not pre-bundle it, or those
// URLs would point into .vite/deps where the files are not.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  optimizeDeps: { exclude: ["@electric-sql/pglite"] },
  // PGlite uses top-level await and BigInt; every browser that runs WebAssembly PGlite has both.
  build: {
    target: "es2022",
    // PGlite's runtime is about 1.2 MB of JavaScript next to its WebAssembly; that is expected.
    chunkSizeWarningLimit: 2_000,
    rollupOptions: {
      onwarn(warning, warn) {
        // "use client" directives of the TanStack packages and Emscripten's eval in PGlite: harmless here.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE" || warning.code === "EVAL") return;
        warn(warning);
      },
    },
  },
  worker: { format: "es" },
  // The app opens with no network after the first visit: a Workbox service worker (vite-plugin-pwa)
  // precaches the app shell, PGlite's WebAssembly and data files and the database worker, and
  // answers every navigation with index.html. The data itself lives in IndexedDB (PGlite).
  plugins: [
    // pglite-data.tar.gz: a new local database starts from it instead of running initdb.
    prebuiltDataDir(),
    VitePWA({
      registerType: "autoUpdate",
      // Registered by the app once its local database is open (src/components/ServiceWorker.tsx), not
      // at page load: the worker's precache and the page both fetching PGlite's WebAssembly on a first
      // visit made Chromium fail the page's fetch (net::ERR_CACHE_WRITE_FAILURE), and the app never opened.
      injectRegister: false,
      manifest: false,
      workbox: {
        globPatterns: ["**/*.{html,js,css,wasm,data,tar.gz,svg,png}"],
        // PGlite's WebAssembly (~9 MB) and its data file (~5 MB) must be cached too.
        maximumFileSizeToCacheInBytes: 32 * 1024 * 1024,
        navigateFallback: "index.html",
        cleanupOutdatedCaches: true,
        // The first visit is controlled at once, so it already works offline.
        clientsClaim: true,
        skipWaiting: true,
      },
    }),
  ],
  server: { host: "127.0.0.1" },
  preview: { host: "127.0.0.1" },
});
