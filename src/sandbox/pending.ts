/**
 * A sandbox's requests in flight, by id, with their wall-clock deadlines. One interval sweeps the
 * deadlines while anything is pending, instead of a timer per request on the hot path.
 */
import { IdTable } from "./id-table.js";
import type { ResponseSink } from "./sandbox.js";

export interface Pending {
  sink: ResponseSink;
  route: string;
  /** The head went out and the body streams: no longer bound by the wall clock (SSE). */
  streaming: boolean;
  /** Date.now() ms by which the response head must have gone out. */
  deadline: number;
}

export class PendingRequests {
  readonly #map = new IdTable<Pending>();
  readonly #wallMs: number;
  readonly #onExpired: (id: number, p: Pending) => void;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(wallMs: number, onExpired: (id: number, p: Pending) => void) {
    this.#wallMs = wallMs;
    this.#onExpired = onExpired;
  }

  get size(): number {
    return this.#map.size;
  }

  add(id: number, sink: ResponseSink, route: string): void {
    this.#map.set(id, { sink, route, streaming: false, deadline: Date.now() + this.#wallMs });
    this.#sweeper ??= setInterval(
      () => this.#sweep(),
      Math.min(250, Math.max(10, this.#wallMs / 10)),
    );
  }

  get(id: number): Pending | undefined {
    return this.#map.get(id);
  }

  /** Removes and returns the request (it is answered, failed or abandoned). */
  take(id: number): Pending | undefined {
    const p = this.#map.get(id);
    if (p !== undefined) this.#map.delete(id);
    return p;
  }

  /** A copy: callers may take while they go. */
  entries(): [number, Pending][] {
    return this.#map.entries();
  }

  /** The only request in flight, if there is exactly one. */
  only(): Pending | undefined {
    return this.#map.size === 1 ? this.#map.any() : undefined;
  }

  stop(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, p] of this.#map.entries())
      if (!p.streaming && now > p.deadline) {
        this.#map.delete(id);
        this.#onExpired(id, p);
      }
    if (this.#map.size === 0) this.stop();
  }
}
