/**
 * A worker's sites: for each one the generation it serves (files from the primary), the settings
 * and route table derived from it, and the sandbox built from it. The cache policy decides when a
 * sandbox is reused; the generation protocol (generations.ts in the primary) decides when a new
 * generation replaces the old one.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";
import { Breaker } from "./breaker.js";
import type { Config } from "./config.js";
import { readContainedSync } from "./contained-open.js";
import { SiteboxError } from "./errors.js";
import type { Log } from "./log.js";
import type { GenerationData } from "./messages.js";
import { buildRouteIndex, type RouteIndex } from "./router.js";
import { Sandbox } from "./sandbox/sandbox.js";
import { defaultLimits, parseSiteJson, type SiteSettings } from "./site-config.js";
import { readSnapshot, stampOf } from "./snapshot.js";
import { StaticCache } from "./static-cache.js";
import type { SiteStats } from "./stats.js";

/** Everything derived from one generation's files; immutable. */
export class Generation {
  readonly number: number;
  readonly data: GenerationData;
  readonly settings: SiteSettings | null;
  readonly settingsError: SiteboxError | null;
  readonly index: RouteIndex;
  readonly publicRoot: string;

  constructor(data: GenerationData, config: Config) {
    this.number = data.generation;
    this.data = data;
    const { snapshot } = data;
    let settings: SiteSettings | null = null;
    let settingsError: SiteboxError | null = null;
    try {
      settings = parseSiteJson(
        snapshot.siteJson,
        `${data.site}/site.json`,
        defaultLimits(config),
        config.siteLimitsRaise,
      );
      if (settings.main !== null && !Object.hasOwn(snapshot.files, settings.main))
        throw new SiteboxError(
          "ERR_CONFIG",
          `${data.site}/site.json: "main" names ${settings.main}, which does not exist`,
        );
    } catch (err) {
      settingsError = err as SiteboxError;
    }
    this.settings = settings;
    this.settingsError = settingsError;
    this.index = buildRouteIndex(Object.keys(snapshot.files), settings?.main ?? null);
    this.publicRoot = join(snapshot.root, "public");
  }
}

export class SiteEntry {
  readonly name: string;
  current: Generation;
  sandbox: Sandbox | null = null;
  building: Promise<Sandbox> | null = null;
  /** While a new generation is switched in, requests wait here (see generations.ts). */
  gate: Promise<void> | null = null;
  openGate: (() => void) | null = null;
  /**
   * Requests dispatched whose response head has not gone out: what the drain phase waits for.
   * A streamed body whose head went out does not count; it finishes on its own sandbox.
   */
  unanswered = 0;
  onIdle: (() => void) | null = null;
  /** Built to the side by "prepare", swapped in by "commit". */
  prepared: { generation: Generation; side: Sandbox } | null = null;
  /** The sandbox a commit replaced while it still streamed responses (see worker-generations). */
  retired: { sandbox: Sandbox; timer: NodeJS.Timeout } | null = null;
  lastUsed = Date.now();
  requests = 0;
  errors = 0;
  limitKills = 0;
  lastError: string | null = null;
  lastErrorAt = 0;
  /** The last module load failure, for the generation it happened in. */
  loadError: { generation: number; message: string } | null = null;
  readonly rebuilds: { at: number; generation: number; reason: string }[] = [];
  readonly latency: RecordableHistogram = createHistogram();
  /** Refuses the site's requests for a cool-down when they keep hitting limits. */
  readonly breaker = new Breaker();
  /** `legacy` policy: per route file, its last seen mtime (s), last check and version. */
  readonly legacy = new Map<string, { mtimeSec: number; checkedAt: number; version: number }>();

  constructor(name: string, current: Generation) {
    this.name = name;
    this.current = current;
  }

