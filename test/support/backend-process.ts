/**
 * The finance-tracker backend in its own process, with its fault hooks, so a test can kill it
 * (SIGKILL) in the middle of requests: open transactions die with their connections, answers are
 * lost. Exits by itself when the test process goes away.
 */
import { fileURLToPath } from "node:url";
import { createServer, type ServerOptions } from "../../examples/finance-tracker/server/server.js";
import type { FaultSettings } from "../../examples/finance-tracker/server/faults.js";
import { forkChild, serveParent } from "./child-ipc.js";

export interface BackendProcess {
  url: string;
  port: number;
  /** The fault hooks of examples/finance-tracker/server/faults.ts. */
  faults(settings: FaultSettings): Promise<void>;
  /** SIGKILL, then resolves when the process is gone. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function spawnBackend(options: { databaseUrl: string; port?: number }): Promise<BackendProcess> {
  const child = await forkChild(fileURLToPath(import.meta.url), { BACKEND_OPTIONS: JSON.stringify(options) });
  const { url } = child.ready as { url: string };
  return {
    url,
    port: Number(new URL(url).port),
    faults: async (settings) => void (await child.call("faults", { settings })),
    kill: child.kill,
    stop: child.stop,
  };
}

if (process.env.BACKEND_OPTIONS && process.argv[1] === fileURLToPath(import.meta.url)) {
  const o = JSON.parse(process.env.BACKEND_OPTIONS) as { databaseUrl: string; port?: number };
  const started = createServer({ databaseUrl: o.databaseUrl, defaultUser: "ada@example.com", port: o.port ?? 0, host: "127.0.0.1", faults: true, log: () => {} } satisfies ServerOptions);
  serveParent({
    ready: async () => ({ url: (await started).url }),
    faults: async (m) => (await started).faults!.set(m.settings as FaultSettings),
    stop: async () => {
      await (await started).close();
      setImmediate(() => process.exit(0));
    },
  });
}
