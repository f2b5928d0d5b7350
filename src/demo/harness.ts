/**
 * Shared helpers for the demos: a temp copy of a small site, a real `sitebox serve` child process,
 * HTTP requests with node:http (fresh or keep-alive connections), file edits and a tiny load
 * generator; printing is in print.ts, re-exported here. Every server and temp folder is
 * registered, so `cleanup()` removes them whatever happened in the demo.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** dist/demo/harness.js → bin/sitebox.js */
export const BIN = fileURLToPath(new URL("../../bin/sitebox.js", import.meta.url));
/** Shorter load phases (tests set SITEBOX_DEMO_QUICK=1). */
export const QUICK = process.env.SITEBOX_DEMO_QUICK === "1";
export const WORKERS = 2;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const dirs: string[] = [];
const servers = new Set<Server>();

export function tempRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), "sitebox-demo-"));
  dirs.push(dir);
  return dir;
}

/** Writes files under `dir`, dated a minute ago: deployed earlier, so any edit is a new second. */
export function writeTree(dir: string, files: Record<string, string>): void {
  const past = new Date(Date.now() - 60_000);
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    utimesSync(path, past, past);
  }
}

/** A temp sites folder holding one site `default`; returns the sites folder and the site folder. */
export function makeSite(files: Record<string, string>): { sites: string; site: string } {
  const sites = join(tempRoot(), "sites");
  writeTree(join(sites, "default"), files);
  return { sites, site: join(sites, "default") };
}

/** An editor's safe save: write a temp file beside it, then rename over the old one. */
export function atomicSave(path: string, text: string): void {
  writeFileSync(`${path}.sitebox-tmp`, text);
  renameSync(`${path}.sitebox-tmp`, path);
}

/** A plain in-place write (truncate + write), as `>` or most deploy scripts do. */
export const plainWrite = (path: string, text: string) => writeFileSync(path, text);

export interface Server {
  url: string;
  pid: number;
  proc: ChildProcess;
  stderr(): string;
  /** Resolves with the first match of `re` on stderr, or null after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray | null>;
  stop(): Promise<void>;
}

/**
 * Spawns `sitebox serve SITES --port 0 --cache CACHE --debug-headers` and waits for its port.
 * `port` listens on that port instead (a restart on the same address).
 */
export async function serve(
  sites: string,
  cache: string,
  opts: { workers?: number; extra?: string[]; port?: number } = {},
): Promise<Server> {
  const port = String(opts.port ?? 0);
  const args = [BIN, "serve", sites, "--port", port, "--workers", String(opts.workers ?? WORKERS)];
  args.push("--cache", cache, "--debug-headers", ...(opts.extra ?? []));
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  const waiters = new Set<() => void>();
  proc.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    for (const w of waiters) w();
  });
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  const waitFor = (re: RegExp, ms = 10_000) =>
    new Promise<RegExpMatchArray | null>((resolve) => {
      const done = (m: RegExpMatchArray | null) => {
        waiters.delete(check);
        clearTimeout(timer);
        resolve(m);
      };
      const check = () => {
        const m = re.exec(err);
        if (m !== null) done(m);
        else if (proc.exitCode !== null) done(null);
      };
      const timer = setTimeout(() => done(null), ms);
      waiters.add(check);
      check();
    });
  const server: Server = {
    url: "",
    pid: proc.pid ?? 0,
    proc,
    stderr: () => err,
    waitFor,
    async stop() {
      servers.delete(server);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
  servers.add(server);
  const m = await waitFor(/serving .* on (http:\/\/[^ ]+) \(.*pid (\d+)\)/, 15_000);
  if (m === null) throw new Error(`sitebox serve did not start:\n${err}`);
  server.url = m[1]!;
  server.pid = Number(m[2]);
  return server;
}

export interface Reply {
  status: number;
  text: string;
  worker: string;
  generation: string;
  /** performance.now() when the request was sent and when the answer ended. */
  start: number;
  end: number;
}

/** One GET. `agent: false` (the default) opens a fresh connection, so the workers take turns. */
export function get(
  s: Server,
  path: string,
  opts: { agent?: http.Agent | false; host?: string } = {},
): Promise<Reply> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const headers = opts.host !== undefined ? { host: opts.host } : undefined;
    const req = http.get(new URL(path, s.url), { agent: opts.agent ?? false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString().trim(),
          worker: String(res.headers["x-sitebox-worker"] ?? "-"),
          generation: String(res.headers["x-sitebox-generation"] ?? "-"),
          start,
          end: performance.now(),
        }),
      );
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on("error", reject);
  });
}

/** `n` requests, each on a fresh connection. */
export async function fresh(s: Server, path: string, n: number, host?: string): Promise<Reply[]> {
  const out: Reply[] = [];
  for (let i = 0; i < n; i++) out.push(await get(s, path, { host }));
  return out;
}

/**
 * Polls with fresh connections until `workers` distinct workers answered something `ok` (a worker
 * that answers a non-ok text again leaves the set). Returns the ms it took, or null on timeout.
 */
export async function untilAll(
  s: Server,
  path: string,
  ok: (r: Reply) => boolean,
  o: { workers?: number; timeoutMs?: number; host?: string; since?: number } = {},
): Promise<number | null> {
  const since = o.since ?? performance.now();
  const good = new Set<string>();
  const deadline = performance.now() + (o.timeoutMs ?? 10_000);
  while (performance.now() < deadline) {
    const r = await get(s, path, { host: o.host }).catch(() => null);
    if (r !== null && ok(r)) good.add(r.worker);
    else if (r !== null) good.delete(r.worker);
    if (good.size >= (o.workers ?? WORKERS)) return performance.now() - since;
  }
  return null;
}

export interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
}

/** `connections` keep-alive clients, each sending requests back to back for `seconds`. */
export async function load(
  s: Server,
  o: {
    connections: number;
    seconds: number;
    path: (i: number) => string;
    onReply?: (path: string, r: Reply) => void;
  },
): Promise<LoadResult> {
  const times: number[] = [];
  let errors = 0;
  let n = 0;
  const t0 = performance.now();
  const end = t0 + o.seconds * 1000;
  const client = async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    while (performance.now() < end) {
      const path = o.path(n++);
      try {
        const r = await get(s, path, { agent });
        times.push(r.end - r.start);
        if (r.status !== 200) errors++;
        o.onReply?.(path, r);
      } catch {
        errors++;
      }
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: o.connections }, client));
  const rps = times.length / ((performance.now() - t0) / 1000);
  const [p50, p99] = [percentile(times, 50), percentile(times, 99)];
  return { requests: times.length, errors, rps, p50, p99 };
}

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.ceil((v.length * p) / 100) - 1)] ?? 0;
}

/** Stops every server and removes every temp folder a demo created. */
export async function cleanup(): Promise<void> {
  await Promise.all([...servers].map((s) => s.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Ctrl-C: no server or temp folder left behind. */
export function cleanupNow(): void {
  for (const s of servers) s.proc.kill("SIGKILL");
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export * from "./print.js";
