/**
 * The work each request (or module load) owns in a sandbox, from its dispatch to the end of its
 * scope (scopes.ts): its timers (run by the timer driver), its waitUntil promises, its share of
 * the log. The sandbox says whose code runs now (`owner`); everything set or logged while it
 * runs is charged to that scope, and ends with it.
 */
import {
  LOG_BYTES_PER_REQUEST,
  LOG_LINES_PER_REQUEST,
  Scopes,
  WAIT_UNTIL_MS,
  type Scope,
} from "./scopes.js";
import { IdTable } from "./id-table.js";
import { TimerDriver } from "./timer-driver.js";

/** Live timers per request, and per sandbox (each costs a host entry and a closure inside). */
export const MAX_TIMERS_PER_REQUEST = 1000;
export const MAX_TIMERS = 10_000;

export interface WorkHost {
  /** Runs `due` timers of `owner` and forgets `forget`, inside the interpreter; false if dead. */
  runTimers(owner: number, due: number[], forget: number[]): boolean;
  /** A line for the error log about `route`'s work. */
  note(route: string | undefined, message: string): void;
  /** CPU ms a scope may use after its answer: one --timeout. */
  readonly budgetMs: number;
  /** The last scope ended. */
  idle(): void;
}

export class RequestWork {
  /** The scope whose code runs now: every timer set and line logged is charged to it. */
  owner = 0;
  readonly #scopes = new Scopes();
  readonly #timers: TimerDriver;
  /** Host operation ticket → the scope that started it: its outcome runs as that scope's code. */
  readonly #ops = new IdTable<number>();
  readonly #host: WorkHost;

  constructor(host: WorkHost) {
    this.#host = host;
    this.#timers = new TimerDriver({
      fire: (owner, due, forget) => this.#fire(owner, due, forget),
      nextDeadline: () => this.#scopes.nextDeadline(),
      deadlines: (now) => {
        for (const s of this.#scopes.expired(now))
          this.#end(
            s,
            `its waitUntil promises were still pending ${WAIT_UNTIL_MS / 1000} s after the response`,
          );
      },
    });
  }

  /** Requests and loads whose work is not over. */
  get size(): number {
    return this.#scopes.size;
  }

  /** A request or load starts; its code runs now. */
  open(id: number, route: string): void {
    this.#scopes.open(id, route);
    this.owner = id;
  }

  /** The route of the code running now, if known. */
  route(): string | undefined {
    return this.#scopes.get(this.owner)?.route;
  }

  /** Its answer is out (or failed, or the client left): its work may end now. */
  answered(id: number): void {
    const s = this.#scopes.get(id);
    if (s !== undefined && this.#scopes.answer(s, Date.now())) this.#end(s);
    else this.#timers.schedule(); // its waitUntil deadline
  }

  /** A waitUntil promise of request `id` was added (+1) or settled (-1). */
  waitUntil(id: number, delta: number): void {
    const s = this.#scopes.get(id);
    if (s !== undefined && this.#scopes.wait(s, delta)) this.#end(s);
  }

  /** "" when armed, else why not (the prelude throws it as a RangeError). */
  setTimer(id: number, ms: number, repeat: boolean): string {
    const kind = repeat ? "setInterval" : "setTimeout";
    const owner = this.owner;
    if (this.#scopes.get(owner) === undefined || !(id > 0))
      return `${kind}: timers can only be set while a request is handled`;
    if (this.#timers.queue.countOf(owner) >= MAX_TIMERS_PER_REQUEST)
      return `${kind}: more than ${MAX_TIMERS_PER_REQUEST} timers pending for this request`;
    if (this.#timers.queue.size >= MAX_TIMERS)
      return `${kind}: more than ${MAX_TIMERS} timers pending in this site's sandbox`;
    const delay = Number.isFinite(ms) && ms > 0 ? Math.min(ms, 2 ** 31 - 1) : 0;
    this.#timers.set(id, owner, repeat ? Math.max(1, delay) : delay, repeat);
    return "";
  }

  clearTimer(id: number): void {
    this.#timers.clear(id);
  }

  /** A host operation started by the code running now. */
  opStarted(ticket: number): void {
    this.#ops.set(ticket, this.owner);
  }

  /** It settled: its outcome is the starting scope's code (if that scope is still on). */
  opSettled(ticket: number): void {
    this.owner = this.#ops.get(ticket) ?? 0;
    this.#ops.delete(ticket);
  }

  /** May the code running now log a line of `bytes`? (Its request's budget.) */
  allowLog(bytes: number): boolean {
    const s = this.#scopes.get(this.owner);
    return s === undefined || this.#scopes.allowLog(s, bytes);
  }

  /** Lines the prelude dropped without sending them, for the code running now. */
  dropped(lines: number, bytes: number): void {
    const s = this.#scopes.get(this.owner);
    if (s === undefined) return;
    s.droppedLines += lines;
    s.droppedBytes += bytes;
  }

  /** Ends everything now; returns how many answered requests' background work it stopped. */
  stop(): number {
    this.#timers.stop();
    this.#ops.clear();
    let background = 0;
    for (const s of this.#scopes.all()) if (s.answered) background++;
    this.#scopes.clear();
    return background;
  }

  #end(s: Scope, why?: string): void {
    this.#scopes.delete(s);
    this.#timers.dropOwner(s.id);
    if (why !== undefined) this.#host.note(s.route, `background work stopped: ${why}`);
    if (s.droppedLines > 0)
      this.#host.note(
        s.route,
        `console: ${s.droppedLines} more lines (${s.droppedBytes} bytes) from this request ` +
          `dropped (a request may log ${LOG_LINES_PER_REQUEST} lines or ` +
          `${LOG_BYTES_PER_REQUEST >> 10} KiB)`,
      );
    if (this.#scopes.size === 0) this.#host.idle();
  }

  /** One wake of the timer driver for `owner`; work after the answer is charged to it. */
  #fire(owner: number, due: number[], forget: number[]): boolean {
    const start = performance.now();
    if (!this.#host.runTimers(owner, due, forget)) return false;
    const s = this.#scopes.get(owner);
    if (s !== undefined && s.answered) {
      s.cpuAfterMs += performance.now() - start;
      const budget = this.#host.budgetMs;
      if (s.cpuAfterMs > budget)
        this.#end(
          s,
          `it used ${Math.round(s.cpuAfterMs)} ms of CPU after the response ` +
            `(the limit is --timeout, ${budget} ms)`,
        );
    }
    return true;
  }
}
