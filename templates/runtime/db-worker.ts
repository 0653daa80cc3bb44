// The local database in a Web Worker (browser). Plain TypeScript, copied as is into the generated
// output (db/worker.ts); eject it to change it. The page opens it with
//
//   createDatabase({ dataDir: "idb://my-app", worker: () => new Worker(new URL("./generated/db/worker.ts", import.meta.url), { type: "module" }) })
//
// (the `new Worker(new URL(…))` line belongs in the app, where its bundler sees it). PGlite's own
// `@electric-sql/pglite/worker` carries queries, transactions, LISTEN/NOTIFY and COPY blobs between
// the page (`PGliteWorker`) and this file; PGlite and its copies to IndexedDB run here, off the
// main thread.
import { PGlite } from "@electric-sql/pglite";
import { worker } from "@electric-sql/pglite/worker";

void worker({
  async init(options) {
    const pg = await PGlite.create(options);
    // PGliteWorker (0.5.16) forwards each protocol message of a query without its options, so
    // PGlite here would copy the database to IndexedDB after every message (parse, describe,
    // bind, execute, sync: six copies per query). The page's PGliteWorker asks for the copy
    // itself once the query is done (`syncToFs`, exactly where a main-thread PGlite copies), so
    // the messages need none: one copy per query, and a query resolves once IndexedDB has it.
    const stream = pg.execProtocolStream.bind(pg);
    pg.execProtocolStream = (message, options = {}) => stream(message, { ...options, syncToFs: false });
    return pg;
  },
});

// PGlite's worker (0.5.16) answers each tab on that tab's BroadcastChannel, which it closes as
// soon as the tab lets go of the database (a Web Lock). An answer, or the "connected" greeting, to
// a tab that let go meanwhile (tabs closing one database at once: a sign-out in every tab) then
// throws "Channel is closed" where nothing can catch it. Nobody is left to read that message:
// drop the error, and only that one.
(globalThis as { addEventListener?: (type: string, listener: (event: { reason?: unknown; preventDefault(): void }) => void) => void }).addEventListener?.(
  "unhandledrejection",
  (event) => {
    const reason = event.reason as { name?: unknown; message?: unknown } | undefined;
    if (reason?.name === "InvalidStateError" && /BroadcastChannel/.test(String(reason.message))) event.preventDefault();
  },
);
