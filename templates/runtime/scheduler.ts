// The one scheduler of the runtime: the change writer's drain, its status emitter and the change
// feed's reader all run through it. Plain TypeScript, copied as is into the generated output
// (db/scheduler.ts); eject it to change it. Invariants: templates/runtime/SPEC.md, section L
// (L10–L15).
//
//  - `run()` runs the task now, or once more right after the run in progress: never two at once,
//    and a burst of calls during a run costs one more run, not one per call (L10).
//  - `runIn(ms)` runs it after a delay; a later `runIn` replaces the pending one, `run()` does not
//    cancel it (L11).
//  - `restart()` leaves a run in progress behind (it may wait for ever for a query lost in a
//    change of PGlite's leader) and starts a new one; the run left behind sees `current()` turn
//    false and must change nothing more (L12).
//  - A run that failed with an error `rerun(error)` accepts (a query cut off by a change of
//    leader) runs again at once; other errors go to `onError` and the next `run()` tries again
//    (L13).
//  - `idle()` resolves when no run is in progress; a run left behind by `restart()` is not waited
//    for (L15: the change feed's `flush()`, which a collection's write handler awaits, would
//    otherwise wait for ever for a query lost in a change of leader).
//  - `stop()` cancels the timer and no run starts after it (until `resume()`) (L14).

export interface SchedulerOptions {
  /** Errors after which the task runs again at once (e.g. PGliteWorker's "Leader changed"). */
  rerun?: (error: unknown) => boolean;
  /** Any other error of a run (the next `run()` tries again). */
  onError?: (error: unknown) => void;
}

export class Serial {
  private readonly task: (current: () => boolean) => Promise<void>;
  private readonly rerun: (error: unknown) => boolean;
  private readonly onError: (error: unknown) => void;
  private running: Promise<void> | undefined;
  private again = false;
  /** Which run is the current one (`restart` leaves the one before behind). */
  private generation = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  /** Woken by `restart()`: an `idle()` waiting for the run left behind waits for the new one instead (L15). */
  private readonly idlers = new Set<() => void>();

  /** `task` gets `current()`: false once the run was left behind by `restart` (it must then change nothing). */
  constructor(task: (current: () => boolean) => Promise<void>, options: SchedulerOptions = {}) {
    this.task = task;
    this.rerun = options.rerun ?? (() => false);
    this.onError = options.onError ?? (() => {});
  }

  run(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const mine = ++this.generation;
    const current = (): boolean => mine === this.generation;
    this.running = (async () => {
      for (;;) {
        this.again = false;
        try {
          await this.task(current);
        } catch (error) {
          if (this.rerun(error)) this.again = true;
          else if (current()) this.onError(error);
        }
        // The last check and the end of the run in one step: a run() in between is not lost (L10).
        if (!(this.again && current() && !this.stopped)) break;
      }
      if (current()) this.running = undefined;
    })();
  }

  /** Runs the task in `ms` (replacing a run planned before); `run()` meanwhile does not cancel it. */
  runIn(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, Math.max(0, ms));
  }

  /**
   * Starts a new run now, leaving a run in progress behind: a query sent while PGlite's worker
   * changed leader can be lost without an answer or an error (PGliteWorker 0.5.16), and a run
   * waiting for it would wait for ever.
   */
  restart(): void {
    if (this.stopped) return;
    this.generation++;
    this.running = undefined;
    this.again = false;
    for (const wake of this.idlers) wake();
    this.idlers.clear();
    this.run();
  }

  /** No run starts after this (a run in progress ends on its own; `idle()` waits for it). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Allows runs again after `stop()`. */
  resume(): void {
    this.stopped = false;
  }

  /** Resolves when no run is in progress (not waiting for a run `restart` left behind: L15). */
  async idle(): Promise<void> {
    while (this.running) {
      const running = this.running;
      await new Promise<void>((resolve) => {
        this.idlers.add(resolve);
        void running.finally(() => {
          this.idlers.delete(resolve);
          resolve();
        });
      });
    }
  }
}
