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
import type { Log } from "../log.js";
import type { SiteSettings } from "../site-config.js";
import { installHost, type HostHooks } from "./host.js";
import { resolveSpecifier, VERSION_SUFFIX } from "./loader.js";
import { PRELUDE_NAME, preludeSource } from "./prelude.js";
import { PendingRequests, type Pending } from "./pending.js";
import {
  LOG_BYTES_PER_REQUEST,
  LOG_LINES_PER_REQUEST,
  Scopes,
  WAIT_UNTIL_MS,
  type Scope,
} from "./scopes.js";
import { TimerDriver } from "./timer-driver.js";
import { newInstance, type QuickJSInstance } from "./wasm.js";
import {
  checkResponseMeta,
  parseOutboxRecord,
  type BodyKind,
  type ResponseMeta,
} from "./response-meta.js";

/** A request as the sandbox sees it. `headers` is Node's rawHeaders list. */
export interface IncomingRecord {
  method: string;
  url: string;
  headers: string[];
  body: Uint8Array | null;
  route: string;
}

/** Where a response goes; implemented by the HTTP front. */
export interface ResponseSink {
  head(
    status: number,
    headers: string[],
    kind: BodyKind,
    body: string | Uint8Array | undefined,
  ): void;
  chunk(data: string | Uint8Array): void;
  end(): void;
  /** Before the head: answer with the error's status. After it: cut the response. */
  fail(err: SiteboxError): void;
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

/** Live timers per request, and per sandbox (each costs a host entry and a closure inside). */
export const MAX_TIMERS_PER_REQUEST = 1000;
export const MAX_TIMERS = 10_000;
/** Prefix of a module name that stands for a refused import; no file name starts with it. */
const REFUSED = "\u0001refused:";
const STACK_BYTES = 512 * 1024;

export class Sandbox implements HostHooks {
  readonly site: string;
  generation: number;
  readonly settings: SiteSettings;
  /** Modules this sandbox has evaluated: its part of the site's import graph. */
  readonly loaded = new Set<string>();
  readonly createdAt = Date.now();
  lastUsed = Date.now();
  requests = 0;
  /** Set once the sandbox is abandoned; it then answers nothing. */
  deadReason: string | null = null;
  /** Called once when the sandbox is abandoned at a limit, with the CPU ms of the last run. */
  onDead: (reason: string, costMs: number) => void = () => {};
  /** Called on each response a handler produced (the site's code ran to an answer). */
  onAnswer: () => void = () => {};

