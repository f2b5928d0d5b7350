/**
 * The worker's HTTP front: Host → site, path → static file or route, body within --max-body, one
 * dispatch into the site's sandbox, the response written back, one access-log line.
 *
 * Lifecycle of a request and the status each phase can give:
 *   status page (/.sitebox/) → site (404) → path decode (404) → static file / route (404)
 *   → body (413) → generation gate → sandbox (500 load, 503 limits) → handler (500, 504) → response
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Config } from "./config.js";
import { publicMessage, SiteboxError, toStatus } from "./errors.js";
import { clfDate, clfQuote, type Log } from "./log.js";
import { decodePath, matchRoute, siteForHost } from "./router.js";
import type { ResponseSink, Sandbox } from "./sandbox/sandbox.js";
import type { BodyKind } from "./sandbox/response-meta.js";
import type { SiteEntry, SiteRegistry } from "./sites.js";
import { serveStatic } from "./static.js";

export interface ServerHooks {
  /** Answers /.sitebox/... paths; false when it is not a status path. */
  status(req: IncomingMessage, res: ServerResponse): boolean;
  onRequestStart(req: IncomingMessage, res: ServerResponse): void;
  onRequestEnd(req: IncomingMessage): void;
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  start: number;
  status: number;
  bytes: number;
  entry: SiteEntry | null;
  /** Set once dispatched: the sandbox that answers, cancelled if the client leaves. */
  sandbox: Sandbox | null;
  sink: ResponseSink | null;
  /** Set once dispatched: the request counts in entry.unanswered until its head goes out. */
  answered: (() => void) | null;
}

const SAFE_HOST = /^[A-Za-z0-9.\-:[\]]+$/;

