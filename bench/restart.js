// Rolling restart under load: wrk on the hello route (the hello run's threads and connections),
// SIGHUP to the primary 2 s in; every wrk error and non-2xx answer is a request the roll failed.
import path from "node:path";
import { fmtMs, printGrid, progress, sleep } from "./common.js";
import { status } from "./client.js";
import { makeSites, withSitebox } from "./servers.js";
import { runWrk } from "./wrk.js";

const SECONDS = 8;
const HUP_AT_MS = 2000;
const POLL_MS = 250;

export async function runRestart(ctx) {
  progress(`rolling restart: wrk ${SECONDS} s, SIGHUP at ${HUP_AT_MS / 1000} s ...`);
  const sitesDir = path.join(ctx.tmp, "restart-sites");
  makeSites(sitesDir);
  return withSitebox(ctx, "restart", "watch", { sitesDir }, async (server) => {
    const url = `http://127.0.0.1:${server.port}/`;
    await runWrk(ctx.opts, 1, url); // warm-up
    const before = pidsOf(await status(server.port));
    const load = runWrk(ctx.opts, SECONDS, url); // wrk is spawned now
    await sleep(HUP_AT_MS);
    process.kill(server.pid, "SIGHUP");
    const roll = await watchRoll(server.port, before, SECONDS * 1000 - HUP_AT_MS + 10_000);
    const wrk = await load;
    const after = pidsOf(await status(server.port));
    const failed = wrk.socketErrors + wrk.non2xx;
    return {
      seconds: SECONDS,
      hupAtMs: HUP_AT_MS,
      ...wrk,
      failed,
      pidsBefore: before,
      pidsAfter: after,
      replaced: before.filter((pid) => !after.includes(pid)).length,
      rollMs: roll.ms,
      rollDuringLoad: roll.ms !== null && roll.ms < SECONDS * 1000 - HUP_AT_MS,
      statusFailures: roll.failures,
    };
  });
}

const pidsOf = (s) => s.workers.map((w) => w.pid).sort((a, b) => a - b);

/**
 * Polls status.json until none of `before` is left and as many workers serve again; returns the
 * time that took from now (null after `limitMs`) and how many status requests failed meanwhile.
 */
async function watchRoll(port, before, limitMs) {
  const t0 = performance.now();
  let failures = 0;
  while (performance.now() - t0 < limitMs) {
    await sleep(POLL_MS);
    try {
      const pids = pidsOf(await status(port));
      if (pids.length >= before.length && !pids.some((p) => before.includes(p)))
        return { ms: performance.now() - t0, failures };
    } catch {
      failures++;
    }
  }
  return { ms: null, failures };
}

export function printRestart(r) {
  console.log(
    `\nRolling restart under load: wrk ${r.seconds} s on /, SIGHUP to the primary at ` +
      `${r.hupAtMs / 1000} s`,
  );
  const s = r.socket;
  printGrid(
    ["requests", "req/s", "connect", "read", "write", "timeout", "non-2xx", "failed", "replaced"],
    [
      [
        String(r.requests),
        Math.round(r.rps).toLocaleString("en-US"),
        String(s.connect),
        String(s.read),
        String(s.write),
        String(s.timeout),
        String(r.non2xx),
        String(r.failed),
        `${r.replaced} of ${r.pidsBefore.length}`,
      ],
    ],
    "rrrrrrrrr",
  );
  console.log(
    `failed requests ${r.failed} (target 0: ${r.failed === 0 ? "met" : "NOT met"}); ` +
      `workers ${r.pidsBefore.join(",")} -> ${r.pidsAfter.join(",")}; roll took ` +
      `${r.rollMs === null ? "longer than the watch" : `~${fmtMs(r.rollMs)} (status polled every ${POLL_MS} ms)`}` +
      (r.rollMs !== null && !r.rollDuringLoad ? ", finishing after the load ended" : ""),
  );
}
