import type { Plugin } from "vite";

/**
 * Vite plugin: builds the local database's data directory with the generated schema
 * (`buildDataDir()` of the generated client, in Node) and serves it as `pglite-data.tar.gz`, so a
 * first visit starts from it instead of running PGlite's initdb (docs/local-database.md, "A
 * prebuilt data directory"). Built once per `vite build` and once per dev server start; the
 * service worker precaches it with the app.
 */
export function prebuiltDataDir(fileName = "pglite-data.tar.gz"): Plugin {
  let tarball: Promise<Uint8Array> | undefined;
  const build = () =>
    (tarball ??= (async () => {
      // Loaded here, not at the top: the config is read before the generated client may exist.
      const { buildDataDir } = await import("./src/generated/db/init.js");
      return new Uint8Array(await (await buildDataDir()).arrayBuffer());
    })());
  return {
    name: "sync-patterns-prebuilt-data-dir",
    async generateBundle() {
      this.emitFile({ type: "asset", fileName, source: await build() });
    },
    configureServer(server) {
      server.middlewares.use(`/${fileName}`, (_req, res, next) => {
        build().then((bytes) => res.setHeader("content-type", "application/gzip").end(bytes), next);
      });
    },
  };
}