  #files: Readonly<Record<string, string>>;
  #runtime: QuickJSRuntime;
  #ctx: QuickJSContext;
  #entry: {
    take: QuickJSHandle;
    dispatch: QuickJSHandle;
    fire: QuickJSHandle;
    load: QuickJSHandle;
    cancel: QuickJSHandle;
  };
  #log: Log;
  #worker: number;
  #memory: WebAssembly.Memory;
  #limitBytes: number;
  #deadline = Infinity;
  #runStart = 0;
  #dispatching: string | undefined;
  #interrupted = false;
  #overMemory = false;
  #nextId = 1;
  /** The scope whose work runs now: every timer set and line logged is charged to it. */
  #owner = 0;
  #pending: PendingRequests;
  #scopes = new Scopes();
  #timers: TimerDriver;
  #retiring = false;
  #loads = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  private constructor(init: SandboxInit, instance: QuickJSInstance) {
    this.site = init.site;
    this.generation = init.generation;
    this.settings = init.settings;
    this.#files = init.files;
    this.#log = init.log;
    this.#pending = new PendingRequests(init.settings.limits.wallTimeoutMs, (id, p) =>
      this.#wallTimeout(id, p),
    );
    this.#worker = init.worker;
    this.#memory = instance.memory;
    this.#limitBytes = instance.limitBytes;
    this.#timers = new TimerDriver({
      fire: (owner, due, forget) => this.#fire(owner, due, forget),
      nextDeadline: () => this.#scopes.nextDeadline(),
      deadlines: (now) => {
        for (const s of this.#scopes.expired(now))
          this.#endScope(
            s,
            `its waitUntil promises were still pending ${WAIT_UNTIL_MS / 1000} s after the response`,
          );
      },
    });
    const runtime = instance.module.newRuntime();
    this.#runtime = runtime;
    // No QuickJS memory limit: site code can make it throw at will, and it undercounts. The
    // limit is the wasm heap's own size (wasm.ts), checked here at each interrupt poll.
    runtime.setMaxStackSize(STACK_BYTES);
    runtime.setInterruptHandler(() => {
      if (this.#memoryPassed()) return true;
      if (performance.now() <= this.#deadline) return false;
      this.#interrupted = true;
      return true;
    });
    // A failing normalizer loses its message in quickjs-emscripten 0.32 (the loader is still
    // called, with garbage), so a refusal travels as a name the loader turns into the error.
    runtime.setModuleLoader(
      (name) => {
        const source = name.startsWith(REFUSED)
          ? undefined
          : VERSION_SUFFIX.test(name)
            ? init.readFresh?.(name.replace(VERSION_SUFFIX, ""))
            : this.#files[name];
        if (source === undefined) return { error: new Error(name.slice(REFUSED.length)) };
        this.loaded.add(name);
        return source;
      },
      (base, requested) => {
        const r = resolveSpecifier(base, requested, this.#files);
        return r.ok ? r.name : REFUSED + r.message;
      },
    );
    const ctx = runtime.newContext();
    this.#ctx = ctx;
    installHost(ctx, this);
    const entry = ctx.unwrapResult(ctx.evalCode(preludeSource(), PRELUDE_NAME));
    ctx.setProp(ctx.global, "__host", ctx.undefined);
    const del = ctx.unwrapResult(ctx.evalCode("delete globalThis.__host", PRELUDE_NAME));
    del.dispose();
    const get = (name: string) => ctx.getProp(entry, name);
    this.#entry = {
      take: get("take"),
      dispatch: get("dispatch"),
      fire: get("fire"),
      load: get("load"),
      cancel: get("cancel"),
    };
    const init_ = get("init");
    const env = ctx.newString(JSON.stringify(init.settings.vars));
    this.#call(init_, false, env);
    env.dispose();
    init_.dispose();
    entry.dispose();
  }

  static async create(init: SandboxInit): Promise<Sandbox> {
    return new Sandbox(init, await newInstance(init.settings.limits.memoryMb));
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
    return this.#scopes.size;
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

  /** Runs one request. The answer (or failure) arrives on `sink`, exactly once. */
  dispatch(req: IncomingRecord, sink: ResponseSink): void {
    if (this.deadReason !== null) {
      sink.fail(new SiteboxError("ERR_UNAVAILABLE", "sandbox abandoned"));
      return;
    }
    const id = this.#nextId++;
    this.requests++;
    this.lastUsed = Date.now();
    this.#pending.add(id, sink, req.route);
    this.#scopes.open(id, req.route);
    this.#owner = id;
    const { ctx } = this;
    // One string, fields split at "\n", which neither a URL nor a header can contain after
    // Node's parser: JSON would cost more than the rest of the crossing in QuickJS.
    const meta = ctx.newString(
      `${id}\n${req.method}\n${req.url}\n${req.route}` +
        (req.headers.length === 0 ? "" : "\n" + req.headers.join("\n")),
    );
    this.#dispatching = req.route;
    if (req.body !== null && req.body.byteLength > 0) {
      const b = req.body;
      const body = ctx.newArrayBuffer(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
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
      this.#scopes.open(token, route);
      this.#owner = token;
      const name = this.#ctx.newString(route);
      const tok = this.#ctx.newNumber(token);
      this.#call(this.#entry.load, false, name, tok);
      name.dispose();
      tok.dispose();
    });
  }

  /** The client went away: abort the request's signal, stop a streamed body. */
  cancel(sinkOwner: ResponseSink): void {
    for (const [id, p] of [...this.#pending.entries()]) {
      if (p.sink !== sinkOwner) continue;
      this.#pending.take(id);
      this.#cancelInside(id);
      this.#answered(id);
    }
  }

  /** Dropped at a limit: like `close`, and the owner is told (it counts limit kills). */
  abandon(err: SiteboxError): void {
    if (this.deadReason !== null) return;
    this.close(err);
    this.onDead(err.message, performance.now() - this.#runStart);
  }

  /**
   * Stops everything now: pending requests fail with `err`, timers and work after the response
   * end, and nothing on the host refers to the sandbox any more, so the GC frees the instance.
   */
  close(err = new SiteboxError("ERR_UNAVAILABLE", "sandbox closed")): void {
    if (this.deadReason !== null) return;
    this.deadReason = err.message;
    this.#pending.stop();
    this.#timers.stop();
    const background = this.#scopes.size - this.#pending.size - this.#loads.size;
    if (background > 0 && err.code === "ERR_UNAVAILABLE")
      this.#log.error(
        this.#tags(),
        `background work of ${background} requests stopped: ${err.message}`,
      );
    this.#scopes.clear();
    for (const [id, p] of [...this.#pending.entries()]) {
      this.#pending.take(id);
      p.sink.fail(err);
    }
    for (const l of this.#loads.values()) l.reject(err);
    this.#loads.clear();
  }

  /** No longer current (replaced, or `--cache none`): close once its last scope ends. */
  retire(): void {
    this.#retiring = true;
    // A request about to be dispatched to it (none) opens its scope before this runs.
    setImmediate(() => this.#closeIfIdle());
  }

  #closeIfIdle(): void {
    if (this.#retiring && this.#scopes.size === 0 && this.#pending.size === 0) this.close();
  }

  private get ctx(): QuickJSContext {
    return this.#ctx;
  }

  /**
   * The one way into the interpreter: a CPU deadline, then the job queue, then limit checks.
   * With `collect`, `fn` returns the outbox of finished text responses (90-dispatch.js), which is
   * read once more after the job queue ran, and delivered after leaving the interpreter.
   */
  #call(fn: QuickJSHandle, collect: boolean, ...args: QuickJSHandle[]): void {
    if (this.deadReason !== null) return;
    const ctx = this.#ctx;
    let out = "";
    this.#runStart = performance.now();
    this.#deadline = this.#runStart + this.settings.limits.timeoutMs;
    enterSiteCode(this.site, this.#activeRoute());
    try {
      const result = ctx.callFunction(fn, ctx.undefined, ...args);
      if (result.error) this.#internalError(result.error);
      else {
        if (collect) out = ctx.getString(result.value);
        result.value.dispose();
      }
      // hasPendingJob is one cheap FFI call; a sync handler leaves no jobs to run.
      let ranJobs = false;
      while (this.#runtime.hasPendingJob()) {
        ranJobs = true;
        const jobs = this.#runtime.executePendingJobs(-1);
        if (jobs.error) {
          this.#internalError(jobs.error);
          if (this.#limitHit()) break;
          continue;
        }
        break;
      }
      if (ranJobs && !this.#limitHit()) {
        const taken = ctx.callFunction(this.#entry.take, ctx.undefined);
        if (taken.error) this.#internalError(taken.error);
        else {
          out += ctx.getString(taken.value);
          taken.value.dispose();
        }
      }
    } catch (err) {
      // A wasm trap (abort, unreachable, out-of-bounds) ends this interpreter for good.
      this.#log.error(this.#tags(), `interpreter aborted: ${(err as Error).message}`);
      this.abandon(new SiteboxError("ERR_MEMORY", "sandbox interpreter aborted"));
      return;
    } finally {
      this.#deadline = Infinity;
      leaveSiteCode();
    }
    if (out !== "") this.#deliver(out);
    // A native call allocates without polling the interrupt handler: look at the heap once more.
    if (this.#memoryPassed() || this.#interrupted) this.abandon(this.#limitError());
  }

  /** Decided from the interpreter's state (its heap, our deadline), never from an error text. */
  #limitHit(): boolean {
    return this.#interrupted || this.#memoryPassed();
  }

  #memoryPassed(): boolean {
    if (!this.#overMemory && this.#memory.buffer.byteLength > this.#limitBytes)
      this.#overMemory = true;
    return this.#overMemory;
  }

  #limitError(): SiteboxError {
    const { memoryMb, timeoutMs } = this.settings.limits;
    return this.#memoryPassed()
      ? new SiteboxError("ERR_MEMORY", `memory limit (${memoryMb} MB) passed`)
      : new SiteboxError("ERR_TIMEOUT", `CPU time limit (${timeoutMs} ms) passed`);
  }

  /** An error that escaped the prelude's own handling (it catches handler errors itself). */
  #internalError(handle: QuickJSHandle): void {
    let text: string;
    try {
      const e = this.#ctx.dump(handle) as { message?: string; stack?: string } | string;
      text =
        typeof e === "object" && e !== null ? `${e.message ?? ""}\n${e.stack ?? ""}` : String(e);
    } catch {
      text = "unprintable error";
    }
    handle.dispose();
    if (!this.#limitHit()) this.#log.error(this.#tags(this.#activeRoute()), text.trim());
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
    this.#owner = id;
    const h = this.#ctx.newNumber(id);
    this.#call(this.#entry.cancel, true, h);
    h.dispose();
  }

  /** The request's answer is out (or failed, or the client left): its work may end now. */
  #answered(id: number): void {
    this.lastUsed = Date.now(); // idle (for --site-idle) from the last answer, not the request
    const s = this.#scopes.get(id);
    if (s !== undefined && this.#scopes.answer(s, Date.now())) this.#endScope(s);
    else this.#timers.schedule(); // its waitUntil deadline
  }

  /** The scope's work is over: its timers end with it, and what it had dropped is said once. */
  #endScope(s: Scope, why?: string): void {
    this.#scopes.delete(s);
    this.#timers.dropOwner(s.id);
    const tags = this.#tags(s.route);
    if (why !== undefined) this.#log.error(tags, `background work stopped: ${why}`);
    if (s.droppedLines > 0)
      this.#log.error(
        tags,
        `console: ${s.droppedLines} more lines (${s.droppedBytes} bytes) from this request ` +
          `dropped (a request may log ${LOG_LINES_PER_REQUEST} lines or ${LOG_BYTES_PER_REQUEST >> 10} KiB)`,
      );
    if (this.#retiring && this.#scopes.size === 0) setImmediate(() => this.#closeIfIdle());
  }

  /** One wake of the timer driver for `owner`: runs its due timers; false once dead. */
  #fire(owner: number, due: number[], forget: number[]): boolean {
    if (this.deadReason !== null) return false;
    this.#owner = owner;
    const d = this.#ctx.newString(due.join(","));
    const f = this.#ctx.newString(forget.join(","));
    const start = performance.now();
    this.#call(this.#entry.fire, true, d, f);
    d.dispose();
    f.dispose();
    if (this.deadReason !== null) return false;
    const s = owner === 0 ? undefined : this.#scopes.get(owner);
    if (s !== undefined && s.answered) {
      s.cpuAfterMs += performance.now() - start;
      const budget = this.settings.limits.timeoutMs;
      if (s.cpuAfterMs > budget)
        this.#endScope(
          s,
          `it used ${Math.round(s.cpuAfterMs)} ms of CPU after the response (the limit is --timeout, ${budget} ms)`,
        );
    }
    return true;
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
      this.#answer(r.meta, out.slice(r.bodyStart, pos));
    }
  }

  respond(metaText: string, body: string | Uint8Array | undefined): void {
    const checked = checkResponseMeta(metaText);
    if (typeof checked === "string") {
      const id = Number(/"i":(\d+)/.exec(metaText)?.[1]);
      this.fail(id, "type", checked, "");
      return;
    }
    this.#answer(checked, body);
  }

  #answer(meta: ResponseMeta, body: string | Uint8Array | undefined): void {
    const p = this.#pending.get(meta.id);
    if (p === undefined) return;
    this.onAnswer();
    if (meta.kind === "stream") p.streaming = true;
    else this.#pending.take(meta.id);
    p.sink.head(meta.status, meta.headers, meta.kind, body);
    if (meta.kind !== "stream") this.#answered(meta.id);
  }

  chunk(id: number, data: string | Uint8Array): void {
    this.#pending.get(id)?.sink.chunk(data);
  }

  end(id: number): void {
    this.#pending.take(id)?.sink.end();
    this.#answered(id);
  }

  fail(id: number, kind: string, message: string, stack: string): void {
    const p = this.#pending.take(id);
    this.#answered(id);
    if (this.#limitHit()) {
      // Whatever the text says (often "Uncaught null" when memory ran out): it is the limit.
      p?.sink.fail(this.#limitError());
      return;
    }
    const route = p?.route;
    const detail = stack && !stack.includes(message) ? `${message}\n${stack}` : stack || message;
    this.#log.error(
      this.#tags(route),
      `${kind === "load" ? "module failed to load" : "handler failed"}: ${detail.trim()}`,
    );
    const code = kind === "load" || kind === "export" ? "ERR_MODULE_LOAD" : "ERR_HANDLER";
    p?.sink.fail(new SiteboxError(code, message));
  }

  log(level: string, text: string): void {
    const s = this.#scopes.get(this.#owner);
    if (s !== undefined && !this.#scopes.allowLog(s, text.length)) return;
    this.#log.console(this.#tags(s?.route ?? this.#activeRoute()), level, text);
  }

  /** The route running now: the owner's, the one being dispatched, or the only one in flight. */
  #activeRoute(): string | undefined {
    const owned = this.#scopes.get(this.#owner)?.route;
    if (owned !== undefined) return owned;
    if (this.#dispatching !== undefined) return this.#dispatching;
    return this.#pending.only()?.route;
  }

  /** "" when armed, else why not (the prelude throws it as a RangeError). */
  setTimer(id: number, ms: number, repeat: boolean): string {
    const kind = repeat ? "setInterval" : "setTimeout";
    const owner = this.#owner;
    if (this.#scopes.get(owner) === undefined || !(id > 0))
      return `${kind}: timers can only be set while a request is handled`;
    if (this.#timers.queue.countOf(owner) >= MAX_TIMERS_PER_REQUEST)
      return `${kind}: more than ${MAX_TIMERS_PER_REQUEST} timers pending for this request`;
    if (this.#timers.queue.size >= MAX_TIMERS)
      return `${kind}: more than ${MAX_TIMERS} timers pending in this site's sandbox`;
    const delay = Number.isFinite(ms) && ms > 0 ? Math.min(ms, 2 ** 31 - 1) : 0;
    this.#timers.set(id, owner, repeat ? Math.max(1, delay) : delay, repeat);
    return "";
  }

  clearTimer(id: number): void {
    this.#timers.clear(id);
  }

  /** A waitUntil promise of request `id` was added (+1) or settled (-1). */
  waitUntil(id: number, delta: number): void {
    const s = this.#scopes.get(id);
    if (s !== undefined && this.#scopes.wait(s, delta)) this.#endScope(s);
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
