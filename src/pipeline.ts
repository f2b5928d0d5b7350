/**
 * The request pipeline: everything between a front end's request and its response, and nothing
 * of any protocol (see pipeline-types.ts for the seam). Host → site, path → static file or route,
 * body within --max-body, one dispatch into the site's sandbox, errors, the access log line and
 * the worker's figures.
 *
 * Lifecycle of a request and the status each phase can give:
 *   status page (/.sitebox/) → target (404) → site (404) → path decode (404) → static file /
 *   route (404) → body (413) → generation gate → sandbox (500 load, 503 limits) → handler (500,
 *   504) → response (500 bad header, 503 over the response budget) → access log
 */
import type { Config } from "./config.js";
import { publicMessage, SiteboxError, toStatus } from "./errors.js";
import { Exchange } from "./exchange.js";
import type { Log } from "./log.js";
import type { Pipeline, PipelineRequest, ResponseWriter } from "./pipeline-types.js";
import { ResponseBudget } from "./response-budget.js";
import { decodePath, matchRoute, siteForHost } from "./router.js";
import type { Sandbox } from "./sandbox/sandbox.js";
import { SandboxSink, type SinkOwner } from "./sandbox-sink.js";
import type { Generation, SiteEntry, SiteRegistry } from "./sites.js";
import { parseTarget } from "./target.js";

/** A whole answer made outside any site (the status page). */
export interface PlainReply {
  status: number;
  headers: string[];
  body: string;
}

export interface PipelineHooks {
  /** Answers /.sitebox/... paths; null when the path is not one of them. */
  status(path: string, clientAddress: string): Promise<PlainReply> | null;
  onRequestStart(): void;
  onRequestEnd(): void;
}

const SAFE_HOST = /^[A-Za-z0-9.\-:[\]]+$/;
const NO_HEADERS: readonly string[] = Object.freeze([]);

