/**
 * The shape-server test double in its own process, so a test can kill it (SIGKILL: no goodbye,
 * its temporary replication slot goes with its replication connection; its publication stays) and start a new one on the same port
 * that knows none of the old handles, as a restarted Electric with lost storage would.
 */
import { fileURLToPath } from "node:url";
import { forkChild, serveParent } from "./child-ipc.js";
import { startShapeServer, type ShapeServerOptions } from "../../packages/shape-server/src/index.js";

export interface ShapeServerProcess {
  url: string;
  shapeUrl: string;
  port: number;
  /** Forces a must-refetch of the table's shapes (the `rotate` test hook). */
  rotate(table: string): Promise<string[]>;
  /** SIGKILL, then resolves when the process is gone. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function spawnShapeServer(options: ShapeServerOptions): Promise<ShapeServerProcess> {
  const child = await forkChild(fileURLToPath(import.meta.url), { SHAPE_SERVER_OPTIONS: JSON.stringify(options) });
  const { port } = child.ready as { port: number };
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    shapeUrl: `${url}/v1/shape`,
    port,
    rotate: (table) => child.call("rotate", { table }),
    kill: child.kill,
    stop: child.stop,
  };
}

if (process.env.SHAPE_SERVER_OPTIONS && process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = startShapeServer(JSON.parse(process.env.SHAPE_SERVER_OPTIONS) as ShapeServerOptions);
  serveParent({
    ready: async () => ({ port: (await started).port }),
    rotate: async (m) => (await started).rotate(m.table as string),
    stop: async () => {
      await (await started).stop();
      setImmediate(() => process.exit(0));
    },
  });
}
