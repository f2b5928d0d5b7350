import type { StaticCacheFigures } from "./static-cache.js";

/** Figures a worker reports to the primary for the status page (plain data, crosses IPC). */
export interface SiteStats {
  site: string;
  generation: number | null;
  loaded: boolean;
  requests: number;
  errors: number;
  limitKills: number;
  p50Ms: number;
  p99Ms: number;
  sandboxBytes: number;
  modules: string[];
  lastError: string | null;
  /** When `lastError` was set (ms since the epoch); the status page shows the newest. Optional. */
  lastErrorAt?: number;
  /** A module of the live generation failed to load in this worker (its message). Optional. */
  loadError?: string;
  rebuilds: { at: number; generation: number; reason: string }[];
}

export interface WorkerStats {
  pid: number;
  id: number;
  startedAt: number;
  requests: number;
  inFlight: number;
  rssBytes: number;
  sandboxBytes: number;
  abandoned: number;
  cacheHits: number;
  cacheMisses: number;
  /** Small public/ files in memory (static-cache.ts). Optional. */
  staticCache?: StaticCacheFigures;
  /** Where the worker's sandbox template came from (boot.ts `templateOrigin`). Optional. */
  template?: string;
  /** Sandboxes that evaluated the prelude instead of copying the template. Optional. */
  preludeRuns?: number;
  sites: SiteStats[];
}
