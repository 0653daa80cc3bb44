/**
 * The one scheduler of the runtime (templates/runtime/scheduler.ts): the change writer's drain,
 * its status emitter and the change feed's reader run through it. SPEC.md section L, L10–L14.
 */
import { describe, expect, it } from "vitest";
import { Serial } from "../../templates/runtime/scheduler.js";

/** A promise and its resolver. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}
const tick = () => new Promise((r) => setImmediate(r));

describe("Serial", () => {
  it("L10: never two runs at once; calls during a run coalesce into one more run", async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    const first = gate();
    const s = new Serial(async () => {
      runs++;
      running++;
      most = Math.max(most, running);
      if (runs === 1) await first.promise;
      running--;
    });
    s.run();
    for (let i = 0; i < 10; i++) s.run();
    first.open();
    await s.idle();
    expect(most).toBe(1);
    expect(runs).toBe(2);
    s.run();
    await s.idle();
    expect(runs).toBe(3);
  });

  it("L11: runIn runs later; a later runIn replaces the one planned; run() does not cancel it", async () => {
    let runs = 0;
    const s = new Serial(async () => void runs++);
    s.runIn(5);
    s.runIn(20);
    s.run();
    await s.idle();
    expect(runs).toBe(1);
    await new Promise((r) => setTimeout(r, 60));
    await s.idle();
    expect(runs).toBe(2);
  });

  it("L15: idle() waiting for a run that restart() leaves behind resolves when the new run ends", async () => {
    const stuck = gate();
    let calls = 0;
    const s = new Serial(async () => {
      if (++calls === 1) await stuck.promise;
    });
    s.run();
    await tick();
    let idle = false;
    void s.idle().then(() => (idle = true));
    s.restart();
    for (let i = 0; i < 5; i++) await tick();
    expect(calls).toBe(2);
    expect(idle).toBe(true);
    stuck.open();
  });

  it("L15: a run() made as a run ends is not lost", async () => {
    let runs = 0;
    const s = new Serial(async () => void runs++);
    s.run();
    // Right after the task's last await: the run is ending; this call must cost one more run.
    await Promise.resolve();
    s.run();
    for (let i = 0; i < 5; i++) await tick();
    await s.idle();
    expect(runs).toBe(2);
  });

  it("L12: restart leaves a stuck run behind; the run left behind sees current() false", async () => {
    const stuck = gate();
    const seen: boolean[] = [];
    let calls = 0;
    const s = new Serial(async (current) => {
      calls++;
      if (calls === 1) {
        await stuck.promise;
        seen.push(current());
      }
    });
    s.run();
    await tick();
    s.restart();
    await s.idle();
    expect(calls).toBe(2);
    stuck.open();
    await tick();
    expect(seen).toEqual([false]);
    // The run left behind does not start another one when it ends.
    expect(calls).toBe(2);
  });

  it("L13: an error rerun() accepts runs the task again at once; others go to onError and the next run() tries again", async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const s = new Serial(
      async () => {
        calls++;
        if (calls === 1) throw new Error("Leader changed, pending operation in indeterminate state");
        if (calls === 2) throw new Error("disk full");
      },
      { rerun: (e) => /Leader changed/.test((e as Error).message), onError: (e) => errors.push((e as Error).message) },
    );
    s.run();
    await s.idle();
    expect(calls).toBe(2);
    expect(errors).toEqual(["disk full"]);
    s.run();
    await s.idle();
    expect(calls).toBe(3);
  });

  it("L14: after stop() no run starts (nor a planned one) until resume()", async () => {
    let runs = 0;
    const s = new Serial(async () => void runs++);
    s.runIn(5);
    s.stop();
    s.run();
    s.restart();
    await new Promise((r) => setTimeout(r, 30));
    expect(runs).toBe(0);
    s.resume();
    s.run();
    await s.idle();
    expect(runs).toBe(1);
  });
});
