/**
 * Runs a sandbox's timers from one Node timer. Due timers fire in batches, one crossing per
 * owner; the batches' CPU is held to a share of the worker (a token bucket), so no number of
 * intervals can take the event loop from other sites: they fire later instead. The same wake
 * also tells the prelude which timers were dropped, and checks the scopes' deadlines.
 */
import { TimerQueue } from "./timers.js";

/** Timer callbacks may use this fraction of a worker's time per sandbox, in the long run... */
export const TIMER_SHARE = 0.25;
/** ...with bursts up to this many ms, so a quiet site's timers fire on time. */
const BURST_MS = 50;
/** Timers run per wake, at most (the rest are due at once, on the next wake): other sites'
 * requests wait for one batch at most. */
const BATCH = 50;

export interface TimerHost {
  /** Runs `due` (ids, in order) for `owner` and forgets `forget`; false once the sandbox died. */
  fire(owner: number, due: number[], forget: number[]): boolean;
  /** The earliest other deadline the wake must check (scopes), or Infinity. */
  nextDeadline(): number;
  /** Called on each wake, before timers run. */
  deadlines(now: number): void;
}

export class TimerDriver {
  readonly queue = new TimerQueue();
  readonly #host: TimerHost;
  #wake: NodeJS.Timeout | undefined;
  #wakeAt = Infinity;
  #credit = BURST_MS;
  #creditAt = performance.now();
  #forget: number[] = [];
  #firing = false;
  #stopped = false;

  constructor(host: TimerHost) {
    this.#host = host;
  }

  set(id: number, owner: number, ms: number, repeat: boolean): void {
    this.queue.add(id, owner, ms, repeat, performance.now());
    this.schedule();
  }

  clear(id: number): void {
    this.queue.delete(id);
  }

  /** Ends `owner`'s timers; the prelude forgets their callbacks on the next wake. */
  dropOwner(owner: number): void {
    const ids = this.queue.dropOwner(owner);
    if (ids.length === 0) return;
    for (const id of ids) this.#forget.push(id);
    this.schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#wake);
    this.#wake = undefined;
    this.queue.clear();
    this.#forget = [];
  }

  /** (Re)arms the one Node timer for whatever comes first. */
  schedule(): void {
    if (this.#stopped || this.#firing) return;
    const now = performance.now();
    let at = this.queue.nextDue();
    if (at !== Infinity && this.#refill(now) < 0)
      at = Math.max(at, now - this.#credit / TIMER_SHARE);
    if (this.#forget.length > 0) at = now;
    at = Math.min(at, this.#host.nextDeadline());
    if (at === Infinity) {
      clearTimeout(this.#wake);
      this.#wake = undefined;
      this.#wakeAt = Infinity;
      return;
    }
    if (this.#wake !== undefined && this.#wakeAt <= at) return;
    clearTimeout(this.#wake);
    this.#wakeAt = at;
    // Unref'd: a sandbox's timers never keep a draining worker alive.
    this.#wake = setTimeout(() => this.#run(), Math.max(0, at - now)).unref();
  }

  #refill(now: number): number {
    this.#credit = Math.min(BURST_MS, this.#credit + (now - this.#creditAt) * TIMER_SHARE);
    this.#creditAt = now;
    return this.#credit;
  }

  #run(): void {
    this.#wake = undefined;
    this.#wakeAt = Infinity;
    if (this.#stopped) return;
    this.#firing = true;
    try {
      let now = performance.now();
      this.#host.deadlines(now);
      const due = this.#refill(now) >= 0 ? this.queue.takeDue(now, BATCH) : [];
      // One call per owner, in the order their first timer fell due.
      const owners = new Map<number, number[]>();
      for (const t of due) {
        const ids = owners.get(t.owner);
        if (ids === undefined) owners.set(t.owner, [t.id]);
        else ids.push(t.id);
      }
      if (owners.size === 0 && this.#forget.length > 0) owners.set(0, []);
      for (const [owner, ids] of owners) {
        const forget = this.#forget;
        this.#forget = [];
        const alive = this.#host.fire(owner, ids, forget);
        const end = performance.now();
        this.#credit -= end - now;
        this.#creditAt = end;
        now = end;
        if (!alive || this.#stopped) return;
        this.queue.fired(ids, now);
      }
    } finally {
      this.#firing = false;
    }
    this.schedule();
  }
}
