/**
 * A healthy site served beside an attacker: keep it under load, measure what it sees, and read
 * the workers' RSS and CPU, so a containment test can assert that the attack cost it nothing.
 */
import { readFileSync } from "node:fs";
import { request, sleep, type RunningServer } from "./helpers.js";

export interface HealthyRun {
  /** Latencies (ms) of the answers, in order. */
  latencies: number[];
  /** Anything that was not a 200 with the expected body. */
  failures: string[];
}

/** Keeps `clients` keep-alive clients asking `host` for `/` until stopped. */
export function healthyLoad(server: RunningServer, host = "healthy", clients = 4, expect = "ok") {
  let stop = false;
  const run: HealthyRun = { latencies: [], failures: [] };
  const done = Promise.all(
    Array.from({ length: clients }, async () => {
      while (!stop) {
        const t = performance.now();
        try {
          const r = await request(server.url, "/", { headers: { host }, timeoutMs: 10_000 });
          if (r.status !== 200 || r.text !== expect) run.failures.push(`${r.status} ${r.text}`);
          else run.latencies.push(performance.now() - t);
        } catch (e) {
          run.failures.push(String(e));
        }
      }
    }),
  );
  return {
    run,
    async stop(): Promise<HealthyRun> {
      stop = true;
      await done;
      return run;
    },
  };
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** The healthy site's p50 (ms) over `ms` of load, with nothing else going on. */
export async function baselineP50(server: RunningServer, ms = 400, host = "healthy") {
  const l = healthyLoad(server, host);
  await sleep(ms);
  const r = await l.stop();
  if (r.failures.length > 0) throw new Error(`healthy site failing: ${r.failures[0]}`);
  return percentile(r.latencies, 50);
}

/**
 * "Within 2x of its baseline": sub-millisecond medians on a shared machine move by more than
 * that with scheduling alone, so the baseline counts as at least 1 ms.
 */
export const p50Bound = (baseline: number) => 2 * Math.max(baseline, 1);

export interface WorkerFigures {
  pid: number;
  rssBytes: number;
  abandoned: number;
  sites: { site: string; loaded: boolean; limitKills: number; lastError: string | null }[];
}

export async function workers(server: RunningServer): Promise<WorkerFigures[]> {
  const r = await request(server.url, "/.sitebox/status.json");
  return (JSON.parse(r.text) as { workers: WorkerFigures[] }).workers;
}

/** CPU time (ms, user + system) a process has used, from /proc. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

/** The workers' CPU use (fraction of one core, summed) over the next `ms`. */
export async function workersCpu(server: RunningServer, ms = 500): Promise<number> {
  const pids = (await workers(server)).map((w) => w.pid);
  const before = pids.map(cpuMs);
  const t = performance.now();
  await sleep(ms);
  const used = pids.reduce((sum, pid, i) => sum + cpuMs(pid) - before[i]!, 0);
  return used / (performance.now() - t);
}

/** Polls `cond` until it holds (or fails after `timeoutMs`). */
export async function until(cond: () => Promise<boolean> | boolean, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(50);
  }
}

/** stderr lines that appeared after `from` (a length of `server.stderr()`). */
export const linesSince = (server: RunningServer, from: number) =>
  server.stderr().slice(from).split("\n").filter(Boolean);