  /** Counts a dispatched request until its head goes out; the returned call is idempotent. */
  dispatched(): () => void {
    this.unanswered++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.unanswered === 0) this.onIdle?.();
    };
  }

  noteError(message: string, moduleLoad = false): void {
    this.lastError = message;
    this.lastErrorAt = Date.now();
    if (moduleLoad) this.loadError = { generation: this.current.number, message };
  }

  noteRebuild(reason: string): void {
    this.rebuilds.push({ at: Date.now(), generation: this.current.number, reason });
    if (this.rebuilds.length > 20) this.rebuilds.shift();
  }

  stats(): SiteStats {
    const h = this.latency;
    return {
      site: this.name,
      generation: this.current.number,
      loaded: this.sandbox !== null,
      requests: this.requests,
      errors: this.errors,
      limitKills: this.limitKills,
      p50Ms: h.count ? h.percentile(50) / 1000 : 0,
      p99Ms: h.count ? h.percentile(99) / 1000 : 0,
      sandboxBytes: this.sandbox?.memoryBytes ?? 0,
      modules: this.sandbox ? [...this.sandbox.loaded] : [],
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt || undefined,
      loadError:
        this.loadError?.generation === this.current.number ? this.loadError.message : undefined,
      rebuilds: [...this.rebuilds],
    };
  }
}

export type FetchGeneration = (site: string) => Promise<GenerationData>;

export class SiteRegistry {
  readonly config: Config;
  readonly entries = new Map<string, SiteEntry>();
  names: ReadonlySet<string> = new Set();
  abandoned = 0;
  /** Small files of public/ in memory (static-cache.ts), per worker. */
  readonly statics: StaticCache;
  cacheHits = 0;
  cacheMisses = 0;
  /** `stat` policy: tell the primary a loaded file changed; resolves when it has been handled. */
  reportStale: (site: string) => Promise<void> = async () => {};
  #log: Log;
  #worker: number;
  #fetch: FetchGeneration;
  #loading = new Map<string, Promise<SiteEntry>>();

  constructor(config: Config, log: Log, worker: number, fetch: FetchGeneration) {
    this.config = config;
    this.statics = new StaticCache(config.cache);
    this.#log = log;
    this.#worker = worker;
    this.#fetch = fetch;
    this.refreshNames();
  }

  /** Site folders that exist now; re-read on a timer and on the watcher's word. */
  refreshNames(): void {
    try {
      this.names = new Set(
        readdirSync(this.config.sitesDir, { withFileTypes: true })
          .filter((d) => (d.isDirectory() || d.isSymbolicLink()) && !d.name.startsWith("."))
          .map((d) => d.name),
      );
    } catch (err) {
      this.#log.error(
        { worker: this.#worker },
        `cannot list ${this.config.sitesDir}: ${(err as Error).message}`,
      );
    }
  }

