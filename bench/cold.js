// Cold start: the first request to a site in a worker builds the site's sandbox and loads its
// modules. Measured per (site, worker) on fresh connections, against a warm site's requests, once
// without and once with --preload (which should make the first request cost like a warm one).
import path from "node:path";
import { BenchError, fmtMs, printGrid, progress, summarize } from "./common.js";
import { badAnswer, everyWorker, get } from "./client.js";
import { makeHostSite, withSitebox } from "./servers.js";

const SITES = 20;
const WARM_PER_WORKER = 100; // half warm-up, half measured

export async function runCold(ctx) {
  const sitesDir = path.join(ctx.tmp, "cold-sites");
  makeHostSite(sitesDir, "warm.test");
  for (let i = 1; i <= SITES; i++) makeHostSite(sitesDir, `cold-${i}.test`);
  const variants = [
    { variant: "no preload", name: "cold", flags: [] },
    { variant: "--preload", name: "cold-preload", flags: ["--preload"] },
  ];
  const results = [];
  for (const { variant, name, flags } of variants) {
    progress(`cold start (${variant}): ${SITES} sites x ${ctx.opts.workers} workers ...`);
    const more = { sitesDir, flags: ["--debug-headers", ...flags] };
    results.push(
      await withSitebox(ctx, name, "watch", more, (server) => measureCold(ctx, server, variant)),
    );
  }
  return results;
}

async function measureCold(ctx, server, variant) {
  const workers = ctx.opts.workers;
  // The warm site first: every worker's own code paths (HTTP, router, a sandbox) are then warm, so
  // the cold samples measure the site's load alone.
  const warmMs = [];
  for (let i = 0; i < WARM_PER_WORKER * workers; i++) {
    const r = await get(server.port, "/", "warm.test");
    const bad = badAnswer(r, "warm.test /");
    if (bad) throw new BenchError(bad);
    if (i >= (WARM_PER_WORKER * workers) / 2) warmMs.push(r.ms);
  }
  // Then each cold site until every worker has answered it once: each first answer is a sample.
  const samples = [];
  for (let i = 1; i <= SITES; i++) {
    const { first } = await everyWorker(server.port, `cold-${i}.test`, workers);
    first.forEach((r, order) => samples.push({ site: i, worker: r.worker, order, ms: r.ms }));
  }
  const coldMs = samples.map((s) => s.ms);
  return {
    variant,
    workers,
    sites: SITES,
    serverStartMs: server.startMs,
    cold: summarize(coldMs),
    // The first worker to see a site also has the primary read the site's files.
    coldFirstWorker: summarize(samples.filter((s) => s.order === 0).map((s) => s.ms)),
    warm: summarize(warmMs),
    samples,
  };
}

export function printCold(results) {
  console.log(
    `\nCold start: first request to a site in a worker (fresh connection each; ` +
      `${results[0].sites} sites x ${results[0].workers} workers), against a warm site's requests`,
  );
  const rows = results.map((r) => [
    r.variant,
    String(r.cold.samples),
    fmtMs(r.cold.p50Ms),
    fmtMs(r.cold.p99Ms),
    fmtMs(r.coldFirstWorker.p50Ms),
    fmtMs(r.warm.p50Ms),
    fmtMs(r.warm.p99Ms),
    r.warm.p50Ms ? `${(r.cold.p50Ms / r.warm.p50Ms).toFixed(1)}x` : "?",
    fmtMs(r.serverStartMs),
  ]);
  printGrid(
    [
      "variant",
      "samples",
      "cold p50",
      "cold p99",
      "1st worker p50",
      "warm p50",
      "warm p99",
      "cold/warm",
      "server start",
    ],
    rows,
  );
  const pre = results.find((r) => r.variant === "--preload");
  if (pre)
    console.log(
      `--preload: first request p50 ${fmtMs(pre.cold.p50Ms)} vs warm p50 ${fmtMs(pre.warm.p50Ms)}, ` +
        `+${fmtMs(pre.cold.p50Ms - pre.warm.p50Ms)} ` +
        `(like a warm one, within +${LIKE_WARM_MS} ms: ${likeWarm(pre) ? "yes" : "NO"})`,
    );
}

/** Within LIKE_WARM_MS of the warm p50: a cold load costs tens of ms, loopback jitter less than 1. */
const LIKE_WARM_MS = 1;
export const likeWarm = (r) => r.cold.p50Ms - r.warm.p50Ms <= LIKE_WARM_MS;
