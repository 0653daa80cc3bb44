// The local database in a Web Worker (browser). Plain TypeScript, copied as is into the generated
// output (db/worker.ts); eject it to change it. The page opens it with
//
//   createDatabase({ dataDir: "opfs-ahp://my-app", worker: () => new Worker(new URL("./generated/db/worker.ts", import.meta.url), { type: "module" }) })
//
// (the `new Worker(new URL(…))` line belongs in the app, where its bundler sees it). PGlite's own
// `@electric-sql/pglite/worker` carries queries, transactions, LISTEN/NOTIFY and COPY blobs between
// the page (`PGliteWorker`) and this file; PGlite and its storage run here, off the main thread.
// One worker per profile serves every tab (PGlite's leader election); the storage is chosen here
// (`opfs-ahp` needs a worker's sync access handles; `idb` where they are missing, see
// `chooseStorage`), and a new database starts from the prebuilt data directory when one is given.
import { PGlite, type PGliteOptions } from "@electric-sql/pglite";
import type { OpfsAhpFS } from "@electric-sql/pglite/opfs-ahp";
import { worker } from "@electric-sql/pglite/worker";
import { chooseStorage, isHandleBusy, openStorage, STORAGE_SETTING } from "./local-db.js";

/** What the page sends along (`PGliteWorker`'s `meta`). */
interface WorkerMeta {
  /** URL or Blob of a data directory tarball (`buildDataDir()`), used only for a new database. */
  prebuiltDataDir?: string | Blob;
}

// PGlite's worker (0.5.16) gives a tab the query or transaction lock (`_acquireQueryLock`,
// `_acquireTransactionLock`) when its turn comes, and releases it when the tab asks or closes. A tab
// that closed (a reload) while it WAITED for the lock is given it later anyway: the answer goes to
// its closed channel, nobody releases the lock, and every other tab's queries wait forever (seen
// as a reloaded tab that never shows its data). So: the method of each call is noted when it
// arrives; an answer to a closed tab's lock request releases that lock at once.
type Release = () => void;
const held: { query?: Release; transaction?: Release } = {};
const methods = new Map<string, string>();
const closed = new WeakSet<BroadcastChannel>();
const channelProto = BroadcastChannel.prototype;
const close = channelProto.close;
channelProto.close = function (this: BroadcastChannel) {
  closed.add(this);
  close.call(this);
};
const addListener = channelProto.addEventListener;
channelProto.addEventListener = function (this: BroadcastChannel, type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions) {
  if (type === "message" && this.name.startsWith("pglite-tab:")) {
    addListener.call(this, "message", (event: Event) => {
      const data = (event as MessageEvent).data as { type?: string; callId?: string; method?: string } | undefined;
      if (data?.type === "rpc-call" && data.callId && data.method) methods.set(data.callId, data.method);
    });
  }
  if (listener) addListener.call(this, type, listener, options);
} as typeof channelProto.addEventListener;
const post = channelProto.postMessage;
channelProto.postMessage = function (this: BroadcastChannel, message: unknown) {
  const data = message as { type?: string; callId?: string } | undefined;
  const method = data?.callId ? methods.get(data.callId) : undefined;
  if (data?.callId) methods.delete(data.callId);
  if (closed.has(this)) {
    // The tab is gone: nobody reads this answer. A lock it was just given is released.
    if (data?.type === "rpc-return" && method === "_acquireQueryLock") held.query?.();
    if (data?.type === "rpc-return" && method === "_acquireTransactionLock") held.transaction?.();
    return;
  }
  post.call(this, message);
};

/** Wraps PGlite's exclusive sections so that the current holder can be released from outside. */
function releasable(pg: PGlite, name: "_runExclusiveQuery" | "_runExclusiveTransaction", slot: "query" | "transaction"): void {
  const run = pg[name].bind(pg) as <T>(fn: () => Promise<T>) => Promise<T>;
  (pg as unknown as Record<string, unknown>)[name] = <T>(fn: () => Promise<T>): Promise<T> =>
    run(() => {
      let force!: Release;
      const forced = new Promise<T>((resolve) => (force = () => resolve(undefined as T)));
      held[slot] = force;
      return Promise.race([fn(), forced]).finally(() => {
        if (held[slot] === force) delete held[slot];
      });
    });
}

/** The file tree of PGlite's opfs-ahp filesystem (its public `state`). */
type OpfsNode = { type: "file" } | { type: "directory"; children: Record<string, OpfsNode> };

/** The error `openStorage` waits out (it tries again while another worker holds the handles). */
const handlesBusy = (detail: string) => new DOMException(`The OPFS access handles of this database are held by another worker (${detail})`, "NoModificationAllowedError");

