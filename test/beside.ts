/**
 * More for containment tests, on top of healthy.ts (the healthy neighbour's load and its p50
 * check): a window of healthy load around an attack, the workers' figures and CPU use, and the
 * log lines an attack wrote.
 */
import { readFileSync } from "node:fs";
import { request, sleep, type RunningServer } from "./helpers.js";
import { healthyLoad, type LoadResult } from "./healthy.js";

/** The healthy site's load over `ms` (4 clients): a baseline, or the figures around an attack. */
export async function healthyFor(
  server: RunningServer,
  ms: number,
  during: () => Promise<unknown> = async () => {},
  host = "healthy",
): Promise<LoadResult> {
  const load = healthyLoad(server.url, host, "ok", 4);
  const t = Date.now();
  await during();
  await sleep(ms - (Date.now() - t));
  return load.stop();
}

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
function cpuMs(pid: number): number {
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

/** stderr lines that appeared after `from` (a length of `server.stderr()`). */
export const linesSince = (server: RunningServer, from: number) =>
  server.stderr().slice(from).split("\n").filter(Boolean);
