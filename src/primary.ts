/**
 * The primary: runs no site code. Forks the workers, replaces the ones that die, recycles them one
 * at a time (replacement ready first, then the old one drained), rolls them on SIGHUP, drains them
 * on SIGTERM/SIGINT, owns the watcher and the generation authority, and answers the status page.
 */
import cluster, { type Worker } from "node:cluster";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { peekBusy } from "./busy-peek.js";
import type { Config } from "./config.js";
import { restrictSocket, removeSocket, socketInode, SOCKET_MODE } from "./fastcgi/address.js";
import { describeAddress } from "./listen-address.js";
import { Generations, type WorkerLink } from "./generations.js";
import type { Log } from "./log.js";
import { isMessage, type ToPrimary, type ToWorker } from "./messages.js";
import type { StatusSnapshot } from "./status.js";
import type { WorkerStats } from "./stats.js";
import { rootInode } from "./snapshot.js";
import { TemplateImages } from "./template-images.js";
import { SitesWatcher } from "./watcher.js";
import { workerV8Flags } from "./worker-flags.js";
import { workerMallocEnv } from "./worker-malloc.js";

interface Slot {
  worker: Worker;
  id: number;
  ready: boolean;
  /** Being drained: takes no part in generation rollouts, is not recycled again. */
  retiring: boolean;
  /** Forked to replace a recycled worker; if it fails to start, the old one stays. */
  replacement?: boolean;
  lastBeat: number;
  /** Where the worker's busy record is, once the primary has read it there (busy-peek.ts). */
  busyAt?: { address: number; magic: string };
}

export class Primary {
  readonly #config: Config;
  readonly #log: Log;
  readonly #slots = new Map<number, Slot>();
  readonly #recycles: { at: number; pid: number; reason: string }[] = [];
  readonly #startedAt = Date.now();
  readonly generations: Generations;
  #nextId = 1;
  /** Consecutive workers that died before ready since the server started serving. */
  #startFailures = 0;
  #stopping = false;
  #announced = false;
  #port: number | null = 0;
  /** While the FastCGI unix socket is being made: the umask to restore once it exists. */
  #umask: number | null = null;
  /** The FastCGI socket file we made, removed at exit if it is still ours. */
  #socketInode: number | null = null;
  #watcher: SitesWatcher | null = null;
  /** Recycles and rolls run one at a time, so capacity never drops by more than one worker. */
  #chain: Promise<void> = Promise.resolve();
  #watchdogEvents: NonNullable<StatusSnapshot["watchdog"]> = [];
  /** This server's private folder: the watchdog thread's blame files, the template image. */
  readonly #runDir = mkdtempSync(join(tmpdir(), "sitebox-"));
  readonly #images = new TemplateImages(this.#runDir);
  #statsWaits = new Map<number, { want: number; got: WorkerStats[]; done: () => void }>();
  #nextStats = 1;

  constructor(config: Config, log: Log) {
    this.#config = config;
    this.#log = log;
    this.generations = new Generations(
      config.sitesDir,
      log,
      () => this.#links(),
      Math.max(5000, config.wallTimeoutMs + 1000),
    );
  }

