/**
 * Whether a run of site code hit a limit, decided from the interpreter's own state: the wasm
 * heap's size against `--memory` (wasm.ts) and our CPU deadline, never from an error's text (site
 * code can throw "out of memory" at will, and a real out-of-memory often arrives as `null`).
 */
import { SiteboxError } from "../errors.js";
import type { SiteLimits } from "../site-config.js";
import type { QuickJSInstance } from "./wasm.js";

/** The worker's CPU time in ms (every thread: conservative). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * --timeout is CPU time: on a loaded machine a run is descheduled, and its wall clock overstates
 * what it used. Reading the CPU clock costs a syscall, too much for every run, so a run measures
 * from a reference taken at most REF_MS before it started (it may be charged that much of earlier
 * work), and reads the clock again only once its wall-clock deadline passes.
 */
const REF_MS = 50;
/** However descheduled, a run ends after this many times --timeout of wall clock. */
const WALL_FACTOR = 10;
let refWall = -Infinity;
let refCpu = 0;

export class RunLimits {
  readonly #memory: WebAssembly.Memory;
  readonly #limitBytes: number;
  readonly #limits: SiteLimits;
  #deadline = Infinity;
  #hardDeadline = Infinity;
  #start = 0;
  #cpuStart = 0;
  #interrupted = false;
  #overMemory = false;

  constructor(instance: QuickJSInstance, limits: SiteLimits) {
    this.#memory = instance.memory;
    this.#limitBytes = instance.limitBytes;
    this.#limits = limits;
  }

  /** A run of site code begins: it has one --timeout of CPU. */
  start(): void {
    const now = (this.#start = performance.now());
    if (now - refWall > REF_MS) {
      refWall = now;
      refCpu = cpuMs();
    }
    this.#cpuStart = refCpu;
    this.#deadline = now + this.#limits.timeoutMs;
    this.#hardDeadline = now + WALL_FACTOR * this.#limits.timeoutMs;
  }

  end(): void {
    this.#deadline = Infinity;
  }

  /** CPU ms the last run used (what a limit hit cost the worker), never more than its wall ms. */
  runCostMs(): number {
    return Math.min(performance.now() - this.#start, cpuMs() - this.#cpuStart);
  }

  /** QuickJS's interrupt handler, polled every ~10k bytecode operations: true stops the run. */
  interrupt(): boolean {
    if (this.memoryPassed()) return true;
    const now = performance.now();
    if (now <= this.#deadline) return false;
    const left = this.#limits.timeoutMs - (cpuMs() - this.#cpuStart);
    if (left > 0 && now < this.#hardDeadline) {
      this.#deadline = now + Math.max(1, left);
      return false;
    }
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
