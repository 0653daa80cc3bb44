/**
 * Starts the FastAPI example (examples/fastapi) with uvicorn on a free 127.0.0.1 port, against a
 * given database and shape URL. Needs Debian's python3-fastapi, -uvicorn, -psycopg2 and -httpx
 * (.ci/run installs them); `fastApiAvailable` says whether they are there. uvicorn exits when its
 * stdin closes, so it stops with the test process even if the test dies.
 */
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { freePort } from "./postgres/index.js";
import { REPO } from "./project.js";

const PYTHON = "/usr/bin/python3";
export const FASTAPI_EXAMPLE = path.join(REPO, "examples/fastapi");
export const fastApiAvailable = spawnSync(PYTHON, ["-c", "import fastapi, uvicorn, psycopg2, httpx"]).status === 0;

export interface FastApi {
  /** `http://127.0.0.1:PORT`; the shape proxy is at `${url}/v1/shape`. */
  url: string;
  /** What uvicorn printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export async function startFastApi(opts: { databaseUrl: string; shapeUrl: string; shapesJson: string; timeoutMs?: number }): Promise<FastApi> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const run = `import os, sys, threading, uvicorn
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
uvicorn.run("app:app", host="127.0.0.1", port=${port}, log_level="warning")`;
  const child = spawn(PYTHON, ["-c", run], {
    cwd: FASTAPI_EXAMPLE,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", DATABASE_URL: opts.databaseUrl, ELECTRIC_URL: opts.shapeUrl, SHAPES_JSON: opts.shapesJson },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  let exited = false;
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const gone = new Promise<void>((resolve) => child.once("exit", () => ((exited = true), resolve())));
  const stop = async () => {
    if (exited) return;
    child.stdin!.end();
    child.kill("SIGTERM");
    await gone;
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`uvicorn exited before it answered: ${output}`);
    try {
      if ((await fetch(`${url}/health`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`uvicorn did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, output: () => output, stop };
}
