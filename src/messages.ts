/**
 * The primary↔worker protocol over node:cluster IPC. One discriminated union per direction; both
 * sides switch on `type` and nothing else, and drop anything that fails the guard.
 */
import type { ImageState } from "./template-images.js";
import type { Snapshot } from "./snapshot.js";
import type { WorkerStats } from "./stats.js";

/** A site generation as the primary hands it out: the number and the files it is made of. */
export interface GenerationData {
  site: string;
  generation: number;
  snapshot: Snapshot;
}

export type ToPrimary =
  | { type: "ready"; port: number | null }
  | { type: "snapshot-request"; reqId: number; site: string }
  /** `stat` policy: a worker saw a loaded file change on disk. */
  | { type: "stale"; reqId: number; site: string }
  /** Generation protocol replies, see generations.ts. */
  | { type: "prepared"; site: string; generation: number; error: string | null }
  | { type: "drained"; site: string; generation: number }
  /** Every 250 ms from the event loop; silence past --watchdog gets the worker replaced. */
  | { type: "heartbeat" }
  | { type: "stats"; reqId: number; stats: WorkerStats }
  | { type: "status-request"; reqId: number }
  /** The worker asks to be replaced (memory bound passed, interpreter aborted). */
  | { type: "recycle-me"; reason: string }
  /** Once after ready: where the busy record (busy.ts) is, for the primary to read it. */
  | { type: "busy-at"; address: number; magic: string }
  /** At start: where the sandbox template image is (answered once it is built). */
  | { type: "template-image-request"; reqId: number };

export type ToWorker =
  | { type: "snapshot-reply"; reqId: number; data: GenerationData | null; error: string | null }
  /** `stat`: the live generation once the primary has handled a worker's "stale". */
  | { type: "stale-reply"; reqId: number; data: GenerationData | null }
  /** Phase 1: build the new generation to the side and report whether it loads. */
  | { type: "prepare"; data: GenerationData }
  /** Phase 2: stop starting requests on the old generation, finish the started ones, report. */
  | { type: "drain"; site: string; generation: number }
  /** Phase 3: serve the new generation (or, with ok=false, keep the old one). */
  | { type: "commit"; site: string; generation: number; ok: boolean; changed: string[] }
  | { type: "sites-changed" }
  | { type: "stats-request"; reqId: number }
  | { type: "status-reply"; reqId: number; snapshot: unknown }
  /** Stop accepting, finish in-flight requests, exit. */
  | { type: "drain-worker" }
  /** The instance is stopping: /.sitebox/health says so until the listener closes. */
  | { type: "health-draining" }
  /** SIGUSR1: reopen the access log file. */
  | { type: "reopen-logs" }
  /** The primary cannot read this worker's memory: watch the busy record from a thread. */
  | { type: "watchdog-thread" }
  | ({ type: "template-image-reply"; reqId: number } & ImageState);

export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { type?: unknown }).type === "string"
  );
}
