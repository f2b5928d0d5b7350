/**
 * One site's sandbox: a QuickJS runtime and context in a wasm instance of its own, holding the
 * site's evaluated modules (the module cache, and module-level state). Requests cross into it once
 * each: a JSON record in, a response record out through a host function.
 *
 * A sandbox that hits a limit is abandoned, never disposed: dropping the last reference frees the
 * whole wasm instance, and quickjs-emscripten's dispose after an out-of-memory error can abort.
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from "quickjs-emscripten";
import { enterSiteCode, leaveSiteCode } from "../busy.js";
import { SiteboxError } from "../errors.js";
import { foldRepeatedLines, type Log } from "../log.js";
import type { SiteSettings } from "../site-config.js";
import type { HostHooks } from "./host.js";
import { RunLimits } from "./limits.js";
import { encodingsReady } from "./host/encoding.js";
import type { AsyncOps, Outcome } from "./host/async-ops.js";
import type { HostIO } from "./host/io.js";
import { resolveSpecifier, VERSION_SUFFIX } from "./loader.js";
import { PendingRequests, type Pending } from "./pending.js";
import type { IncomingRecord, ResponseSink } from "./records.js";
import { RequestWork } from "./request-work.js";
import { boot, STACK_BYTES, template, templateError, type Template } from "./boot.js";
import { capPages, newInstance, type QuickJSInstance } from "./wasm.js";
import { checkResponseMeta, parseOutboxRecord, type ResponseMeta } from "./response-meta.js";
import { turn, type Costs } from "./turn.js";

export type { IncomingRecord, ResponseSink } from "./records.js";

/** A request dispatched in this turn that has not run yet. */
interface Queued {
  readonly req: IncomingRecord;
  readonly sink: ResponseSink;
}

export interface SandboxInit {
  site: string;
  generation: number;
  files: Readonly<Record<string, string>>;
  settings: SiteSettings;
  worker: number;
  log: Log;
  /** `legacy` policy: a module file as it is on disk now. */
  readFresh?: (file: string) => string | undefined;
}

/** Prefix of a module name that stands for a refused import; no file name starts with it. */
const REFUSED = "\u0001refused:";

let templateWarned = false;

export class Sandbox implements HostHooks {
  readonly site: string;
  generation: number;
  readonly settings: SiteSettings;
  /** Modules this sandbox has evaluated: its part of the site's import graph. */
  readonly loaded = new Set<string>();
  readonly createdAt = Date.now();
  lastUsed = Date.now();
  requests = 0;
  /** Booted from a copy of the worker's template (boot.ts), not by evaluating the prelude. */
  readonly fromTemplate: boolean;
  /** Set once the sandbox is abandoned; it then answers nothing. */
  deadReason: string | null = null;
  /** Called once when the sandbox is abandoned at a limit, with the CPU ms of the last run. */
  onDead: (reason: string, costMs: number) => void = () => {};
  /** Called on each response a handler produced (the site's code ran to an answer). */
  onAnswer: () => void = () => {};

