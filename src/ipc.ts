/** Request/reply over the cluster IPC channel, matched by a numeric id. */
import type { ToPrimary } from "./messages.js";

type Waiter = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class Requests {
  #next = 1;
  #waiting = new Map<number, Waiter>();

  /** Sends `make(reqId)` and resolves with the reply passed to `settle` for that id. */
  ask<T>(make: (reqId: number) => ToPrimary, timeoutMs = 10_000): Promise<T> {
    const reqId = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(reqId);
        reject(new Error("the primary did not answer"));
      }, timeoutMs);
      this.#waiting.set(reqId, { resolve: resolve as (v: unknown) => void, reject, timer });
      process.send!(make(reqId));
    });
  }

  settle(reqId: number, value: unknown, error?: Error): void {
    const w = this.#waiting.get(reqId);
    if (w === undefined) return;
    this.#waiting.delete(reqId);
    clearTimeout(w.timer);
    if (error) w.reject(error);
    else w.resolve(value);
  }
}
