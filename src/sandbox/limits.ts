/**
 * Whether a run of site code hit a limit, decided from the interpreter's own state: the wasm
 * heap's size against `--memory` (wasm.ts) and our CPU deadline, never from an error's text (site
 * code can throw "out of memory" at will, and a real out-of-memory often arrives as `null`).
 */
import { SiteboxError } from "../errors.js";
import type { SiteLimits } from "../site-config.js";
import type { QuickJSInstance } from "./wasm.js";

export class RunLimits {
  readonly #memory: WebAssembly.Memory;
  readonly #limitBytes: number;
  readonly #limits: SiteLimits;
  #deadline = Infinity;
  #start = 0;
  #interrupted = false;
  #overMemory = false;

  constructor(instance: QuickJSInstance, limits: SiteLimits) {
    this.#memory = instance.memory;
    this.#limitBytes = instance.limitBytes;
    this.#limits = limits;
  }

  /** A run of site code begins: it has one --timeout of CPU. */
  start(): void {
    this.#start = performance.now();
    this.#deadline = this.#start + this.#limits.timeoutMs;
  }

  end(): void {
    this.#deadline = Infinity;
  }

  /** ms since the last run began (what a limit hit cost the worker). */
  sinceStart(): number {
    return performance.now() - this.#start;
  }

  /** QuickJS's interrupt handler, polled every ~10k bytecode operations: true stops the run. */
  interrupt(): boolean {
    if (this.memoryPassed()) return true;
    if (performance.now() <= this.#deadline) return false;
    this.#interrupted = true;
    return true;
  }

  hit(): boolean {
    return this.#interrupted || this.memoryPassed();
  }

  /** The heap grew past --memory: dlmalloc only grows it when it has no room left. */
  memoryPassed(): boolean {
    if (!this.#overMemory && this.#memory.buffer.byteLength > this.#limitBytes)
      this.#overMemory = true;
    return this.#overMemory;
  }

  error(): SiteboxError {
    const { memoryMb, timeoutMs } = this.#limits;
    return this.memoryPassed()
      ? new SiteboxError("ERR_MEMORY", `memory limit (${memoryMb} MB) passed`)
      : new SiteboxError("ERR_TIMEOUT", `CPU time limit (${timeoutMs} ms) passed`);
  }
}
