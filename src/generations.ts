/**
 * The primary's half of the generation protocol: the one authority on which generation of each
 * site is live. A change (watcher event, a `stat` worker's report, SIGHUP) re-reads the site; if
 * its content differs, the new generation is rolled out in three phases to every live worker:
 *
 *   prepare  every worker builds it to the side and loads every route; any error → abort, the
 *            old generation keeps serving and the error is logged with file and line;
 *   drain    every worker holds new requests for the site until the started ones have their
 *            response heads out (a stream's body goes on from the old sandbox, worker-generations);
 *   commit   every worker swaps and releases the held requests.
 *
 * No worker answers with N+1 before every worker has stopped answering with N, so once any
 * response head carried N+1, none carries N. A phase not answered in time aborts that rollout
 * (the old generation keeps serving; a drain is retried): it never costs a worker, so never
 * another site's requests. A worker whose event loop is stuck is the watchdog's to replace.
 */
import type { Log } from "./log.js";
import type { GenerationData, ToWorker } from "./messages.js";
import { changedFiles, readSnapshot, stale, type Snapshot } from "./snapshot.js";

interface SiteState {
  generation: number;
  /** What the live generation was made of. */
  snapshot: Snapshot;
  /** The site as last read from disk (live, or rejected): what the re-scan compares with. */
  seen: Snapshot;
  /** The content (hash and folder) workers last rejected: not prepared again until it changes. */
  rejected: string | null;
  /** The rollout under way; snapshot requests wait for it. */
  busy: Promise<void> | null;
  again: boolean;
  lastError: string | null;
}

export interface WorkerLink {
  id: number;
  send(m: ToWorker): void;
}

type Phase = "prepared" | "drained";

/** What a rejection is remembered by: the folder and the content hash. */
const contentKey = (s: Snapshot) => `${s.root}\0${s.hash}`;

/** A site that could not be read is not read again for this long, however many requests ask. */
const FAILED_RETRY_MS = 1000;

export class Generations {
  #sitesDir: string;
  #log: Log;
  #workers: () => WorkerLink[];
  #phaseTimeoutMs: number;
  #sites = new Map<string, SiteState>();
  #loading = new Map<string, Promise<SiteState>>();
  /** Sites whose first read failed (too big, not a folder): the error, for the status page. */
  #failed = new Map<string, { error: Error; at: number }>();
  /** Told about every successful read, and every site that could not be read (the watcher). */
  onRead: (site: string, snapshot: Snapshot) => void = () => {};
  onUnreadable: (site: string) => void = () => {};
  #waits = new Map<string, { pending: Set<number>; errors: string[]; done: () => void }>();

  constructor(sitesDir: string, log: Log, workers: () => WorkerLink[], phaseTimeoutMs: number) {
    this.#sitesDir = sitesDir;
    this.#log = log;
    this.#workers = workers;
    this.#phaseTimeoutMs = phaseTimeoutMs;
  }

  /** The live generation of a site, read on first use. Waits while a rollout is under way. */
  async current(site: string): Promise<GenerationData> {
    let state = this.#sites.get(site) ?? (await this.#load(site));
    while (state.busy !== null) {
      await state.busy;
      state = this.#sites.get(site) ?? state;
    }
    // The disk holds content every worker rejected: hand out the live files with the stamps of
    // what is on disk, so a `stat` worker stops reporting a change that was already judged.
    const snapshot =
      state.rejected !== null && state.rejected === contentKey(state.seen)
        ? { ...state.snapshot, stamps: state.seen.stamps }
        : state.snapshot;
    return { site, generation: state.generation, snapshot };
  }

  get sites(): ReadonlyMap<string, Readonly<SiteState>> {
    return this.#sites;
  }

  /** Per site, why it is not served as it is on disk: a rejected generation or a failed read. */
  loadErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [site, f] of this.#failed) out[site] = f.error.message;
    for (const [site, st] of this.#sites) if (st.lastError !== null) out[site] = st.lastError;
    return out;
  }

  #load(site: string): Promise<SiteState> {
    let p = this.#loading.get(site);
    if (p !== undefined) return p;
    const failed = this.#failed.get(site);
    if (failed !== undefined && Date.now() - failed.at < FAILED_RETRY_MS)
      return Promise.reject(failed.error);
    p = readSnapshot(this.#sitesDir, site)
      .then(
        (snapshot) => {
          const state: SiteState = {
            generation: 1,
            snapshot,
            seen: snapshot,
            rejected: null,
            busy: null,
            again: false,
            lastError: null,
          };
          this.#sites.set(site, state);
          this.#failed.delete(site);
          this.onRead(site, snapshot);
          return state;
        },
        (err: Error) => {
          this.#log.error({ site }, err.message);
          if ((err as NodeJS.ErrnoException).code === "ENOENT") this.#failed.delete(site);
          else this.#failed.set(site, { error: err, at: Date.now() });
          throw err;
        },
      )
      .finally(() => this.#loading.delete(site));
    this.#loading.set(site, p);
    return p;
  }

  /** Re-reads `site` and rolls out a new generation if its content changed. */
  refresh(site: string, why: string): Promise<void> {
    const state = this.#sites.get(site);
    if (state === undefined) {
      // Never served: read fresh on first use. A read under way may predate the change.
      const loading = this.#loading.get(site);
      const failed = this.#failed.get(site);
      if (failed !== undefined) failed.at = 0;
      return loading === undefined
        ? Promise.resolve()
        : loading.then(
            () => this.refresh(site, why),
            () => {},
          );
    }
    if (state.busy !== null) {
      state.again = true;
      return state.busy;
    }
    state.busy = (async () => {
      do {
        state.again = false;
        await this.#rollout(site, state, why).catch((err) =>
          this.#log.error({ site }, `reload failed: ${(err as Error).message}`),
        );
      } while (state.again);
      state.busy = null;
    })();
    return state.busy;
  }