  /** The site's entry, fetching its current generation from the primary the first time. */
  site(name: string): Promise<SiteEntry> | SiteEntry {
    const entry = this.entries.get(name);
    if (entry !== undefined) return entry;
    let p = this.#loading.get(name);
    if (p === undefined) {
      p = this.#fetch(name).then(
        (data) => {
          const e = new SiteEntry(name, new Generation(data, this.config));
          this.entries.set(name, e);
          this.#loading.delete(name);
          return e;
        },
        (err) => {
          this.#loading.delete(name);
          throw err;
        },
      );
      this.#loading.set(name, p);
    }
    return p;
  }

  /** Switches `entry` to the live generation asked anew from the primary; the sandbox follows. */
  async reread(entry: SiteEntry): Promise<void> {
    const data = await this.#fetch(entry.name);
    if (data.generation <= entry.current.number) return;
    entry.current = new Generation(data, this.config);
    entry.sandbox?.retire(); // its requests in flight finish on it; then it is closed
    entry.sandbox = null;
    entry.noteRebuild(`generation ${data.generation} was not prepared in this worker`);
  }

  /** `none`: the site as it is on disk now, for one request. */
  async freshGeneration(entry: SiteEntry): Promise<Generation> {
    const snapshot = await readSnapshot(this.config.sitesDir, entry.name);
    const data = { site: entry.name, generation: entry.current.number, snapshot };
    return new Generation(data, this.config);
  }

  /**
   * The sandbox that answers the site's next request, per the cache policy; refused (503, with
   * Retry-After) while the site cools down, checked again after waiting for a build.
   */
  async sandbox(entry: SiteEntry, gen = entry.current): Promise<Sandbox> {
    coolDownCheck(entry);
    const sb = await this.#sandboxFor(entry, gen);
    coolDownCheck(entry);
    return sb;
  }

  /**
   * What `sandbox(entry)` would give without waiting: the live sandbox, or null when it would
   * have to wait (a build, a `stat` change to report, `none`, no settings). Throws as it does
   * while the site cools down. For the request path's synchronous case (no promise, no tick).
   */
  sandboxNow(entry: SiteEntry): Sandbox | null {
    const sb = entry.sandbox;
    if (sb === null || sb.deadReason !== null || entry.current.settings === null) return null;
    if (this.config.cache === "none") return null;
    coolDownCheck(entry);
    if (this.config.cache === "stat" && this.#changedOnDisk(entry)) return null;
    this.cacheHits++;
    return sb;
  }

  async #sandboxFor(entry: SiteEntry, gen: Generation): Promise<Sandbox> {
    if (gen.settings === null) throw gen.settingsError!;
    if (this.config.cache === "none") {
      // CGI: a fresh interpreter over `gen` (freshGeneration), nothing kept once its work is done.
      this.cacheMisses++;
      const sb = await this.#build(entry, gen);
      sb.retire();
      return sb;
    }
    if (this.config.cache === "stat" && entry.sandbox !== null && this.#changedOnDisk(entry)) {
      await this.reportStale(entry.name);
      // Served by whatever is live now; the caller re-checks the generation before dispatch.
    }
    if (entry.sandbox !== null && entry.sandbox.deadReason === null) {
      this.cacheHits++;
      return entry.sandbox;
    }
    if (entry.building === null) {
      this.cacheMisses++;
      const building = this.#build(entry, gen).then(
        (sb) => {
          if (entry.building === building) entry.building = null;
          if (entry.current === gen) {
            entry.sandbox = sb;
            entry.noteRebuild(
              entry.rebuilds.length === 0 ? "first request" : "replaced abandoned sandbox",
            );
          }
          return sb;
        },
        (err) => {
          if (entry.building === building) entry.building = null;
          throw err;
        },
      );
      entry.building = building;
    }
    return entry.building;
  }

  /** A new sandbox for `gen`; when it is abandoned, it is dropped and counted. */
  async #build(entry: SiteEntry, gen: Generation): Promise<Sandbox> {
    const root = gen.data.snapshot.root;
    const sb = await Sandbox.create({
      site: entry.name,
      generation: gen.number,
      files: gen.data.snapshot.files,
      settings: gen.settings!,
      worker: this.#worker,
      log: this.#log,
      // `legacy` alone reads modules from disk after the snapshot, and only inside the site.
      readFresh:
        this.config.cache === "legacy"
          ? (file) => readContainedSync(root, join(root, file))
          : undefined,
    });
    this.watchSandbox(entry, sb);
    return sb;
  }

  /** When `sb` is abandoned (a limit hit), it is dropped and counted, and may trip the breaker. */
  watchSandbox(entry: SiteEntry, sb: Sandbox): void {
    const tags = { site: entry.name, worker: this.#worker };
    sb.onAnswer = () => entry.breaker.answer();
    sb.onDead = (reason, costMs) => {
      this.abandoned++;
      entry.limitKills++;
      entry.noteError(reason);
      if (entry.sandbox === sb) entry.sandbox = null;
      this.#log.error(tags, `sandbox abandoned: ${reason}`);
      const trip = entry.breaker.kill(costMs, sb.settings.limits.timeoutMs, Date.now());
      if (trip === null) return;
      const text = `${trip.reason}: answering 503 for ${trip.coolDownMs / 1000} s (cool-down)`;
      entry.noteError(text);
      this.#log.error(tags, text);
    };
  }

  /**
   * `legacy` policy, mod_python's PythonAutoReload as it behaved: per worker, only the route file
   * is checked, at most once a second, by its mtime in whole seconds; a change re-evaluates that
   * one module in the same sandbox, so what it imports stays as it was (and keeps its state).
   */
  legacyRoute(entry: SiteEntry, route: string): string {
    if (this.config.cache !== "legacy") return route;
    const now = Date.now();
    let st = entry.legacy.get(route);
    if (st === undefined) {
      st = { mtimeSec: -1, checkedAt: 0, version: 0 };
      entry.legacy.set(route, st);
    }
    if (now - st.checkedAt >= 1000) {
      st.checkedAt = now;
      let mtimeSec = st.mtimeSec;
      try {
        mtimeSec = Math.floor(
          statSync(join(entry.current.data.snapshot.root, route)).mtimeMs / 1000,
        );
      } catch {
        // gone: keep serving what was loaded, as mod_python did
      }
      if (st.mtimeSec === -1) st.mtimeSec = mtimeSec;
      else if (mtimeSec !== st.mtimeSec) {
        st.mtimeSec = mtimeSec;
        st.version++;
        entry.noteRebuild(`legacy: re-imported ${route} only`);
      }
    }
    return st.version === 0 ? route : `${route}?v=${st.version}`;
  }

  /** `stat` policy: has any file the sandbox loaded, or any folder of the site, changed? */
  #changedOnDisk(entry: SiteEntry): boolean {
    const { snapshot } = entry.current.data;
    const root = snapshot.root;
    const check = (rel: string) => {
      const want = snapshot.stamps[rel];
      try {
        return want === undefined || stampOf(statSync(join(root, rel), { bigint: true })) !== want;
      } catch {
        return true;
      }
    };
    for (const rel of entry.sandbox!.loaded) if (check(rel)) return true;
    for (const rel of Object.keys(snapshot.stamps))
      if (!Object.hasOwn(snapshot.files, rel) && rel !== "site.json" && check(rel)) return true;
    return check("site.json") && snapshot.siteJson !== null;
  }

  /** Builds every site's sandbox and loads all its routes; errors are logged, not fatal. */
  async preloadAll(): Promise<void> {
    for (const name of this.names) {
      try {
        const pending = this.site(name);
        const entry = pending instanceof Promise ? await pending : pending;
        const sandbox = await this.sandbox(entry);
        const { index } = entry.current;
        for (const route of index.main !== null ? [index.main] : new Set(index.routes.values()))
          await sandbox
            .load(route)
            .catch((err: Error) =>
              this.#log.error(
                { site: name, route, worker: this.#worker },
                `preload: ${err.message}`,
              ),
            );
      } catch (err) {
        this.#log.error({ site: name, worker: this.#worker }, `preload: ${(err as Error).message}`);
      }
    }
  }

  /** Same generation, fresh stamps from the primary: what `stat` compares against from now on. */
  restamp(entry: SiteEntry, data: GenerationData): void {
    if (data.generation === entry.current.number && entry.gate === null)
      entry.current = new Generation(data, this.config);
  }

  /** Drops sandboxes idle longer than --site-idle, and the least recent beyond --max-sites. */
  evictIdle(now = Date.now()): void {
    const idleMs = this.config.siteIdleSeconds * 1000;
    const live = [...this.entries.values()].filter((e) => e.sandbox !== null);
    const lastUsed = (e: SiteEntry) => Math.max(e.lastUsed, e.sandbox!.lastUsed);
    live.sort((a, b) => lastUsed(a) - lastUsed(b));
    let excess = live.length - this.config.maxSites;
    let dropped = 0;
    for (const e of live) {
      const idle = idleMs > 0 && now - lastUsed(e) > idleMs;
      const busy = e.sandbox!.inFlight > 0 || e.sandbox!.pendingOperations > 0 || e.unanswered > 0;
      if ((idle || excess > 0) && !busy) {
        // Closed, not just dropped: its timers and work after the response stop now.
        e.sandbox!.close(new SiteboxError("ERR_UNAVAILABLE", "sandbox evicted"));
        e.sandbox = null;
        e.noteRebuild(idle ? "evicted: idle" : "evicted: over --max-sites");
        excess--;
        dropped++;
      }
    }
    // A dropped sandbox's wasm memory is freed by a major GC, which an idle worker may not run
    // for a long time: run one now (workers start with --expose-gc).
    if (dropped > 0) (globalThis as { gc?: () => void }).gc?.();
  }

  totalSandboxBytes(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.sandbox?.memoryBytes ?? 0;
    return n;
  }
}

function coolDownCheck(entry: SiteEntry): void {
  const ms = entry.breaker.refusing(Date.now());
  if (ms > 0)
    throw new SiteboxError("ERR_COOL_DOWN", `${entry.name} is cooling down`, {
      retryAfterS: Math.ceil(ms / 1000),
    });
}