  start(): void {
    cluster.setupPrimary({
      exec: fileURLToPath(new URL("./worker.js", import.meta.url)),
      // Workers collect right after dropping sandboxes (sites.ts evictIdle), so RSS falls then.
      execArgv: [...process.execArgv, "--expose-gc", ...workerV8Flags()],
    });
    // The primary binds the listening sockets for its workers (node:cluster). A FastCGI unix
    // socket is born owner/group-only, not world-connectable even for the moment before chmod.
    if (this.#config.fastcgi?.kind === "unix") {
      const old = process.umask(0o177);
      process.umask(old | (0o777 & ~SOCKET_MODE));
      this.#umask = old;
    }
    // Built beside the workers' start; each asks for it once it can take the answer.
    void this.#images.latest().then((state) => {
      if ("error" in state) this.#log.error({}, `${state.error}; each worker builds its own`);
    });
    for (let i = 0; i < this.#config.workers; i++) this.#fork();
    if (this.#config.cache === "watch") this.#watch();
    process.on("SIGTERM", () => this.stop("SIGTERM"));
    process.on("SIGINT", () => this.stop("SIGINT"));
    process.on("SIGHUP", () => void this.roll("SIGHUP"));
    process.on("SIGUSR1", () => this.#broadcast({ type: "reopen-logs" }));
    setInterval(() => this.#watchdog(), 250).unref();
  }

  /** `watch`: file events, plus the periodic check of every watch and every served site. */
  #watch(): void {
    const watcher = new SitesWatcher(this.#config.sitesDir, this.#config.debounceMs, this.#log, {
      onSite: (site) => void this.generations.refresh(site, "file change"),
      onSitesList: () => this.#broadcast({ type: "sites-changed" }),
    });
    this.#watcher = watcher;
    this.generations.onRead = (site, snap) => watcher.track(site, snap.root, rootInode(snap));
    this.generations.onUnreadable = (site) => watcher.untrack(site);
    if (this.#config.rescanMs === 0) return;
    const tick = async () => {
      try {
        await watcher.verify();
        await this.generations.rescan();
      } catch (err) {
        this.#log.error({}, `re-scan: ${(err as Error).message}`);
      }
      if (!this.#stopping) setTimeout(tick, this.#config.rescanMs).unref();
    };
    setTimeout(tick, this.#config.rescanMs).unref();
  }

  #links(): WorkerLink[] {
    return [...this.#slots.values()]
      .filter((s) => s.ready && !s.retiring && s.worker.isConnected())
      .map((s) => ({ id: s.id, send: (m) => s.worker.send(m) }));
  }

  #broadcast(m: ToWorker): void {
    for (const s of this.#slots.values()) if (s.worker.isConnected()) s.worker.send(m);
  }

  #fork(): Slot {
    const id = this.#nextId++;
    const worker = cluster.fork({
      SITEBOX_CONFIG: JSON.stringify(this.#config),
      SITEBOX_WORKER_ID: String(id),
      SITEBOX_BLAME_DIR: this.#runDir,
      ...workerMallocEnv(),
    });
    const slot: Slot = { worker, id, ready: false, retiring: false, lastBeat: Date.now() };
    this.#slots.set(id, slot);
    worker.on("message", (msg: unknown) => {
      if (isMessage<ToPrimary>(msg)) this.#onMessage(slot, msg);
    });
    worker.on("exit", (code, signal) => this.#onExit(slot, code, signal));
    return slot;
  }

  #onMessage(slot: Slot, msg: ToPrimary): void {
    slot.lastBeat = Date.now();
    switch (msg.type) {
      case "ready":
        slot.ready = true;
        this.#startFailures = 0;
        if (this.#stopping) {
          void this.#retire(slot); // forked by a recycle that the stop overtook
          break;
        }
        this.#port = msg.port;
        void this.#socketReady().then(() => this.#announce());
        break;
      case "snapshot-request":
        this.generations.current(msg.site).then(
          (data) =>
            slot.worker.send({ type: "snapshot-reply", reqId: msg.reqId, data, error: null }),
          (err: Error) => {
            // Logged by generations.ts once per read, not once per request that asked.
            if (slot.worker.isConnected())
              slot.worker.send({
                type: "snapshot-reply",
                reqId: msg.reqId,
                data: null,
                error: err.message,
              });
          },
        );
        break;
      case "stale":
        void this.generations
          .refresh(msg.site, "stat")
          .then(() => this.generations.current(msg.site))
          .then(
            (data) => data,
            () => null,
          )
          .then((data) => {
            if (slot.worker.isConnected())
              slot.worker.send({ type: "stale-reply", reqId: msg.reqId, data });
          });
        break;
      case "prepared":
        this.generations.answer("prepared", slot.id, msg.site, msg.generation, msg.error);
        break;
      case "drained":
        this.generations.answer("drained", slot.id, msg.site, msg.generation, null);
        break;
      case "heartbeat":
        break;
      case "stats": {
        const w = this.#statsWaits.get(msg.reqId);
        if (w !== undefined) {
          w.got.push(msg.stats);
          if (w.got.length >= w.want) w.done();
        }
        break;
      }
      case "status-request":
        void this.status().then((snapshot) => {
          if (slot.worker.isConnected())
            slot.worker.send({ type: "status-reply", reqId: msg.reqId, snapshot });
        });
        break;
      case "recycle-me":
        this.recycle(slot, msg.reason);
        break;
      case "template-image-request":
        void this.#images.current().then((state) => {
          if (slot.worker.isConnected())
            slot.worker.send({ type: "template-image-reply", reqId: msg.reqId, ...state });
        });
        break;
      case "busy-at": {
        const pid = slot.worker.process.pid ?? 0;
        if (peekBusy(pid, msg.address, msg.magic) === "unreadable")
          slot.worker.send({ type: "watchdog-thread" });
        else slot.busyAt = { address: msg.address, magic: msg.magic };
        break;
      }
    }
  }

  /** Once a worker listens, the FastCGI unix socket exists: its mode, and the umask back. */
  async #socketReady(): Promise<void> {
    const at = this.#config.fastcgi;
    if (at?.kind !== "unix" || this.#socketInode !== null) return;
    if (this.#umask !== null) process.umask(this.#umask);
    this.#umask = null;
    await restrictSocket(at.path).catch((err: Error) => this.#log.error({}, err.message));
    this.#socketInode = socketInode(at.path);
  }

  #announce(): void {
    if (this.#announced || [...this.#slots.values()].some((s) => !s.ready)) return;
    this.#announced = true;
    const c = this.#config;
    const fcgi = c.fastcgi === null ? null : `fastcgi ${describeAddress(c.fastcgi)}`;
    const on =
      this.#port === null
        ? fcgi!
        : `http://${describeAddress({ kind: "tcp", host: c.host, port: this.#port })}`;
    const also = this.#port !== null && fcgi !== null ? `${fcgi}, ` : "";
    this.#log.info(
      `serving ${c.sitesDir} on ${on} ` +
        `(${also}${c.workers} workers, cache ${c.cache}, pid ${process.pid})`,
    );
  }

  #onExit(slot: Slot, code: number | null, signal: string | null): void {
    this.#slots.delete(slot.id);
    this.generations.forget(slot.id);
    if (this.#stopping) {
      if (this.#slots.size === 0) this.#exit(0);
      return;
    }
    if (slot.retiring) return;
    if (!slot.ready && !this.#announced) {
      // Dying before the server ever served is a configuration or environment problem:
      // respawning would loop.
      this.#log.error(
        { worker: slot.id },
        `worker exited during start-up (${signal ?? `code ${code}`}); see the error above. Stopping.`,
      );
      this.#stopping = true;
      for (const s of this.#slots.values()) s.worker.kill("SIGKILL");
      this.#exit(1);
      return;
    }
    if (!slot.ready) {
      // Later, the running workers keep serving: a recycle keeps the old worker (recycle()),
      // a crash replacement is retried with backoff instead of in a tight loop.
      this.#log.error(
        { worker: slot.id },
        `a new worker failed to start (${signal ?? `code ${code}`})`,
      );
      if (!slot.replacement) {
        this.#startFailures++;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(this.#startFailures, 6));
        setTimeout(() => this.#stopping || this.#fork(), delay).unref();
      }
      return;
    }
    const reason = signal ?? `exit code ${code}`;
    this.#log.error(
      { worker: slot.id },
      `worker ${slot.worker.process.pid} died (${reason}); replacing it`,
    );
    this.#recycles.push({
      at: Date.now(),
      pid: slot.worker.process.pid ?? 0,
      reason: `died: ${reason}`,
    });
    this.#fork();
  }

  #exit(code: number): void {
    void this.#watcher?.close();
    const at = this.#config.fastcgi;
    if (at?.kind === "unix" && this.#socketInode !== null) removeSocket(at.path, this.#socketInode);
    rmSync(this.#runDir, { recursive: true, force: true });
    process.exitCode = code;
    setImmediate(() => process.exit(code));
  }

  #kill(slot: Slot, reason: string): void {
    this.#log.error({ worker: slot.id }, `killing worker ${slot.worker.process.pid}: ${reason}`);
    slot.worker.process.kill("SIGKILL");
  }

  /** Replaces one worker: the new one is ready before the old one stops taking connections. */
  recycle(slot: Slot, reason: string): Promise<void> {
    if (slot.retiring || this.#stopping) return this.#chain;
    slot.retiring = true;
    this.#chain = this.#chain.then(async () => {
      if (this.#stopping || !this.#slots.has(slot.id)) return;
      this.#recycles.push({ at: Date.now(), pid: slot.worker.process.pid ?? 0, reason });
      this.#log.info(`recycling worker ${slot.worker.process.pid}: ${reason}`);
      const next = this.#fork();
      next.replacement = true;
      await new Promise<void>((resolve) => {
        const check = () =>
          next.ready || !this.#slots.has(next.id) ? resolve() : setTimeout(check, 10);
        check();
      });
      if (!next.ready) {
        slot.retiring = false; // no replacement: keep serving with the old worker
        return;
      }
      await this.#retire(slot);
    });
    return this.#chain;
  }

  /** Drains a worker and waits for it to exit. */
  #retire(slot: Slot): Promise<void> {
    slot.retiring = true;
    return new Promise((resolve) => {
      if (!this.#slots.has(slot.id)) return resolve();
      slot.worker.once("exit", () => resolve());
      slot.worker.send({ type: "drain-worker" });
      setTimeout(
        () => slot.worker.process.kill("SIGKILL"),
        this.#config.wallTimeoutMs + 5000,
      ).unref();
    });
  }

  /** SIGHUP: pick up every site's files, then replace every worker, one at a time. */
  async roll(why: string): Promise<void> {
    this.#log.info(`${why}: rolling restart`);
    await this.generations.refreshAll(why);
    // New workers run the code on disk now: if it changed, its template image first.
    const image = await this.#images.latest();
    if ("error" in image) this.#log.error({}, image.error);
    for (const slot of [...this.#slots.values()]) await this.recycle(slot, why);
  }

  stop(why: string): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#log.info(`${why}: draining ${this.#slots.size} workers`);
    if (this.#slots.size === 0) return this.#exit(0);
    // /.sitebox/health turns "draining" first, so a balancer stops sending before we stop taking.
    this.#broadcast({ type: "health-draining" });
    if (this.#config.drainDelayMs > 0)
      setTimeout(() => this.#retireAll(), this.#config.drainDelayMs);
    else this.#retireAll();
  }

  #retireAll(): void {
    for (const slot of this.#slots.values()) {
      // A worker still starting has no requests, and may not listen for messages yet.
      if (slot.ready) void this.#retire(slot);
      else slot.worker.process.kill("SIGTERM");
    }
  }

  #watchdog(): void {
    const now = Date.now();
    for (const slot of this.#slots.values()) {
      if (!slot.ready || now - slot.lastBeat < this.#config.watchdogMs) continue;
      const blockedMs = now - slot.lastBeat;
      slot.lastBeat = now;
      const pid = slot.worker.process.pid ?? 0;
      const blame = this.#blame(slot, pid, now);
      const where = blame
        ? ` in site=${blame.site}${blame.route ? ` route=${blame.route}` : ""}`
        : "";
      this.#watchdogEvents.push({
        at: now,
        pid,
        site: blame?.site ?? null,
        route: blame?.route ?? null,
        blockedMs,
      });
      this.#recycles.push({ at: now, pid, reason: `event loop blocked${where} (watchdog)` });
      this.#kill(slot, `event loop blocked for ${blockedMs} ms${where}`);
    }
  }

  /** The site code that blocked the worker, if it has been running for half the bound or more. */
  #blame(slot: Slot, pid: number, now: number): { site: string; route: string | null } | null {
    if (slot.busyAt === undefined) return this.#readBlame(pid);
    const busy = peekBusy(pid, slot.busyAt.address, slot.busyAt.magic);
    if (busy === null || busy === "unreadable") return null;
    if (now - busy.since < this.#config.watchdogMs / 2) return null;
    return { site: busy.site, route: busy.route };
  }

  /** What the worker's watchdog thread wrote about the site code that blocked it. */
  #readBlame(pid: number): { site: string; route: string | null } | null {
    const file = join(this.#runDir, `${pid}.json`);
    try {
      const blame = JSON.parse(readFileSync(file, "utf8"));
      rmSync(file, { force: true });
      return blame;
    } catch {
      return null;
    }
  }

  /** Every live worker's figures, gathered now. */
  async status(): Promise<StatusSnapshot> {
    const live = [...this.#slots.values()].filter((s) => s.ready && s.worker.isConnected());
    const reqId = this.#nextStats++;
    const got: WorkerStats[] = [];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, 1000);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#statsWaits.set(reqId, { want: live.length, got, done });
      if (live.length === 0) done();
      for (const s of live) s.worker.send({ type: "stats-request", reqId });
    });
    this.#statsWaits.delete(reqId);
    const loadErrors = this.generations.loadErrors();
    const generations: Record<string, number> = {};
    for (const [site, st] of this.generations.sites) generations[site] = st.generation;
    return {
      startedAt: this.#startedAt,
      now: Date.now(),
      cache: this.#config.cache,
      sitesDir: this.#config.sitesDir,
      workers: got.sort((a, b) => a.id - b.id),
      recycles: this.#recycles.slice(-50),
      loadErrors,
      generations,
      watchdog: this.#watchdogEvents.slice(-50),
      primary: { pid: process.pid, rssBytes: process.memoryUsage.rss() },
    };
  }
}