  refreshAll(why: string): Promise<void> {
    return Promise.all([...this.#sites.keys()].map((s) => this.refresh(s, why))).then(() => {});
  }

  /**
   * The backstop for events the watcher missed: every site served so far is checked by stamps
   * (a stat per file and folder, no reads) and re-read only if one differs. Returns how many.
   */
  async rescan(): Promise<number> {
    let n = 0;
    for (const [site, state] of [...this.#sites]) {
      await new Promise((resolve) => setImmediate(resolve)); // IPC goes first
      if (state.busy !== null || !stale(this.#sitesDir, state.seen)) continue;
      n++;
      await this.refresh(site, "re-scan");
    }
    return n;
  }

  /** A worker answered a phase. */
  answer(
    phase: Phase,
    workerId: number,
    site: string,
    generation: number,
    error: string | null,
  ): void {
    const w = this.#waits.get(`${phase}:${site}:${generation}`);
    if (w === undefined) return;
    if (error !== null) w.errors.push(error);
    w.pending.delete(workerId);
    if (w.pending.size === 0) w.done();
  }

  /** A worker exited: it no longer holds up any phase. */
  forget(workerId: number): void {
    for (const w of this.#waits.values()) {
      w.pending.delete(workerId);
      if (w.pending.size === 0) w.done();
    }
  }

  async #rollout(site: string, state: SiteState, why: string): Promise<void> {
    let snapshot: Snapshot;
    try {
      snapshot = await readSnapshot(this.#sitesDir, site, state.seen);
    } catch (err) {
      // The state stays: generation numbers only go up, and a folder that comes back (rm -rf and
      // a rebuild, a rename over it) is compared with what was served, like any edit.
      this.onUnreadable(site);
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      state.lastError = `cannot read the site: ${(err as Error).message}`;
      this.#log.error(
        { site },
        `cannot read the site, still serving ${state.generation}: ${(err as Error).message}`,
      );
      return;
    }
    this.onRead(site, snapshot);
    state.seen = snapshot;
    const changed = changedFiles(state.snapshot, snapshot);
    if (snapshot.root !== state.snapshot.root) changed.push("(site folder moved)");
    if (changed.length === 0) {
      // Same content, new stamps (touch, chmod, a rewrite of equal bytes, a folder put back):
      // keep the generation, remember the stamps so `stat` workers stop seeing a change.
      state.snapshot = snapshot;
      state.lastError = null;
      state.rejected = null;
      return;
    }
    const content = contentKey(snapshot);
    if (content === state.rejected) return; // the same broken content: its error still stands
    const generation = state.generation + 1;
    const data: GenerationData = { site, generation, snapshot };
    const abort = () => {
      for (const w of this.#workers())
        w.send({ type: "commit", site, generation, ok: false, changed });
    };
    const prepared = await this.#phase("prepared", site, generation, { type: "prepare", data });
    if (prepared.errors.length > 0) {
      state.lastError = prepared.errors[0]!;
      // A late worker says nothing about the content: the next event or re-scan tries again.
      state.rejected = prepared.late === 0 ? content : null;
      this.#log.error(
        { site },
        `new generation ${generation} rejected, still serving ${state.generation}: ${state.lastError}`,
      );
      return abort();
    }
    const drained = await this.#phase("drained", site, generation, {
      type: "drain",
      site,
      generation,
    });
    if (drained.errors.length > 0) {
      // Committing now could let a late answer with N follow an answer with N+1: try again.
      this.#log.error(
        { site },
        `generation ${generation} not switched in: ${drained.errors[0]}; retrying`,
      );
      abort();
      setTimeout(() => void this.refresh(site, "retry"), 1000).unref();
      return;
    }
    state.generation = generation;
    state.snapshot = snapshot;
    state.lastError = null;
    state.rejected = null;
    for (const w of this.#workers())
      w.send({ type: "commit", site, generation, ok: true, changed });
    this.#log.info(`${site}: generation ${generation} live (${why}: ${changed.join(", ")})`);
  }

  /**
   * Sends one phase to every live worker and waits for all answers; returns their errors, and one
   * for each worker that did not answer in time (which is left alone: see the class comment).
   */
  #phase(
    phase: Phase,
    site: string,
    generation: number,
    msg: ToWorker,
  ): Promise<{ errors: string[]; late: number }> {
    const workers = this.#workers();
    const key = `${phase}:${site}:${generation}`;
    return new Promise((resolve) => {
      const errors: string[] = [];
      const pending = new Set(workers.map((w) => w.id));
      let late = 0;
      const timer = setTimeout(() => {
        late = pending.size;
        for (const id of pending)
          errors.push(`worker ${id} did not answer "${phase}" within ${this.#phaseTimeoutMs} ms`);
        done();
      }, this.#phaseTimeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waits.delete(key);
        resolve({ errors, late });
      };
      this.#waits.set(key, { pending, errors, done });
      if (pending.size === 0) return done();
      for (const w of workers) w.send(msg);
    });
  }
}
