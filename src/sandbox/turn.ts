/**
 * Requests that arrive in one turn of the event loop run in the interpreter together, and their
 * responses go out together after them. A loaded worker reads ~14 requests per epoll wakeup; run
 * one at a time, each dispatch's wasm starts with caches the kernel's socket write just evicted.
 * Phased (parse them all, run them all, write them all) a hello costs 12-23% less CPU in the
 * worker (README "How it works"). Each dispatch is still its own crossing with its own CPU deadline.
 *
 * Holding a response back must not make it wait for someone else's slow handler: responses are
 * released before a task whose key (a route, in its sandbox's cost table) is not known to be quick,
 * and as soon as they have been held for HOLD_MS. So a response waits at most HOLD_MS plus one
 * quick task.
 */

/** Longest a finished response waits for the turn's other tasks. */
export const HOLD_MS = 1;
/** A key whose recent tasks took less than this (smoothed) runs without releasing first. */
export const QUICK_MS = 0.5;
/** Keys a cost table remembers; past this it starts over (every key unknown, so slow, again). */
const MAX_KEYS = 2048;

/** Smoothed ms per task, by key: one table per caller (a sandbox, by route), so no key is built. */
export type Costs = Map<string, number>;

export interface Holder {
  /** Sends what it held back. */
  release(): void;
}

interface Task {
  costs: Costs;
  key: string;
  run: () => void;
}

export class Turn {
  #tasks: Task[] = [];
  #holders: Holder[] = [];
  /** When the oldest held output was held (performance.now()). */
  #heldSince = Infinity;
  #scheduled = false;
  #running = false;
  readonly #onError: (err: unknown) => void;

  constructor(onError: (err: unknown) => void = (err) => console.error(err)) {
    this.#onError = onError;
  }

  /**
   * Runs `run` later in this turn (setImmediate), in order with the turn's other tasks; its time
   * is learnt under `key` in `costs`.
   */
  queue(costs: Costs, key: string, run: () => void): void {
    this.#tasks.push({ costs, key, run });
    if (!this.#scheduled && !this.#running) {
      this.#scheduled = true;
      setImmediate(() => this.run());
    }
  }

  /** True while the queued tasks run: a holder may keep its output until release(). */
  get holding(): boolean {
    return this.#running;
  }

  /** `h` holds output now: it is released with the turn's others. */
  held(h: Holder): void {
    if (this.#holders.length === 0) this.#heldSince = performance.now();
    this.#holders.push(h);
  }

  /** Runs every queued task now (also those queued meanwhile), then releases what was held. */
  run(): void {
    if (this.#running) return;
    this.#scheduled = false;
    this.#running = true;
    try {
      for (let i = 0; i < this.#tasks.length; i++) {
        const task = this.#tasks[i]!;
        const expected = task.costs.get(task.key);
        if (expected === undefined || expected > QUICK_MS) this.#release();
        const t0 = performance.now();
        try {
          task.run();
        } catch (err) {
          // Sandboxes answer failures through their sinks; anything else must not stop the rest.
          this.#onError(err);
        }
        const t1 = performance.now();
        learn(task.costs, task.key, t1 - t0);
        if (t1 - this.#heldSince >= HOLD_MS) this.#release();
      }
    } finally {
      this.#tasks = [];
      this.#running = false;
      this.#release();
    }
  }

  #release(): void {
    const holders = this.#holders;
    if (holders.length === 0) return;
    this.#holders = [];
    this.#heldSince = Infinity;
    for (const h of holders) {
      try {
        h.release();
      } catch (err) {
        this.#onError(err); // one holder's failure must not keep the others' answers back
      }
    }
  }
}

function learn(costs: Costs, key: string, ms: number): void {
  const was = costs.get(key);
  if (was === undefined && costs.size >= MAX_KEYS) costs.clear();
  costs.set(key, was === undefined ? ms : was * 0.75 + ms * 0.25);
}

/** The worker's one turn: every sandbox of the process queues on it. */
export const turn = new Turn();
