/**
 * Helpers for the process and memory demos (memory, idle-eviction, leak, recycle-stampede,
 * restart, runaway): the status page as data, many tiny sites, a free port, and a paced load that
 * sorts its failures by kind (connection refused, reset, timeout, status) and measures the longest
 * stretch with no successful answer.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { join } from "node:path";
import * as h from "./harness.js";

export interface SiteFigures {
  site: string;
  loaded: boolean;
  requests: number;
  limitKills: number;
  sandboxBytes: number;
  rebuilds: { at: number; reason: string }[];
}

export interface WorkerFigures {
  pid: number;
  id: number;
  requests: number;
  rssBytes: number;
  sandboxBytes: number;
  sites: SiteFigures[];
}

/** The parts of /.sitebox/status.json the demos read. */
export interface Status {
  now: number;
  workers: WorkerFigures[];
  recycles: { at: number; pid: number; reason: string }[];
  watchdog?: { at: number; pid: number; site: string | null; route: string | null }[];
  primary?: { pid: number; rssBytes: number };
}

export async function status(s: h.Server): Promise<Status> {
  const r = await h.get(s, "/.sitebox/status.json").catch((err: Error) => {
    throw new Error(`reading /.sitebox/status.json: ${err.message}`);
  });
  if (r.status !== 200) throw new Error(`/.sitebox/status.json answered ${r.status}`);
  return JSON.parse(r.text) as Status;
}

/** Bytes → "61.3" (MiB, one decimal: the table right-aligns it). */
export const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
export const loadedCount = (w: WorkerFigures) => w.sites.filter((x) => x.loaded).length;
/** RSS of the primary plus every worker: what the machine pays. */
export const totalRss = (st: Status) =>
  (st.primary?.rssBytes ?? 0) + sum(st.workers.map((w) => w.rssBytes));

/** A port that was free a moment ago (for a server that must come back on the same address). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A temp sites folder with `n` tiny sites `site01.test`…, each answering its own name. */
export function manySites(n: number): { sites: string; hosts: string[] } {
  const sites = join(h.tempRoot(), "sites");
  const hosts: string[] = [];
  for (let i = 1; i <= n; i++) {
    const host = `site${String(i).padStart(2, "0")}.test`;
    mkdirSync(join(sites, host), { recursive: true });
    writeFileSync(
      join(sites, host, "index.js"),
      `export default { fetch() { return new Response("hello from ${host}"); } };\n`,
    );
    hosts.push(host);
  }
  return { sites, hosts };
}

/**
 * One keep-alive connection per worker (new connections rotate over the workers, and a kept one
 * stays with its worker), so a demo can send a request to every worker on purpose. `host` names
 * a site to probe with (the worker header comes with site answers only).
 */
export async function pinned(s: h.Server, workers: number, host?: string): Promise<http.Agent[]> {
  const byWorker = new Map<string, http.Agent>();
  for (let i = 0; i < workers * 10 && byWorker.size < workers; i++) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const r = await h.get(s, "/", { agent, host });
    if (byWorker.has(r.worker) || r.worker === "-") agent.destroy();
    else byWorker.set(r.worker, agent);
  }
  if (byWorker.size < workers) throw new Error(`reached ${byWorker.size} of ${workers} workers`);
  return [...byWorker.values()];
}

/** Visits every host once on every worker, so each worker holds a sandbox for each site. */
export async function visitAll(s: h.Server, hosts: string[], workers: number): Promise<void> {
  const agents = await pinned(s, workers, hosts[0]);
  try {
    await Promise.all(
      agents.map(async (agent) => {
        for (const host of hosts) {
          const r = await h.get(s, "/", { host, agent });
          if (r.status !== 200) throw new Error(`${host} answered ${r.status}: ${r.text}`);
        }
      }),
    );
  } finally {
    for (const a of agents) a.destroy();
  }
}

export interface Outcome {
  /** 200, another status, or the error: ECONNREFUSED, ECONNRESET, timeout… */
  result: number | string;
  path: string;
  start: number;
  end: number;
  worker: string;
  text: string;
}

