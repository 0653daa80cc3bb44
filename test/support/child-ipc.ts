/**
 * Test helpers that run in their own process (a client with a skewed clock, a shape server that
 * gets killed) and are driven over Node's IPC channel: request/reply by id, JSON values. The
 * child exits when its parent goes away.
 */
import { fork } from "node:child_process";

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

export interface ChildProcessHandle {
  /** What the child answered to `ready`. */
  readonly ready: unknown;
  /** Sends `{ cmd, ...args }` and resolves with the child's answer. */
  call<T = unknown>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  /** Resolves when the process exited. */
  readonly exited: Promise<void>;
  /** SIGKILL (no goodbye); resolves when the process is gone. */
  kill(): Promise<void>;
  /** Asks the child to `stop`; resolves when the process is gone. */
  stop(): Promise<void>;
}

/** Forks `file` (TypeScript, through tsx) with `env`; resolves once it answered `ready`. */
export async function forkChild(file: string, env: Record<string, string>): Promise<ChildProcessHandle> {
  const child = fork(file, [], { execArgv: ["--import", "tsx"], env: { ...process.env, ...env }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const replies = new Map<number, (r: Reply) => void>();
  let nextId = 0;
  let gone = false;
  child.on("message", (m) => {
    const r = m as Reply;
    replies.get(r.id)?.(r);
    replies.delete(r.id);
  });
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      gone = true;
      for (const settle of replies.values()) settle({ id: -1, ok: false, error: "the process exited" });
      replies.clear();
      resolve();
    }),
  );
  const call = <T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (gone) return reject(new Error(`the process has exited (${cmd})`));
      const id = nextId++;
      replies.set(id, (r) => (r.ok ? resolve(r.value as T) : reject(new Error(r.error))));
      child.send({ ...args, cmd, id });
    });
  const ready = await Promise.race([call("ready"), exited.then(() => Promise.reject(new Error(`${file} exited before it was ready`)))]);
  return {
    ready,
    call,
    exited,
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
    },
    stop: async () => {
      await call("stop").catch(() => undefined);
      await exited;
    },
  };
}

/** In the child: answers the parent's calls with `handlers[cmd](message)`. */
export function serveParent(handlers: Record<string, (message: Record<string, unknown>) => unknown>): void {
  process.on("disconnect", () => process.exit(0));
  process.on("message", (raw) => {
    const m = raw as { id: number; cmd: string } & Record<string, unknown>;
    const answer = (reply: Omit<Reply, "id">): void => void process.send?.({ ...reply, id: m.id });
    Promise.resolve()
      .then(() => {
        const handler = handlers[m.cmd];
        if (!handler) throw new Error(`unknown command ${m.cmd}`);
        return handler(m);
      })
      .then(
        (value) => answer({ ok: true, value: value === undefined ? null : JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v))) }),
        (error: unknown) => answer({ ok: false, error: String((error as Error)?.message ?? error) }),
      );
  });
}