export function createSiteServer(
  config: Config,
  sites: SiteRegistry,
  log: Log,
  worker: number,
  hooks: ServerHooks,
): http.Server {
  const server = http.createServer({
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.headersTimeoutMs + config.wallTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(100, config.headersTimeoutMs / 4)),
    keepAliveTimeout: 5000,
  });

  const accessLog = (x: Exchange) => {
    const { req } = x;
    log.access(
      `${req.socket.remoteAddress ?? "-"} - - ${clfDate()} "${clfQuote(`${req.method} ${req.url} HTTP/${req.httpVersion}`)}" ` +
        `${x.status} ${x.bytes > 0 ? x.bytes : "-"} "${clfQuote(req.headers.referer)}" "${clfQuote(req.headers["user-agent"])}"`,
    );
  };

  /** Everything a request owes when its response closes: one listener, not one per concern. */
  const finish = (x: Exchange) => {
    const e = x.entry;
    if (x.sandbox !== null) {
      if (!x.res.writableFinished && x.sink !== null) x.sandbox.cancel(x.sink);
      x.answered?.();
    }
    accessLog(x);
    hooks.onRequestEnd(x.req);
    if (e !== null) {
      e.latency.record(Math.max(1, Math.round((performance.now() - x.start) * 1000)));
      if (x.status >= 500) e.errors++;
    }
  };

  const sendError = (x: Exchange, err: unknown) => {
    const status = toStatus(err);
    if (x.res.headersSent) {
      x.res.destroy();
      x.answered?.();
      return;
    }
    const text = publicMessage(status) + "\n";
    x.status = status;
    x.bytes = text.length;
    const headers: http.OutgoingHttpHeaders = {
      "content-type": "text/plain; charset=utf-8",
      "content-length": text.length,
    };
    if (config.debugHeaders && x.entry !== null) {
      headers["x-sitebox-worker"] = String(worker);
      headers["x-sitebox-generation"] = String(x.entry.current.number);
    }
    if (status === 413) headers.connection = "close";
    if (status === 503)
      headers["retry-after"] = String(err instanceof SiteboxError ? err.retryAfterS : 1);
    x.res.writeHead(status, headers).end(text);
    x.answered?.();
  };

  const sinkFor = (x: Exchange, debug: string[]): ResponseSink => ({
    head(status: number, headers: string[], kind: BodyKind, body: string | Uint8Array | undefined) {
      const { res } = x;
      if (res.headersSent || res.destroyed) return;
      x.status = status;
      if (debug.length > 0) headers.push(...debug);
      if (kind === "stream") {
        res.writeHead(status, headers);
        res.flushHeaders();
        x.answered?.();
        return;
      }
      const length =
        body === undefined
          ? 0
          : typeof body === "string"
            ? Buffer.byteLength(body)
            : body.byteLength;
      x.bytes = x.req.method === "HEAD" ? 0 : length;
      if (status !== 204 && status !== 304) headers.push("content-length", String(length));
      res.writeHead(status, headers);
      res.end(body);
      x.answered?.();
    },
    chunk(data: string | Uint8Array) {
      x.bytes += typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
      x.res.write(data);
    },
    end() {
      x.res.end();
    },
    fail(err: SiteboxError) {
      if (x.entry !== null) x.entry.noteError(err.message, err.code === "ERR_MODULE_LOAD");
      sendError(x, err);
    },
  });

  async function handle(x: Exchange): Promise<void> {
    const { req, res } = x;
    const site = siteForHost(req.headers.host, sites.names);
    const segments = decodePath(req.url ?? "/");
    if (site === null || segments === null)
      return sendError(x, new SiteboxError("ERR_NOT_FOUND", "no site"));
    const pending = sites.site(site);
    const entry = pending instanceof Promise ? await pending : pending;
    x.entry = entry;
    entry.requests++;
    entry.lastUsed = Date.now();
    const isRead = req.method === "GET" || req.method === "HEAD";
    let body: Uint8Array | null | undefined;
    // Routing and the sandbox are taken from one generation; if a switch happened while this
    // request waited (static lookup, body, build), start over on the new one.
    for (;;) {
      while (entry.gate !== null) await entry.gate;
      // `none` (CGI) routes and runs each request from the files on disk now.
      const cgi = config.cache === "none";
      const gen = cgi ? await sites.freshGeneration(entry) : entry.current;
      let route = gen.index.main === null ? matchRoute(gen.index, segments) : null;
      if (route === null && isRead) {
        const served = await serveStatic(req, res, gen.publicRoot, segments.join("/"));
        if (served !== false) {
          x.status = served.status;
          x.bytes = served.bytes;
          return;
        }
      }
      route ??= matchRoute(gen.index, segments);
      if (route === null) return sendError(x, new SiteboxError("ERR_NOT_FOUND", "no route"));
      if (body === undefined) {
        const read = await readBody(req, gen.settings?.limits.maxBodyBytes ?? config.maxBodyBytes);
        if (read === "too-large")
          return sendError(x, new SiteboxError("ERR_BODY_TOO_LARGE", "body too large"));
        body = read;
      }
      const sandbox = await sites.sandbox(entry, gen);
      if (!cgi && (entry.gate !== null || entry.current !== gen)) continue;
      dispatch(x, entry, sandbox, route, body);
      return;
    }
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
    // Counted from here until the response head goes out, so a generation switch waits for it.
    x.answered = entry.dispatched();
    x.sandbox = sandbox;
    const host =
      req.headers.host !== undefined && SAFE_HOST.test(req.headers.host)
        ? req.headers.host
        : entry.name;
    const debug = config.debugHeaders
      ? ["x-sitebox-worker", String(worker), "x-sitebox-generation", String(sandbox.generation)]
      : [];
    const sink = sinkFor(x, debug);
    x.sink = sink;
    sandbox.dispatch(
      {
        method: req.method ?? "GET",
        url: `http://${host}${req.url}`,
        headers: req.rawHeaders,
        body,
        route: sites.legacyRoute(entry, route),
      },
      sink,
    );
  }

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const x: Exchange = {
      req,
      res,
      start: performance.now(),
      status: 0,
      bytes: 0,
      entry: null,
      sandbox: null,
      sink: null,
      answered: null,
    };
    hooks.onRequestStart(req, res);
    res.once("close", () => finish(x));
    if (req.url?.startsWith("/.sitebox/") && hooks.status(req, res)) {
      x.status = res.statusCode;
      return;
    }
    handle(x).catch((err) => {
      const quiet = err instanceof SiteboxError && err.code === "ERR_COOL_DOWN"; // logged once
      if (
        !quiet &&
        (!(err instanceof SiteboxError) || err.code === "ERR_CONFIG" || err.status >= 500)
      )
        log.error({ site: x.entry?.name, worker }, (err as Error).message);
      x.entry?.noteError((err as Error).message);
      sendError(x, err);
    });
  });
  return server;
}

/** The whole body, null when there is none, or "too-large" as soon as it passes `limit`. */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | null | "too-large"> {
  const declared = req.headers["content-length"];
  if (declared === undefined && req.headers["transfer-encoding"] === undefined)
    return Promise.resolve(null);
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve("too-large");
  if (declared === "0") return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.pause();
        resolve("too-large");
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(size === 0 ? null : Buffer.concat(chunks, size)));
    req.once("error", reject);
  });
}