/** One GET that never rejects: a failure becomes its error code. */
export function attempt(
  s: h.Server,
  path: string,
  o: { host?: string; agent?: http.Agent | false; timeoutMs?: number } = {},
): Promise<Outcome> {
  const start = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: number | string, worker = "-", text = "") => {
      if (settled) return;
      settled = true;
      resolve({ result, path, start, end: performance.now(), worker, text });
    };
    const headers = o.host !== undefined ? { host: o.host } : undefined;
    const req = http.get(new URL(path, s.url), { agent: o.agent ?? false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
      res.on("end", () =>
        done(
          res.statusCode ?? 0,
          String(res.headers["x-sitebox-worker"] ?? "-"),
          Buffer.concat(chunks).toString().trim(),
        ),
      );
    });
    req.setTimeout(o.timeoutMs ?? 5000, () => {
      done("timeout");
      req.destroy();
    });
    req.on("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

export interface TrafficResult {
  outcomes: Outcome[];
  ok: number;
  failed: number;
  /** "ECONNREFUSED ×12, 503 ×1", or "none". */
  failures: string;
  p50: number;
  p99: number;
  max: number;
  /** The longest stretch (ms) in which no request succeeded. */
  gap: number;
  seconds: number;
}

/**
 * `clients` loops, each starting a request every `paceMs` (or right after the previous one when it
 * takes longer), on a fresh connection unless `keepAlive`. Paced, so a failure does not turn into
 * a flood of retries: every failure is a request a real client would have sent at that moment.
 */
export function traffic(
  s: h.Server,
  o: {
    clients: number;
    paceMs: number;
    path?: string;
    host?: string;
    keepAlive?: boolean;
    timeoutMs?: number;
  },
): { stop(): Promise<TrafficResult>; outcomes: Outcome[] } {
  const outcomes: Outcome[] = [];
  let stopping = false;
  const t0 = performance.now();
  const client = async () => {
    const agent = o.keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
    let next = performance.now();
    while (!stopping) {
      const r = await attempt(s, o.path ?? "/", { host: o.host, agent, timeoutMs: o.timeoutMs });
      outcomes.push(r);
      next = Math.max(next + o.paceMs, performance.now());
      await h.sleep(next - performance.now());
    }
    if (agent) agent.destroy();
  };
  const running = Promise.all(Array.from({ length: o.clients }, client));
  return {
    outcomes,
    async stop() {
      stopping = true;
      await running;
      return summarize(outcomes, t0, performance.now());
    },
  };
}

/** Counts, latency percentiles (successes only) and the longest stretch with no success. */
export function summarize(outcomes: Outcome[], t0: number, t1: number): TrafficResult {
  const good = outcomes.filter((r) => r.result === 200);
  const kinds = new Map<string, number>();
  for (const r of outcomes)
    if (r.result !== 200) kinds.set(String(r.result), (kinds.get(String(r.result)) ?? 0) + 1);
  const times = good.map((r) => r.end - r.start);
  const ends = good.map((r) => r.end).sort((a, b) => a - b);
  let gap = 0;
  let last = t0;
  for (const e of [...ends, t1]) {
    gap = Math.max(gap, e - last);
    last = e;
  }
  return {
    outcomes,
    ok: good.length,
    failed: outcomes.length - good.length,
    failures: kinds.size ? [...kinds.entries()].map(([k, n]) => `${k} ×${n}`).join(", ") : "none",
    p50: h.percentile(times, 50),
    p99: h.percentile(times, 99),
    max: times.length ? Math.max(...times) : 0,
    gap,
    seconds: (t1 - t0) / 1000,
  };
}

/** Polls the status page every `everyMs` until stopped; failed polls are skipped. */
export function sampler(s: h.Server, everyMs: number) {
  const samples: { t: number; st: Status }[] = [];
  let stopping = false;
  const t0 = performance.now();
  const running = (async () => {
    while (!stopping) {
      const st = await status(s).catch(() => null);
      if (st !== null) samples.push({ t: performance.now() - t0, st });
      await h.sleep(everyMs);
    }
  })();
  return {
    samples,
    async stop() {
      stopping = true;
      await running;
      return samples;
    },
  };
}
