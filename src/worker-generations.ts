/**
 * The worker's half of the generation protocol (the primary's half is generations.ts):
 *   prepare → build the new generation to the side, load every route, report success or the error;
 *   drain   → hold new requests for the site, wait until every dispatched one has its response
 *             head out, report;
 *   commit  → swap in the new generation (or keep the old one) and let held requests through.
 * A worker starts serving generation N+1 only after every worker has stopped answering with N. An
 * answer is its response head: a streamed body whose head went out under N goes on from N's
 * sandbox, retired, for at most --reload-grace ms, then ends cleanly; a site keeps at most one
 * retired sandbox, so a newer switch ends the older one's streams at once.
 */
import { SiteboxError } from "./errors.js";
import type { Log } from "./log.js";
import type { GenerationData, ToPrimary } from "./messages.js";
import { Sandbox } from "./sandbox/sandbox.js";
import { Generation, type SiteEntry, type SiteRegistry } from "./sites.js";

export class WorkerGenerations {
  #sites: SiteRegistry;
  #log: Log;
  #worker: number;
  #send: (m: ToPrimary) => void;
  #graceMs: number;
  #latest = new Map<string, GenerationData>();

  constructor(sites: SiteRegistry, log: Log, worker: number, send: (m: ToPrimary) => void) {
    this.#sites = sites;
    this.#graceMs = sites.config.reloadGraceMs;
    this.#log = log;
    this.#worker = worker;
    this.#send = send;
  }

  async prepare(data: GenerationData): Promise<void> {
    const { site, generation } = data;
    // Only the newest prepare of a site answers: an aborted rollout's late result must not count
    // for its retry, which has the same generation number.
    this.#latest.set(site, data);
    const reply = (error: string | null) => {
      if (this.#latest.get(site) === data)
        this.#send({ type: "prepared", site, generation, error });
    };
    const gen = new Generation(data, this.#sites.config);
    if (gen.settings === null) return reply(gen.settingsError!.message);
    let side: Sandbox;
    try {
      side = await Sandbox.create({
        site,
        generation,
        files: data.snapshot.files,
        settings: gen.settings,
        worker: this.#worker,
        log: this.#log,
      });
    } catch (err) {
      return reply(describeLoadError(err));
    }
    const error = await loadAll(side, gen);
    const entry = this.#sites.entries.get(site);
    if (error !== null || entry === undefined || this.#latest.get(site) !== data) drop(side);
    else entry.prepared = { generation: gen, side };
    reply(error);
  }

  drain(site: string, generation: number): void {
    const entry = this.#sites.entries.get(site);
    const done = () => this.#send({ type: "drained", site, generation });
    if (entry === undefined) return done();
    closeGate(entry);
    if (entry.unanswered === 0) return done();
    entry.onIdle = () => {
      entry.onIdle = null;
      done();
    };
  }

  commit(site: string, generation: number, ok: boolean, changed: string[]): void {
    this.#latest.delete(site);
    const entry = this.#sites.entries.get(site);
    if (entry === undefined) return;
    const prepared = entry.prepared;
    entry.prepared = null;
    if (prepared !== null && (!ok || prepared.generation.number !== generation))
      drop(prepared.side);
    if (ok && (prepared === null || prepared.generation.number !== generation)) {
      // Not prepared here (this worker started during the rollout): never serve the old one on.
      if (entry.current.number < generation) {
        closeGate(entry);
        entry.onIdle = null;
        void this.#sites
          .reread(entry)
          .catch((err: Error) =>
            this.#log.error({ site, worker: this.#worker }, `re-read: ${err.message}`),
          )
          .finally(() => openGate(entry));
        return;
      }
    } else if (ok && prepared !== null) {
      entry.current = prepared.generation;
      // Dependency-aware, judged now (the running sandbox may have been built since prepare):
      // keep it, and its module state, unless it used a changed file or the settings changed.
      const running = entry.sandbox;
      if (running !== null) {
        if (changed.includes("site.json") || changed.some((f) => running.loaded.has(f))) {
          entry.sandbox = prepared.side;
          entry.noteRebuild(`changed: ${changed.join(", ")}`);
          this.#sites.watchSandbox(entry, prepared.side);
          this.#retire(entry, running, generation);
        } else {
          running.adopt(generation, prepared.generation.data.snapshot.files);
          drop(prepared.side);
        }
      } else drop(prepared.side); // the next request builds from the new generation
    }
    entry.onIdle = null;
    openGate(entry);
  }

  /** `old` stops taking requests; its open streams go on for --reload-grace, then end cleanly. */
  #retire(entry: SiteEntry, old: Sandbox, by: number): void {
    if (entry.retired !== null) this.#endRetired(entry, `replaced by generation ${by}`);
    if (old.inFlight === 0) return drop(old);
    const timer = setTimeout(
      () => this.#endRetired(entry, `--reload-grace ${this.#graceMs} ms after the switch`),
      this.#graceMs,
    );
    timer.unref();
    entry.retired = { sandbox: old, timer };
  }

  #endRetired(entry: SiteEntry, why: string): void {
    const retired = entry.retired;
    if (retired === null) return;
    entry.retired = null;
    clearTimeout(retired.timer);
    const n = retired.sandbox.endStreams();
    drop(retired.sandbox);
    if (n > 0)
      this.#log.info(
        `worker=${this.#worker} site=${entry.name}: ended ${n} streamed response${n === 1 ? "" : "s"} ` +
          `of generation ${retired.sandbox.generation} (${why})`,
      );
  }
}

/**
 * Evaluates every route of `gen` in `side`, each within the site's --wall-timeout (a top-level
 * await that never settles must not hold the rollout until the primary gives up). The error
 * text, or null when all loaded.
 */
async function loadAll(side: Sandbox, gen: Generation): Promise<string | null> {
  const routes =
    gen.index.main !== null ? [gen.index.main] : [...new Set(gen.index.routes.values())];
  const limitMs = gen.settings!.limits.wallTimeoutMs;
  for (const route of routes) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(
        () => resolve(`${route}: evaluation did not finish within ${limitMs} ms`),
        limitMs,
      );
    });
    const loaded = side.load(route).then(
      () => null,
      (err: unknown) => {
        // Link errors ("Could not find export") carry no location: name the route at least.
        const text = describeLoadError(err);
        return /\.m?js:\d/.test(text) ? text : `${route}: ${text}`;
      },
    );
    const error = await Promise.race([loaded, late]);
    clearTimeout(timer);
    if (error !== null) return error;
  }
  return null;
}

/**
 * A sandbox no request will reach again (built to the side and not used, or retired): stops its
 * timers, so nothing keeps the instance alive. Not a limit hit: nobody is told.
 */
function drop(sb: Sandbox): void {
  sb.onDead = () => {};
  sb.abandon(new SiteboxError("ERR_UNAVAILABLE", "generation replaced"));
}

/** Requests for the site wait at the gate until openGate (see server.ts handle). */
function closeGate(entry: SiteEntry): void {
  if (entry.gate === null) entry.gate = new Promise((resolve) => (entry.openGate = resolve));
}

function openGate(entry: SiteEntry): void {
  const open = entry.openGate;
  entry.gate = null;
  entry.openGate = null;
  open?.();
}

/** "file:line: message" from a load failure, for the log and the status page. */
function describeLoadError(err: unknown): string {
  const e = err as { message?: string; stack?: string };
  const where = /\(?([^\s()]+\.m?js:\d+(?::\d+)?)\)?/.exec(e.stack ?? "")?.[1];
  const message = e.message ?? String(err);
  return where !== undefined && !message.includes(where) ? `${where}: ${message}` : message;
}