export function createPipeline(
  config: Config,
  sites: SiteRegistry,
  log: Log,
  worker: number,
  hooks: PipelineHooks,
): Pipeline {
  const budget = new ResponseBudget();

  /** Everything a request owes when it is over: one listener, not one per concern. */
  const finish = (x: Exchange, aborted: boolean) => {
    const e = x.entry;
    if (x.sandbox !== null && x.sink !== null && (aborted || x.streaming)) x.sandbox.cancel(x.sink);
    x.answered?.();
    const file = x.close();
    if (file === null) record(x);
    else
      void file.then(
        () => record(x),
        () => record(x),
      );
  };

  /** The access log line and the figures, once the response's bytes are known. */
  const record = (x: Exchange) => {
    const e = x.entry;
    log.access(x.accessLine());
    hooks.onRequestEnd();
    if (e !== null) {
      e.latency.record(Math.max(1, Math.round((performance.now() - x.start) * 1000)));
      if (x.status >= 500) e.errors++;
    }
  };

  const sendError = (x: Exchange, err: unknown) => {
    if (x.headSent) {
      x.abort();
      return;
    }
    const status = toStatus(err);
    const text = publicMessage(status) + "\n";
    const headers = [
      "content-type",
      "text/plain; charset=utf-8",
      "content-length",
      String(text.length),
    ];
    if (config.debugHeaders && x.entry !== null)
      headers.push(
        "x-sitebox-worker",
        String(worker),
        "x-sitebox-generation",
        String(x.entry.current.number),
      );
    if (status === 413) headers.push("connection", "close");
    if (status === 503)
      headers.push("retry-after", String(err instanceof SiteboxError ? err.retryAfterS : 1));
    x.head(status, headers);
    x.end(text);
  };

  const sinkOwner: SinkOwner = {
    fail(x, err) {
      x.entry!.noteError(err.message, err.code === "ERR_MODULE_LOAD");
      sendError(x, err);
    },
    logError: (x, route, message) => log.error({ site: x.entry?.name, route, worker }, message),
  };

  const status = (x: Exchange, path: string): boolean => {
    const reply = hooks.status(path, x.req.clientAddress);
    if (reply === null) return false;
    void reply.then((r) => {
      x.head(r.status, [...r.headers, "content-length", String(Buffer.byteLength(r.body))]);
      x.end(r.body);
    });
    return true;
  };

  /** Host → site entry, then the request on it: synchronously whenever nothing must be awaited. */
  function start(x: Exchange): void {
    const { target } = x;
    const site = target === null ? null : siteForHost(target.host, sites.names);
    const segments = target === null ? null : decodePath(target.path);
    if (site === null || segments === null)
      return sendError(x, new SiteboxError("ERR_NOT_FOUND", "no site"));
    const pending = sites.site(site);
    if (pending instanceof Promise)
      pending.then((entry) => enter(x, entry, segments)).catch((err) => fail(x, err));
    else enter(x, pending, segments);
  }

  function enter(x: Exchange, entry: SiteEntry, segments: string[]): void {
    x.entry = entry;
    entry.requests++;
    entry.lastUsed = Date.now();
    const seen = routeNow(x, entry, segments);
    if (seen !== true) route(x, entry, segments, seen).catch((err) => fail(x, err));
  }

  /**
   * The usual case without a promise or a tick: the generation open, a static file or a route
   * whose sandbox is live, no body to read. True when answered or dispatched; else the
   * generation already looked at (its static file is not looked for again), or null.
   */
  function routeNow(x: Exchange, entry: SiteEntry, segments: string[]): true | Generation | null {
    if (entry.gate !== null || config.cache === "none") return null;
    const gen = entry.current;
    const route = resolve(x, gen, segments, false);
    if (route === true) return true;
    if (x.req.bodyless !== true) return gen;
    const sandbox = sites.sandboxNow(entry);
    if (sandbox === null) return gen;
    dispatch(x, entry, sandbox, route, null);
    return true;
  }

  /**
   * What `gen` makes of the path: true when a static file of public/ (GET and HEAD, unless
   * `staticSeen`) or a 404 answered it; else the route to run.
   */
  function resolve(x: Exchange, gen: Generation, segments: string[], staticSeen: boolean) {
    const { req } = x;
    let route = gen.index.main === null ? matchRoute(gen.index, segments) : null;
    if (
      route === null &&
      !staticSeen &&
      (req.method === "GET" || req.method === "HEAD") &&
      sites.statics.serve(req, x, gen.publicRoot, segments.join("/"), gen)
    )
      return true;
    route ??= matchRoute(gen.index, segments);
    if (route === null) {
      sendError(x, new SiteboxError("ERR_NOT_FOUND", "no route"));
      return true;
    }
    return route;
  }

  /** The rest, where something is awaited: a gate, a build, a body, a fresh read (`none`). */
  async function route(
    x: Exchange,
    entry: SiteEntry,
    segments: string[],
    seen: Generation | null,
  ): Promise<void> {
    const { req } = x;
    let body: Uint8Array | null | undefined;
    // Routing and the sandbox are taken from one generation; if a switch happened while this
    // request waited (static lookup, body, build), start over on the new one.
    for (;;) {
      while (entry.gate !== null) await entry.gate;
      // `none` (CGI) routes and runs each request from the files on disk now.
      const cgi = config.cache === "none";
      const gen = cgi ? await sites.freshGeneration(entry) : entry.current;
      const route = resolve(x, gen, segments, gen === seen);
      if (route === true) return;
      if (body === undefined) {
        const read = await req.readBody(gen.settings?.limits.maxBodyBytes ?? config.maxBodyBytes);
        if (read === "too-large")
          return sendError(x, new SiteboxError("ERR_BODY_TOO_LARGE", "body too large"));
        body = read;
      }
      const sandbox = await sites.sandbox(entry, gen);
      if (!cgi && (entry.gate !== null || entry.current !== gen)) continue;
      if (x.closed) return; // the client left while this request waited
      dispatch(x, entry, sandbox, route, body);
      return;
    }
  }

  /** A request that failed before its answer: logged unless expected, then its error status. */
  function fail(x: Exchange, err: unknown): void {
    const quiet = err instanceof SiteboxError && err.code === "ERR_COOL_DOWN"; // logged once
    if (
      !quiet &&
      (!(err instanceof SiteboxError) || err.code === "ERR_CONFIG" || err.status >= 500)
    )
      log.error({ site: x.entry?.name, worker }, (err as Error).message);
    x.entry?.noteError((err as Error).message);
    sendError(x, err);
  }

  /** Synchronous from the generation check to the dispatch: nothing can switch in between. */
  function dispatch(
    x: Exchange,
    entry: SiteEntry,
    sandbox: Sandbox,
    route: string,
    body: Uint8Array | null,
  ): void {
    const { req } = x;
    const target = x.target!;
    // Counted from here until the response head goes out, so a generation switch waits for it.
    x.answered = entry.dispatched();
    x.sandbox = sandbox;
    const host =
      target.host !== undefined && SAFE_HOST.test(target.host) ? target.host : entry.name;
    // Host names are case-insensitive; the URL a handler sees is in the WHATWG form.
    const urlHost = host.toLowerCase();
    const debug = config.debugHeaders
      ? ["x-sitebox-worker", String(worker), "x-sitebox-generation", String(sandbox.generation)]
      : NO_HEADERS;
    x.sink = new SandboxSink(x, route, debug, sinkOwner);
    sandbox.dispatch(
      {
        method: req.method,
        url: `${req.scheme}://${urlHost}${target.path}`,
        headers: target.absolute ? withHost(req.headers, host) : (req.headers as string[]),
        body,
        route: sites.legacyRoute(entry, route),
      },
      x.sink,
    );
  }

  return {
    handle(req: PipelineRequest, out: ResponseWriter): void {
      const x = new Exchange(req, out, budget);
      hooks.onRequestStart();
      req.onClose((aborted) => finish(x, aborted));
      x.target = parseTarget(req.target, req.host);
      if (x.target?.path.startsWith("/.sitebox/") && status(x, x.target.path.split("?")[0]!))
        return;
      try {
        start(x);
      } catch (err) {
        fail(x, err);
      }
    },
  };
}

/** Absolute form: the target's host replaces any Host header the sandbox would see (§3.2.2). */
function withHost(headers: readonly string[], host: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2)
    if (headers[i]!.toLowerCase() !== "host") out.push(headers[i]!, headers[i + 1]!);
  out.push("host", host);
  return out;
}