/** That error when a file of `fs` has no access handle (`lstat` reads a file's size through its handle). */
function busyFiles(fs: OpfsAhpFS): DOMException | undefined {
  const missing: string[] = [];
  const walk = (node: OpfsNode, path: string): void => {
    if (node.type === "directory") for (const [name, child] of Object.entries(node.children)) walk(child, `${path}/${name}`);
    else
      try {
        fs.lstat(path);
      } catch {
        missing.push(path);
      }
  };
  const root = (fs as unknown as { state?: { root: OpfsNode } }).state?.root;
  if (root) walk(root, "");
  return missing.length > 0 ? handlesBusy(`${missing.length} files, e.g. ${missing[0]}`) : undefined;
}

/**
 * PGlite on `opfs-ahp://<dir>`, all of its files open. A closed tab's worker (the previous leader)
 * lets go of its access handles one by one, and not always before the Web Lock that elects the
 * next leader. PGlite's OpfsAhpFS (0.5.16) then opens what it can: a database file it could not
 * open is only logged, and every query that reads it later fails ("Cannot read properties of
 * undefined (reading 'sh')", seen in a tab that took over from a closed one); a pool file it could
 * not open rejects where nothing catches it, and the open never ends. Both are caught here, the
 * handles this attempt got are closed, and `openStorage` tries again.
 */
async function openOpfsAhp(dir: string, options: PGliteOptions, initialPoolSize?: number): Promise<PGlite> {
  const { OpfsAhpFS } = await import("@electric-sql/pglite/opfs-ahp");
  const fs = new OpfsAhpFS(dir, initialPoolSize ? { initialPoolSize } : {});
  let onRejection!: (event: PromiseRejectionEvent) => void;
  const poolFileBusy = new Promise<never>((_, reject) => {
    onRejection = (event) => {
      if ((event.reason as { name?: unknown } | undefined)?.name !== "NoModificationAllowedError") return;
      event.preventDefault();
      reject(handlesBusy("a pool file"));
    };
  });
  poolFileBusy.catch(() => undefined);
  self.addEventListener("unhandledrejection", onRejection);
  let pg: PGlite | undefined;
  try {
    pg = await Promise.race([PGlite.create({ ...options, fs }), poolFileBusy]);
    const busy = busyFiles(fs);
    if (!busy) return pg;
    throw busy;
  } catch (error) {
    // A query that read a file without its handle fails in PGlite.create: the same cause.
    const busy = isHandleBusy(error) ? error : (busyFiles(fs) ?? error);
    await pg?.close().catch(() => undefined);
    // Closes what this attempt opened; pool files still opening are closed by a second pass.
    const release = () => fs.closeFs().catch(() => undefined);
    await release();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await release();
    throw busy;
  } finally {
    self.removeEventListener("unhandledrejection", onRejection);
  }
}

void worker({
  async init(options) {
    const { meta, ...rest } = options as PGliteOptions & { meta?: WorkerMeta };
    const source = meta?.prebuiltDataDir;
    const prebuilt = source === undefined ? undefined : async () => (typeof source === "string" ? await (await fetch(source)).blob() : source);
    const { pg, choice } = await openStorage(async (o: PGliteOptions) => {
      if (o.dataDir?.startsWith("opfs-ahp://")) {
        const { dataDir, ...withoutDir } = o;
        // The opfs-ahp filesystem keeps one OPFS file (and access handle) per database file, from
        // a pool of 1000 made up front and refilled only after a query; a data directory with the
        // schema in it has more files than that, and loading it would run out. A larger first pool.
        return openOpfsAhp(dataDir.slice("opfs-ahp://".length), withoutDir, o.loadDataDir ? 1300 : undefined);
      }
      if (o.relaxedDurability && o.dataDir?.startsWith("idb://") && (await chooseStorage(o.dataDir)).fresh) {
        // A new idb:// database is created durably first (see createDatabase's relaxedDurability).
        await (await PGlite.create({ ...o, relaxedDurability: false })).close();
        const { loadDataDir: _loaded, ...reopen } = o;
        return PGlite.create(reopen);
      }
      return PGlite.create(o);
    }, rest, prebuilt);
    releasable(pg, "_runExclusiveQuery", "query");
    releasable(pg, "_runExclusiveTransaction", "transaction");
    // PGliteWorker (0.5.16) forwards each protocol message of a query without its options, so
    // PGlite here would copy the database to its storage after every message (parse, describe,
    // bind, execute, sync: six copies per query on idb://). The page's PGliteWorker asks for the
    // copy itself once the query is done (`syncToFs`, exactly where a main-thread PGlite copies),
    // so the messages need none: one copy per query, and a query resolves once it is stored.
    const stream = pg.execProtocolStream.bind(pg);
    pg.execProtocolStream = (message, options = {}) => stream(message, { ...options, syncToFs: false });
    // The page reads which storage this worker chose (createDatabase's `storage`).
    await pg.query(`SELECT set_config($1, $2, false)`, [STORAGE_SETTING, choice.storage]);
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
