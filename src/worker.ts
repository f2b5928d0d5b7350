/**
 * A worker process: the analogue of an Apache prefork child with mod_python loaded. Wiring only:
 * config from the primary, the site registry, the request pipeline and its HTTP front end, and
 * the IPC messages.
 */
import type { Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { busyBuffer, busyMagic } from "./busy.js";
import { locateBusy } from "./busy-peek.js";
import { ConnectionDrain } from "./drain.js";
import { health } from "./health.js";
import { recycleReason, requestLimit } from "./lifecycle.js";
import type { Config } from "./config.js";
import { Requests } from "./ipc.js";
import { StdLog } from "./log.js";
import { isMessage, type GenerationData, type ToPrimary, type ToWorker } from "./messages.js";
import { createFastCgiFront } from "./front/fastcgi.js";
import { createHttpFront } from "./front/http.js";
import { describeAddress } from "./listen-address.js";
import { createPipeline } from "./pipeline.js";
import { SiteRegistry } from "./sites.js";
import { preludeRuns, template, templateOrigin, useTemplateImage } from "./sandbox/boot.js";
import { primaryImage } from "./worker-template.js";
import { StatusEndpoint } from "./status-endpoint.js";
import { WorkerGenerations } from "./worker-generations.js";
import type { WorkerStats } from "./stats.js";

const config = JSON.parse(process.env.SITEBOX_CONFIG!) as Config;
const workerId = Number(process.env.SITEBOX_WORKER_ID ?? "0");
const log = openLog(config.accessLog);
const requests = new Requests();

function openLog(path: string): StdLog {
  try {
    return new StdLog(path);
  } catch (err) {
    process.stderr.write(`sitebox: cannot open --access-log ${path}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
const send = (m: ToPrimary) => {
  if (process.connected) process.send!(m);
};

const sites = new SiteRegistry(config, log, workerId, async (site) => {
  const reply = await requests.ask<{ data: GenerationData | null; error: string | null }>(
    (reqId) => ({
      type: "snapshot-request",
      reqId,
      site,
    }),
  );
  if (reply.data === null) throw new Error(reply.error ?? `cannot read site ${site}`);
  return reply.data;
});
sites.reportStale = async (site) => {
  // The primary re-reads the site, rolls out a new generation if the content changed (its commit
  // arrives before this reply), and answers with the live generation and its fresh stamps.
  const reply = await requests.ask<{ data: GenerationData | null }>((reqId) => ({
    type: "stale",
    reqId,
    site,
  }));
  const entry = sites.entries.get(site);
  if (reply.data !== null && entry !== undefined) sites.restamp(entry, reply.data);
};
const generations = new WorkerGenerations(sites, log, workerId, send);

const startedAt = Date.now();
const requestsBeforeRecycle = requestLimit(config.maxRequests);
let recycleAsked = false;

/** Asks the primary for a replacement once a recycling rule says so (lifecycle.ts). */
function checkRecycle(): void {
  if (recycleAsked || draining) return;
  const figures = {
    requests: served,
    rssBytes: process.memoryUsage.rss(),
    abandoned: sites.abandoned,
  };
  const reason = recycleReason(figures, requestsBeforeRecycle, config.maxMemoryMb);
  if (reason === null) return;
  recycleAsked = true;
  send({ type: "recycle-me", reason });
}
let served = 0;
let inFlight = 0;
let draining = false;

function stats(): WorkerStats {
  return {
    pid: process.pid,
    id: workerId,
    startedAt,
    requests: served,
    inFlight,
    rssBytes: process.memoryUsage.rss(),
    sandboxBytes: sites.totalSandboxBytes(),
    abandoned: sites.abandoned,
    cacheHits: sites.cacheHits,
    cacheMisses: sites.cacheMisses,
    staticCache: sites.statics.figures(),
    template: templateOrigin,
    preludeRuns,
    sites: [...sites.entries.values()].map((e) => e.stats()),
  };
}

const status = new StatusEndpoint(config, (reqId) => send({ type: "status-request", reqId }));
const pipeline = createPipeline(config, sites, log, workerId, {
  status: (path, clientAddress) => status.answer(path, clientAddress),
  onRequestStart: () => {
    served++;
    inFlight++;
    if (served >= requestsBeforeRecycle) checkRecycle();
  },
  onRequestEnd: () => {
    inFlight--;
  },
});
const connections = new ConnectionDrain(config.headersTimeoutMs);
/** The front ends this worker opens: HTTP unless --port none, FastCGI with --fastcgi. */
const listeners: { server: Server; what: string; listen(done: () => void): void }[] = [];
if (config.port !== null) {
  const port = config.port;
  const server = createHttpFront(config, pipeline, {
    onRequest: (req) => connections.busy(req.socket, true),
    onRequestDone: (req) => connections.busy(req.socket, false),
    closeAfterResponse: () => connections.draining,
  });
  listeners.push({
    server,
    what: describeAddress({ kind: "tcp", host: config.host, port }),
    listen: (done) => server.listen(port, config.host, done),
  });
}
if (config.fastcgi !== null) {
  const at = config.fastcgi;
  const server = createFastCgiFront(config, pipeline, {
    onBusy: (socket, busy) => connections.busy(socket, busy),
    closeAfterResponse: () => connections.draining,
    log: (message) => log.error({ worker: workerId }, message),
  });
  // Under node:cluster the primary holds the one listening socket (a port or a unix socket
  // path) and hands connections to the workers, as for HTTP.
  listeners.push({
    server,
    what: `fastcgi ${describeAddress(at)}`,
    listen: (done) =>
      at.kind === "unix" ? server.listen(at.path, done) : server.listen(at.port, at.host, done),
  });
}
for (const l of listeners) connections.watch(l.server);

function exitNow(code = 0): void {
  log.flush();
  setImmediate(() => process.exit(code));
}

/** Stop accepting, let in-flight requests and keep-alive clients finish, exit (drain.ts). */
function drainWorker(): void {
  if (draining) return;
  draining = true;
  void connections.drain().then(() => exitNow());
  setTimeout(() => exitNow(), config.wallTimeoutMs + 1000).unref();
}

process.on("message", (msg: unknown) => {
  if (!isMessage<ToWorker>(msg)) return;
  switch (msg.type) {
    case "snapshot-reply":
    case "stale-reply":
      requests.settle(msg.reqId, msg);
      break;
    case "prepare":
      void generations.prepare(msg.data);
      break;
    case "drain":
      generations.drain(msg.site, msg.generation);
      break;
    case "commit":
      generations.commit(msg.site, msg.generation, msg.ok, msg.changed);
      break;
    case "sites-changed":
      sites.refreshNames();
      break;
    case "stats-request":
      send({ type: "stats", reqId: msg.reqId, stats: stats() });
      break;
    case "status-reply":
      status.settle(msg.reqId, msg.snapshot);
      break;
    case "drain-worker":
      drainWorker();
      break;
    case "health-draining":
      health.drain();
      break;
    case "reopen-logs":
      log.reopen();
      break;
    case "watchdog-thread":
      startWatchdogThread();
      break;
    case "template-image-reply":
      requests.settle(msg.reqId, msg);
      break;
  }
});
// A SIGTERM sent to the whole process group reaches the workers too: the same health flip first.
process.on("SIGTERM", () => {
  health.drain();
  setTimeout(drainWorker, config.drainDelayMs);
});
process.on("SIGUSR1", () => log.reopen());
process.on("SIGINT", () => {}); // the primary decides; a terminal's Ctrl-C reaches every process

setInterval(() => sites.refreshNames(), 2000).unref();
setInterval(() => sites.evictIdle(), 1000).unref();
setInterval(() => send({ type: "heartbeat" }), 250).unref();
setInterval(checkRecycle, 500).unref();
let watchdogThread = false;
/** Fallback for where the primary cannot read the busy record itself (busy-peek.ts). */
function startWatchdogThread(): void {
  if (watchdogThread) return;
  watchdogThread = true;
  new Worker(new URL("./watchdog-thread.js", import.meta.url), {
    workerData: {
      buffer: busyBuffer,
      blameFile: join(process.env.SITEBOX_BLAME_DIR ?? tmpdir(), `${process.pid}.json`),
      watchdogMs: config.watchdogMs,
      worker: workerId,
    },
  }).unref();
}

/** After ready (a few ms of scanning, off the start's critical path). */
function announceBusyRecord(): void {
  // SITEBOX_WATCHDOG_THREAD=1: always the thread (where reading /proc/PID/mem misbehaves).
  const address = process.env.SITEBOX_WATCHDOG_THREAD === "1" ? null : locateBusy(busyBuffer);
  if (address === null) startWatchdogThread();
  else send({ type: "busy-at", address, magic: busyMagic() });
}

for (const l of listeners)
  l.server.once("error", (err: NodeJS.ErrnoException) => {
    log.error({ worker: workerId }, `cannot listen on ${l.what}: ${err.code ?? err.message}`);
    exitNow(1);
  });

/** Listens on every front end; ready once all of them are. */
async function listenAll(): Promise<void> {
  await Promise.all(listeners.map((l) => new Promise<void>((resolve) => l.listen(resolve))));
  const http = config.port === null ? null : listeners[0]!.server.address();
  const port = typeof http === "object" && http !== null ? http.port : config.port;
  send({ type: "ready", port });
}

// The sandbox template: a copy of the primary's image, else this worker builds its own. It is made
// before the first connection, so no request waits for it; --preload also loads every site's
// routes first.
useTemplateImage(() =>
  primaryImage((timeoutMs) =>
    requests.ask((reqId) => ({ type: "template-image-request", reqId }), timeoutMs),
  ),
);
void template()
  .then(() => (config.preload ? sites.preloadAll() : undefined))
  .then(listenAll)
  .then(announceBusyRecord);
