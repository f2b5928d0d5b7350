/**
 * The healthy site beside the attacks of contained-*.test.ts and response-path.test.ts, on the
 * shared helpers of healthy.ts: one call runs an attack inside a healthy-load window and checks
 * the "Done when" for the bystander (no lost request, p50 within 2x of its baseline).
 */
import { expect } from "vitest";
import { request, sleep, type RunningServer } from "./helpers.js";
import { expectP50Within2x, healthyLoad, type LoadResult } from "./healthy.js";

export const MiB = 1024 * 1024;

/** A short baseline from the same loops as the attack window (16 answers). */
async function quickBaseline(server: RunningServer): Promise<LoadResult> {
  const load = healthyLoad(server.url, "healthy", "healthy");
  while (load.count < 16) await sleep(5);
  return load.stop();
}

/**
 * Runs `attack` while the healthy site is loaded, then judges it (healthy.ts). `backdrop` starts
 * traffic that is part of the scene but not of the attack (the same requests on a file nobody
 * swaps) and returns its stop function: baselines are taken under it. A repeatable attack may run
 * `attempts` times when only the p50 misses (load from elsewhere lands in one window, rarely in
 * two); a lost request fails at once.
 */
export async function whileHealthy<T>(
  server: RunningServer,
  attack: () => Promise<T>,
  opts: { backdrop?: () => () => Promise<void>; attempts?: number } = {},
): Promise<T> {
  const baseline = async () => {
    const stop = opts.backdrop?.();
    try {
      return await quickBaseline(server);
    } finally {
      await stop?.();
    }
  };
  for (let attempt = 1; ; attempt++) {
    const before = await baseline();
    const load = healthyLoad(server.url, "healthy", "healthy");
    const result = await attack();
    const during = await load.stop();
    expect(during.failures).toEqual([]);
    try {
      await expectP50Within2x(during, before, baseline);
      return result;
    } catch (err) {
      if (attempt >= (opts.attempts ?? 1)) throw err;
    }
  }
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

/** Every worker's figures from the status page (beside.ts), on a fresh connection's worker. */
export { workers as workerFigures } from "./beside.js";
