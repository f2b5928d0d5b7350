/**
 * Host operations that finish later (a Node promise: WebCrypto, say). A host function starts one
 * and returns a ticket; the guest keeps a promise for it (prelude 15-host-async.js). When the
 * Node promise settles, the result re-enters the sandbox through its one way in (the sandbox's
 * `enter`, which goes through #call as timers do), and the guest settles its promise.
 *
 * Pending operations are the sandbox's work: bounded in number, dropped when the sandbox is
 * abandoned, and a result that arrives after that never re-enters it.
 */
import type { QuickJSHandle } from "quickjs-emscripten";

/** A settled operation as guest values, made just before re-entering (disposed after). */
export interface Outcome {
  ok: boolean;
  /** ok: what the operation's `ok` made; failed: (kind "dom" | "error", name, message). */
  values: QuickJSHandle[];
}

/** How a settled operation re-enters the sandbox. */
export type Enter = (ticket: number, outcome: () => Outcome) => void;

/** A failure as the guest rebuilds it: a DOMException by name, or a TypeError, RangeError... */
export interface OpError {
  dom: boolean;
  name: string;
  message: string;
}

export class AsyncOps {
  readonly limit: number;
  /** Told each new ticket while the guest code that started it still runs (whose work it is). */
  onStart: (ticket: number) => void = () => {};
  #enter: Enter;
  #failed: (e: OpError) => QuickJSHandle[];
  #pending = new Set<number>();
  #next = 1;
  #closed = false;

  constructor(limit: number, enter: Enter, failed: (e: OpError) => QuickJSHandle[]) {
    this.limit = limit;
    this.#enter = enter;
    this.#failed = failed;
  }

  get size(): number {
    return this.#pending.size;
  }

  /**
   * Watches `work` and returns the ticket the guest waits on. `ok` turns its value into guest
   * values when the result re-enters; if `ok` throws, the operation fails with that error.
   */
  start<T>(work: Promise<T>, ok: (value: T) => QuickJSHandle[]): number {
    if (this.#closed) throw new Error("sandbox abandoned");
    if (this.#pending.size >= this.limit)
      throw new RangeError(`more than ${this.limit} host operations pending in this sandbox`);
    const ticket = this.#next++;
    this.#pending.add(ticket);
    this.onStart(ticket);
    const fail = (e: unknown): Outcome => ({ ok: false, values: this.#failed(opError(e)) });
    work.then(
      (value) =>
        this.#settle(ticket, () => {
          try {
            return { ok: true, values: ok(value) };
          } catch (e) {
            return fail(e);
          }
        }),
      (e: unknown) => this.#settle(ticket, () => fail(e)),
    );
    return ticket;
  }

  /** The sandbox is gone: nothing pending re-enters it. */
  close(): void {
    this.#closed = true;
    this.#pending.clear();
  }

  #settle(ticket: number, outcome: () => Outcome): void {
    if (this.#closed || !this.#pending.delete(ticket)) return;
    this.#enter(ticket, outcome);
  }
}

function opError(e: unknown): OpError {
  if (e instanceof DOMException) return { dom: true, name: e.name, message: e.message };
  if (e instanceof Error) {
    const known = e.name === "TypeError" || e.name === "RangeError" || e.name === "SyntaxError";
    return known
      ? { dom: false, name: e.name, message: e.message }
      : { dom: true, name: "OperationError", message: e.message };
  }
  return { dom: true, name: "OperationError", message: String(e) };
}