  #files: Readonly<Record<string, string>>;
  #readFresh: SandboxInit["readFresh"];
  #runtime: QuickJSRuntime;
  #ctx: QuickJSContext;
  #io: HostIO;
  #ops: AsyncOps;
  #entry: {
    take: QuickJSHandle;
    dispatch: QuickJSHandle;
    fire: QuickJSHandle;
    load: QuickJSHandle;
    cancel: QuickJSHandle;
    pull: QuickJSHandle;
    settle: QuickJSHandle;
    muted: QuickJSHandle;
  };
  #log: Log;
  #worker: number;
  #limits: RunLimits;
  #dispatching: string | undefined;
  #nextId = 1;
  #pending: PendingRequests;
  /** What each request owns after its dispatch: timers, waitUntil, its share of the log. */
  #work: RequestWork;
  #retiring = false;
  /**
   * Requests waiting for this turn's run (turn.ts), in order. An array, not a Map by sink: a Map
   * churned per request keeps requests alive past scavenges (id-table.ts says how).
   */
  #queued: Queued[] = [];
  /** Outboxes of answers that ran during this turn, sent when it releases them. */
  #held: string[] = [];
  /** How long each route's dispatches take, for the turn's hold rule. */
  #costs: Costs = new Map();
  /** The request running now spent its log budget: the prelude stopped sending its lines. */
  #consoleMuted = false;
  #loads = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  /** Modules compiled before QuickJS asked for them: true, or the compile error to throw. */
  #compiled = new Map<string, true | QuickJSHandle>();

  private constructor(init: SandboxInit, instance: QuickJSInstance, template: Template | null) {
    this.site = init.site;
    this.generation = init.generation;
    this.settings = init.settings;
    this.#files = init.files;
    this.#readFresh = init.readFresh;
    this.#log = init.log;
    this.#pending = new PendingRequests(init.settings.limits.wallTimeoutMs, (id, p) =>
      this.#wallTimeout(id, p),
    );
    this.#worker = init.worker;
    this.#limits = new RunLimits(instance, init.settings.limits);
    this.#work = new RequestWork({
      runTimers: (owner, due, forget) => this.#runTimers(owner, due, forget),
      note: (route, message) => this.#log.error(this.#tags(route), message),
      budgetMs: init.settings.limits.timeoutMs,
      idle: () => {
        if (this.#retiring) setImmediate(() => this.#closeIfIdle());
      },
    });
    // A failing normalizer loses its message in quickjs-emscripten 0.32 (the loader is still
    // called, with garbage), so a refusal travels as a name the loader turns into the error.
    const booted = boot(
      instance,
      {
        // No QuickJS memory limit: site code can make it throw at will, and it undercounts. The
        // limit is the wasm heap's own size (wasm.ts), checked at each interrupt poll.
        memoryLimitBytes: -1,
        stackBytes: STACK_BYTES,
        interrupt: () => this.#limits.interrupt(),
        load: (name) => {
          const early = this.#compiled.get(name);
          if (early !== undefined && early !== true) {
            this.#compiled.delete(name);
            return { error: early as unknown as Error }; // thrown as it is: QuickJS's own error
          }
          if (name.startsWith(REFUSED)) return { error: new Error(name.slice(REFUSED.length)) };
          const source = this.#source(name);
          if (source === undefined)
            return { error: new Error(`cannot read module ${this.#fileOf(name)}`) };
          this.loaded.add(this.#fileOf(name));
          return source;
        },
        normalize: (base, requested) => {
          const r = resolveSpecifier(base, requested, this.#files, this.#readFresh !== undefined);
          if (!r.ok) return REFUSED + r.message;
          this.#compileEarly(r.name);
          return r.name;
        },
        hooks: this,
      },
      template,
    );
    this.fromTemplate = booted.copied;
    this.#runtime = booted.runtime;
    const ctx = (this.#ctx = booted.ctx);
    ({ io: this.#io, ops: this.#ops } = booted.host);
    this.#ops.onStart = (ticket) => this.#work.opStarted(ticket);
    const entry = ctx.getProp(booted.keeper, "e");
    booted.keeper.dispose();
    const get = (name: string) => ctx.getProp(entry, name);
    const intrinsics = get("intrinsics");
    this.#io.bind(intrinsics);
    intrinsics.dispose();
    this.#entry = {
      take: get("take"),
      dispatch: get("dispatch"),
      fire: get("fire"),
      load: get("load"),
      cancel: get("cancel"),
      pull: get("pull"),
      settle: get("settle"),
      muted: get("muted"),
    };
    const init_ = get("init");
    const env = this.#io.string(JSON.stringify(init.settings.vars));
    this.#call(init_, false, env);
    env.dispose();
    init_.dispose();
    entry.dispose();
  }

  /** A module's source text: from the snapshot, or from disk for a `legacy` re-read. */
  /**
   * Sources come from the generation's snapshot; only `legacy` (readFresh) re-reads a "?v=N"
   * name from disk, contained to the site folder. Elsewhere "x.js?v=2" is a name no file has.
   */
  #source(name: string): string | undefined {
    if (name.startsWith(REFUSED)) return undefined;
    const file = this.#fileOf(name);
    return file !== name ? this.#readFresh!(file) : this.#files[name];
  }

  /** The site file a module name stands for. */
  #fileOf(name: string): string {
    return this.#readFresh !== undefined && VERSION_SUFFIX.test(name)
      ? name.replace(VERSION_SUFFIX, "")
      : name;
  }

  /**
   * The loader hands QuickJS a C string, so a source with a raw NUL (in a string literal, say)
   * would be cut there. Such a module is compiled here instead, by length, under its own name:
   * QuickJS finds it among the loaded modules and never calls the loader for it.
   */
  #compileEarly(name: string): void {
    if (this.#compiled.has(name)) return;
    const source = this.#source(name);
    if (source === undefined || source.indexOf("\0") === -1) return;
    const r = this.#ctx.evalCode(source, name, { type: "module", compileOnly: true });
    if (r.error) this.#compiled.set(name, r.error);
    else {
      r.value.dispose();
      this.#compiled.set(name, true);
      this.loaded.add(this.#fileOf(name));
    }
  }

  static async create(init: SandboxInit): Promise<Sandbox> {
    const { memoryMb } = init.settings.limits;
    const [tpl] = await Promise.all([template(), encodingsReady()]);
    if (tpl === null && !templateWarned) {
      templateWarned = true;
      init.log.error({ worker: init.worker }, `no sandbox template: ${templateError}`);
    }
    const fits = tpl !== null && tpl.pages <= capPages(memoryMb);
    const instance = await newInstance(memoryMb, fits ? tpl.pages : undefined);
    return new Sandbox(init, instance, fits ? tpl : null);
  }

  /** Carries the sandbox into a generation that changed none of the files it loaded. */
  adopt(generation: number, files: Readonly<Record<string, string>>): void {
    this.generation = generation;
    this.#files = files;
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  /** Requests and loads whose work is not over: unanswered, or answered with waitUntil pending. */
  get scopes(): number {
    return this.#work.size;
  }

  /** Host operations (crypto.subtle) still to settle: work too, so not idle. */
  get pendingOperations(): number {
    return this.#ops.size;
  }

  /**
   * Bytes the interpreter has allocated (QuickJS's own count): what the site's code and state
   * use. The wasm memory itself starts at 16 MiB reserved, mostly never touched, so its size
   * says little. For the status page only: it walks the heap.
   */
  get memoryBytes(): number {
    if (this.deadReason !== null) return 0;
    try {
      const usage = this.#runtime.computeMemoryUsage();
      const used = (this.#ctx.dump(usage) as { memory_used_size?: number }).memory_used_size;
      usage.dispose();
      return used ?? 0;
    } catch {
      return 0;
    }
  }

  /**
   * Runs one request, later in this turn of the event loop with the others that arrived in it
   * (turn.ts). The answer (or failure) arrives on `sink`, exactly once.
   */
  dispatch(req: IncomingRecord, sink: ResponseSink): void {
    if (this.deadReason !== null) {
      sink.fail(new SiteboxError("ERR_UNAVAILABLE", "sandbox abandoned"));
      return;
    }
    const queued: Queued = { req, sink };
    this.#queued.push(queued);
    turn.queue(this.#costs, req.route, () => {
      const at = this.#queued.indexOf(queued); // 0 but for a cancel out of order
      if (at === -1) return; // cancelled, or the sandbox closed
      this.#queued.splice(at, 1);
      try {
        this.#dispatchNow(req, sink);
      } catch (err) {
        sink.fail(new SiteboxError("ERR_HANDLER", (err as Error).message));
      }
    });
  }

  #dispatchNow(req: IncomingRecord, sink: ResponseSink): void {
    if (this.deadReason !== null) {
      sink.fail(new SiteboxError("ERR_UNAVAILABLE", "sandbox abandoned"));
      return;
    }
    const id = this.#nextId++;
    this.requests++;
    this.lastUsed = Date.now();
    this.#pending.add(id, sink, req.route);
    this.#work.open(id, req.route);
    // One string, fields split at "\n", which neither a URL nor a header can contain after
    // Node's parser: JSON would cost more than the rest of the crossing in QuickJS.
    const meta = this.#io.string(
      `${id}\n${req.method}\n${req.url}\n${req.route}` +
        (req.headers.length === 0 ? "" : "\n" + req.headers.join("\n")),
    );
    this.#dispatching = req.route;
    if (req.body !== null && req.body.byteLength > 0) {
      const body = this.#io.buffer(req.body);
      this.#call(this.#entry.dispatch, true, meta, body);
      body.dispose();
    } else this.#call(this.#entry.dispatch, true, meta);
    this.#dispatching = undefined;
    meta.dispose();
  }

  /** Evaluates a module (and what it imports) without a request: preload and validation. */
  load(route: string): Promise<void> {
    if (this.deadReason !== null) return Promise.reject(new Error(this.deadReason));
    return new Promise((resolve, reject) => {
      const token = this.#nextId++;
      this.#loads.set(token, { resolve, reject });
      this.#work.open(token, route);
      const name = this.#io.string(route);
      const tok = this.#ctx.newNumber(token);
      this.#call(this.#entry.load, false, name, tok);
      name.dispose();
      tok.dispose();
    });
  }

  /** The client went away: abort the request's signal, stop a streamed body. */
  cancel(sinkOwner: ResponseSink): void {
    const at = this.#queued.findIndex((q) => q.sink === sinkOwner);
    if (at !== -1) {
      this.#queued.splice(at, 1);
      return;
    }
    for (const [id, p] of this.#pending.entries()) {
      if (p.sink !== sinkOwner) continue;
      this.#pending.take(id);
      this.#cancelInside(id);
      this.#answered(id);
    }
  }

  /**
   * A retired generation: ends every streamed body cleanly (the client gets a complete response,
   * the stream's `cancel` runs inside). Returns how many were ended.
   */
  endStreams(): number {
    let n = 0;
    for (const [id, p] of this.#pending.entries()) {
      if (!p.streaming) continue;
      this.#pending.take(id);
      this.#cancelInside(id);
      p.sink.end();
      this.#answered(id);
      n++;
    }
    return n;
  }

  /** Dropped at a limit: like `close`, and the owner is told (it counts limit kills). */
  abandon(err: SiteboxError): void {
    if (this.deadReason !== null) return;
    this.close(err);
    this.onDead(err.message, this.#limits.runCostMs());
  }

  /**
   * Stops everything now: pending requests fail with `err`, timers and work after the response
   * end, and nothing on the host refers to the sandbox any more, so the GC frees the instance.
   */
  close(err = new SiteboxError("ERR_UNAVAILABLE", "sandbox closed")): void {
    if (this.deadReason !== null) return;
    this.release(); // what already ran to an answer is sent, not failed
    this.deadReason = err.message;
    const queued = this.#queued;
    this.#queued = [];
    for (const q of queued) q.sink.fail(err);
    this.#pending.stop();
    this.#ops.close();
    const background = this.#work.stop();
    if (background > 0 && err.code === "ERR_UNAVAILABLE")
      this.#log.error(
        this.#tags(),
        `background work of ${background} requests stopped: ${err.message}`,
      );
    for (const [id, p] of this.#pending.entries()) {
      this.#pending.take(id);
      p.sink.fail(err);
    }
    for (const l of this.#loads.values()) l.reject(err);
    this.#loads.clear();
  }

  /** Sends the answers held during a turn (turn.ts calls this). */
  release(): void {
    const held = this.#held;
    if (held.length === 0) return;
    this.#held = [];
    for (const out of held) {
      if (this.deadReason !== null) return; // closed: its pending requests were failed
      try {
        this.#deliver(out);
      } catch (err) {
        // A host fault, never expected: fail every request of this sandbox rather than lose one.
        this.#log.error(this.#tags(), `answer not delivered: ${(err as Error).message}`);
        this.abandon(new SiteboxError("ERR_HANDLER", "answer not delivered"));
      }
    }
  }

  /** No longer current (replaced, or `--cache none`): close once its last scope ends. */
  retire(): void {
    this.#retiring = true;
    // A request about to be dispatched to it (none) opens its scope before this runs.
    setImmediate(() => this.#closeIfIdle());
  }

  #closeIfIdle(): void {
    if (
      this.#retiring &&
      this.#work.size === 0 &&
      this.#pending.size === 0 &&
      this.#queued.length === 0
    )
      this.close();
  }

  /**
   * The one way into the interpreter: a CPU deadline, then the job queue, then limit checks.
   * With `collect`, `fn` returns the outbox of finished text responses (90-dispatch.js), which is
   * read once more after the job queue ran, and delivered after leaving the interpreter.
   */
  #call(fn: QuickJSHandle, collect: boolean, ...args: QuickJSHandle[]): void {
    if (this.deadReason !== null) return;
    let out = "";
    this.#limits.start();
    enterSiteCode(this.site, this.#activeRoute());
    try {
      const result = this.#io.call(fn, args);
      if (result.error) this.#internalError(result.error);
      else {
        if (collect) out = this.#io.read(result.value);
        result.value.dispose();
      }
      // hasPendingJob is one cheap FFI call; a sync handler leaves no jobs to run.
      let ranJobs = false;
      while (this.#runtime.hasPendingJob()) {
        ranJobs = true;
        const jobs = this.#runtime.executePendingJobs(-1);
        if (jobs.error) {
          this.#internalError(jobs.error);
          if (this.#limits.hit()) break;
          continue;
        }
        break;
      }
      if (ranJobs && !this.#limits.hit()) {
        const taken = this.#io.call(this.#entry.take);
        if (taken.error) this.#internalError(taken.error);
        else {
          out += this.#io.read(taken.value);
          taken.value.dispose();
        }
      }
      if (this.#consoleMuted && !this.#limits.hit()) this.#countMuted();
    } catch (err) {
      // A wasm trap (abort, unreachable, out-of-bounds) ends this interpreter for good.
      this.#log.error(this.#tags(), `interpreter aborted: ${(err as Error).message}`);
      this.abandon(new SiteboxError("ERR_MEMORY", "sandbox interpreter aborted"));
      return;
    } finally {
      this.#limits.end();
      leaveSiteCode();
    }
    if (out !== "") {
      // During a turn the answers wait for the turn's other dispatches (turn.ts).
      if (!turn.holding) this.#deliver(out);
      else {
        if (this.#held.length === 0) turn.held(this);
        this.#held.push(out);
      }
    }
    // A native call allocates without polling the interrupt handler: look at the heap once more.
    if (this.#limits.hit()) this.abandon(this.#limits.error());
  }

  /** An error that escaped the prelude's own handling (it catches handler errors itself). */
  #internalError(handle: QuickJSHandle): void {
    let text: string;
    try {
      const e = (
        this.#ctx.typeof(handle) === "string" ? this.#io.read(handle) : this.#ctx.dump(handle)
      ) as { message?: string; stack?: string } | string;
      text =
        typeof e === "object" && e !== null ? `${e.message ?? ""}\n${e.stack ?? ""}` : String(e);
    } catch {
      text = "unprintable error";
    }
    handle.dispose();
    if (!this.#limits.hit()) this.#log.error(this.#tags(this.#activeRoute()), text.trim());
  }

  #tags(route?: string) {
    return { site: this.site, route, worker: this.#worker };
  }

  #wallTimeout(id: number, p: Pending): void {
    this.#log.error(
      this.#tags(p.route),
      `no response within ${this.settings.limits.wallTimeoutMs} ms`,
    );
    p.sink.fail(new SiteboxError("ERR_WALL_TIMEOUT", "wall-clock limit passed"));
    // The server gave up: abort request.signal, and let the sandbox forget the request.
    this.#cancelInside(id);
    this.#answered(id);
  }

  #cancelInside(id: number): void {
    if (this.deadReason !== null) return;
    this.#work.owner = id;
    const h = this.#ctx.newNumber(id);
    this.#call(this.#entry.cancel, true, h);
    h.dispose();
  }

  /** The request's answer is out (or failed, or the client left): its work may end now. */
  #answered(id: number): void {
    this.lastUsed = Date.now(); // idle (for --site-idle) from the last answer, not the request
    this.#work.answered(id);
  }

  /** One wake of the timer driver for `owner`: runs its due timers; false once dead. */
  #runTimers(owner: number, due: number[], forget: number[]): boolean {
    if (this.deadReason !== null) return false;
    this.#work.owner = owner;
    const d = this.#io.string(due.join(","));
    const f = this.#io.string(forget.join(","));
    this.#call(this.#entry.fire, true, d, f);
    d.dispose();
    f.dispose();
    return this.deadReason === null;
  }

  // ---- HostHooks: called from inside the interpreter ----

  /** Finished text responses from the outbox (see parseOutboxRecord). */
  #deliver(out: string): void {
    for (let pos = 0; pos < out.length;) {
      const r = parseOutboxRecord(out, pos);
      if (typeof r === "string") {
        // The framing is the prelude's own; if it breaks, nothing after it can be trusted.
        this.#log.error(this.#tags(), `bad response record: ${r}`);
        this.abandon(new SiteboxError("ERR_HANDLER", r));
        return;
      }
      pos = r.bodyStart + r.bodyLength;
      if (r.error !== null) this.fail(r.meta.id, "type", r.error, "");
      else this.#answer(r.meta, out.slice(r.bodyStart, pos));
    }
  }

  /** False when nobody wants the response any more (failed, cancelled): a stream is dropped. */
  respond(metaText: string, body: string | Uint8Array | undefined): boolean {
    const checked = checkResponseMeta(metaText);
    if (typeof checked === "string") {
      const id = Number(/"i":(\d+)/.exec(metaText)?.[1]);
      this.fail(id, "type", checked, "");
      return false;
    }
    return this.#answer(checked, body);
  }

  #answer(meta: ResponseMeta, body: string | Uint8Array | undefined): boolean {
    const p = this.#pending.get(meta.id);
    if (p === undefined) return false;
    this.onAnswer();
    if (meta.kind === "stream") p.streaming = true;
    else this.#pending.take(meta.id);
    // Node writes the head and a string body as one UTF-8 string, so a header byte above 0x7F
    // would leave as two bytes; with the body as bytes, the head is written as latin1.
    if (meta.latin1 && typeof body === "string") body = Buffer.from(body);
    p.sink.head(meta.status, meta.headers, meta.kind, body);
    if (meta.kind !== "stream") this.#answered(meta.id);
    return this.#pending.get(meta.id) === p;
  }

  admit(id: number, size: number): boolean {
    const p = this.#pending.get(id);
    if (p === undefined) return false;
    if (p.sink.admit === undefined || p.sink.admit(size)) return true;
    this.#pending.take(id);
    this.#answered(id);
    return false;
  }

  chunk(id: number, data: string | Uint8Array): boolean {
    const p = this.#pending.get(id);
    return p !== undefined && p.sink.chunk(data, () => this.#pull(id, p));
  }

  /** The client drained a streamed body: read the site's stream again. */
  #pull(id: number, p: Pending): void {
    if (this.#pending.get(id) !== p) return;
    const h = this.#ctx.newNumber(id);
    this.#call(this.#entry.pull, true, h);
    h.dispose();
  }

  end(id: number): void {
    this.#pending.take(id)?.sink.end();
    this.#answered(id);
  }

  fail(id: number, kind: string, message: string, stack: string): void {
    const p = this.#pending.take(id);
    this.#answered(id);
    if (this.#limits.hit()) {
      // Whatever the text says (often "Uncaught null" when memory ran out): it is the limit.
      p?.sink.fail(this.#limits.error());
      return;
    }
    const route = p?.route;
    if (kind === "body") {
      // The client's fault, not the site's: one line, no stack.
      this.#log.error(this.#tags(route), `bad request body (400): ${message}`);
      p?.sink.fail(new SiteboxError("ERR_BAD_BODY", message));
      return;
    }
    const detail = foldRepeatedLines(
      stack && !stack.includes(message) ? `${message}\n${stack}` : stack || message,
    );
    this.#log.error(
      this.#tags(route),
      `${kind === "load" ? "module failed to load" : "handler failed"}: ${detail.trim()}`,
    );
    const code = kind === "load" || kind === "export" ? "ERR_MODULE_LOAD" : "ERR_HANDLER";
    p?.sink.fail(new SiteboxError(code, message));
  }

  /** True once the request's log budget is spent: the prelude then only counts its lines. */
  log(level: string, text: string): boolean {
    if (this.#work.allowLog(text.length)) {
      this.#log.console(this.#tags(this.#activeRoute()), level, text);
      return false;
    }
    this.#consoleMuted = true;
    return true;
  }

  /** Lines the prelude counted instead of sending, charged to the request whose call it was. */
  #countMuted(): void {
    this.#consoleMuted = false;
    const r = this.#io.call(this.#entry.muted);
    if (r.error) return this.#internalError(r.error);
    const [lines, bytes] = this.#io.read(r.value).split(",").map(Number);
    r.value.dispose();
    this.#work.dropped(lines ?? 0, bytes ?? 0);
  }

  /** The route running now: the owner's, the one being dispatched, or the only one in flight. */
  #activeRoute(): string | undefined {
    const owned = this.#work.route();
    if (owned !== undefined) return owned;
    if (this.#dispatching !== undefined) return this.#dispatching;
    return this.#pending.only()?.route;
  }

  setTimer(id: number, ms: number, repeat: boolean): string {
    return this.#work.setTimer(id, ms, repeat);
  }

  clearTimer(id: number): void {
    this.#work.clearTimer(id);
  }

  waitUntil(id: number, delta: number): void {
    this.#work.waitUntil(id, delta);
  }

  /** A host operation (async-ops.ts) settled: its outcome enters through #call, as a timer's. */
  settle(ticket: number, outcome: () => Outcome): void {
    if (this.deadReason !== null) return;
    let made: Outcome;
    try {
      made = outcome();
    } catch (err) {
      // Making the guest values failed: the interpreter is out of memory.
      this.#log.error(this.#tags(), `host operation result lost: ${(err as Error).message}`);
      this.abandon(new SiteboxError("ERR_MEMORY", "sandbox out of memory"));
      return;
    }
    this.#work.opSettled(ticket);
    const t = this.#ctx.newNumber(ticket);
    this.#call(
      this.#entry.settle,
      true,
      t,
      made.ok ? this.#ctx.true : this.#ctx.false,
      ...made.values,
    );
    t.dispose();
    for (const v of made.values) if (v.alive) v.dispose();
  }

  loadResult(token: number, error: string, stack: string): void {
    const l = this.#loads.get(token);
    if (l === undefined) return;
    this.#loads.delete(token);
    this.#answered(token);
    if (error === "") l.resolve();
    else l.reject(new SiteboxError("ERR_MODULE_LOAD", error, { stack: stack || error }));
  }
}
