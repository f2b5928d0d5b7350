/**
 * What a request (or a module load) owns inside a sandbox: its timers (timers.ts), its
 * `ctx.waitUntil` promises, its share of the log. A scope ends when its answer is out and its
 * waitUntil promises have settled; its timers end with it, as in Workers, where they belong to
 * the request. Work after the answer is bounded: WAIT_UNTIL_MS of wall time (Workers' 30 s) and
 * one `--timeout` of CPU. Pure: times are passed in.
 */
import { IdTable } from "./id-table.js";

export const WAIT_UNTIL_MS = 30_000;
export const LOG_LINES_PER_REQUEST = 100;
export const LOG_BYTES_PER_REQUEST = 64 * 1024;

export interface Scope {
  readonly id: number;
  readonly route: string | undefined;
  answered: boolean;
  /** waitUntil promises not yet settled. */
  waits: number;
  /** CPU ms of site code run for it after its answer. */
  cpuAfterMs: number;
  logLines: number;
  logBytes: number;
  droppedLines: number;
  droppedBytes: number;
}

export class Scopes {
  readonly #map = new IdTable<Scope>();
  /** Answered scopes still waiting, in the order answered: their deadlines only grow. */
  #waiting: { scope: Scope; until: number }[] = [];

  get size(): number {
    return this.#map.size;
  }

  open(id: number, route: string | undefined): Scope {
    const s: Scope = {
      id,
      route,
      answered: false,
      waits: 0,
      cpuAfterMs: 0,
      logLines: 0,
      logBytes: 0,
      droppedLines: 0,
      droppedBytes: 0,
    };
    this.#map.set(id, s);
    return s;
  }

  get(id: number): Scope | undefined {
    return this.#map.get(id);
  }

  /** The answer went out (or failed). True when the scope is over now. */
  answer(s: Scope, now: number): boolean {
    if (s.answered) return false;
    s.answered = true;
    if (s.waits <= 0) return true;
    this.#waiting.push({ scope: s, until: now + WAIT_UNTIL_MS });
    return false;
  }

  /** A waitUntil promise was added (+1) or settled (-1). True when the scope is over now. */
  wait(s: Scope, delta: number): boolean {
    s.waits += delta;
    return s.answered && s.waits <= 0;
  }

  /** Counts a line against the request's log budget; false once it is spent. */
  allowLog(s: Scope, bytes: number): boolean {
    if (s.logLines < LOG_LINES_PER_REQUEST && s.logBytes + bytes <= LOG_BYTES_PER_REQUEST) {
      s.logLines++;
      s.logBytes += bytes;
      return true;
    }
    s.droppedLines++;
    s.droppedBytes += bytes;
    return false;
  }

  /** When the earliest waiting scope runs out of time, or Infinity. */
  nextDeadline(): number {
    this.#prune();
    return this.#waiting[0]?.until ?? Infinity;
  }

  /** Answered scopes whose waitUntil time ran out by `now` (still registered). */
  expired(now: number): Scope[] {
    const out: Scope[] = [];
    this.#prune();
    while (this.#waiting.length > 0 && this.#waiting[0]!.until <= now) {
      out.push(this.#waiting.shift()!.scope);
      this.#prune();
    }
    return out;
  }

  all(): Scope[] {
    return this.#map.values();
  }

  delete(s: Scope): void {
    this.#map.delete(s.id);
  }

  clear(): void {
    this.#map.clear();
    this.#waiting = [];
  }

  #prune(): void {
    while (this.#waiting.length > 0 && this.#map.get(this.#waiting[0]!.scope.id) === undefined)
      this.#waiting.shift();
  }
}
