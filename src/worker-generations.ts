/**
 * The worker's half of the generation protocol (the primary's half is generations.ts):
 *   prepare → build the new generation to the side, load every route, report success or the error;
 *   drain   → hold new requests for the site, wait for started ones, report;
 *   commit  → swap in the new generation (or keep the old one) and let held requests through.
 * A worker starts serving generation N+1 only after every worker has stopped serving N.
 */
import type { Log } from "./log.js";
import type { GenerationData, ToPrimary } from "./messages.js";
import { Sandbox } from "./sandbox/sandbox.js";
import { Generation, type SiteRegistry } from "./sites.js";

export class WorkerGenerations {
  #sites: SiteRegistry;
  #log: Log;
  #worker: number;
  #send: (m: ToPrimary) => void;

  constructor(sites: SiteRegistry, log: Log, worker: number, send: (m: ToPrimary) => void) {
    this.#sites = sites;
    this.#log = log;
    this.#worker = worker;
    this.#send = send;
  }

  async prepare(data: GenerationData): Promise<void> {
    const { site, generation } = data;
    const reply = (error: string | null) =>
      this.#send({ type: "prepared", site, generation, error });
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
      const routes =
        gen.index.main !== null ? [gen.index.main] : [...new Set(gen.index.routes.values())];
      for (const route of routes) {
        try {
          await side.load(route);
        } catch (err) {
          // Link errors ("Could not find export") carry no location: name the route at least.
          const text = describeLoadError(err);
          side.close();
          return reply(/\.m?js:\d/.test(text) ? text : `${route}: ${text}`);
        }
      }
    } catch (err) {
      return reply(describeLoadError(err));
    }
    const entry = this.#sites.entries.get(site);
    if (entry === undefined) side.close();
    else {
      entry.prepared?.side.close();
      entry.prepared = { generation: gen, side };
    }
    reply(null);
  }

  drain(site: string, generation: number): void {
    const entry = this.#sites.entries.get(site);
    const done = () => this.#send({ type: "drained", site, generation });
    if (entry === undefined) return done();
    if (entry.gate === null) entry.gate = new Promise((resolve) => (entry.openGate = resolve));
    if (entry.active === 0) return done();
    entry.onIdle = () => {
      entry.onIdle = null;
      done();
    };
  }

  commit(site: string, generation: number, ok: boolean, changed: string[]): void {
    const entry = this.#sites.entries.get(site);
    if (entry === undefined) return;
    const prepared = entry.prepared;
    entry.prepared = null;
    if (ok && prepared !== null && prepared.generation.number === generation) {
      entry.current = prepared.generation;
      // Dependency-aware, judged now (the running sandbox may have been built since prepare):
      // keep it, and its module state, unless it used a changed file or the settings changed.
      const running = entry.sandbox;
      if (running !== null) {
        if (changed.includes("site.json") || changed.some((f) => running.loaded.has(f))) {
          entry.sandbox = prepared.side;
          entry.noteRebuild(`changed: ${changed.join(", ")}`);
          this.#sites.watchSandbox(entry, prepared.side);
          running.retire(); // its requests in flight finish on it; then it is closed
        } else {
          running.adopt(generation, prepared.generation.data.snapshot.files);
          prepared.side.close();
        }
      } else prepared.side.close();
    } else prepared?.side.close();
    entry.onIdle = null;
    const open = entry.openGate;
    entry.gate = null;
    entry.openGate = null;
    open?.();
  }
}

/** "file:line: message" from a load failure, for the log and the status page. */
function describeLoadError(err: unknown): string {
  const e = err as { message?: string; stack?: string };
  const where = /\(?([^\s()]+\.m?js:\d+(?::\d+)?)\)?/.exec(e.stack ?? "")?.[1];
  const message = e.message ?? String(err);
  return where !== undefined && !message.includes(where) ? `${where}: ${message}` : message;
}
