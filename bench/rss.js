// Memory per worker as sites load: RSS and sandbox bytes from status.json at rest, then after 10
// and 50 different sites (by Host header) have answered in every worker.
import path from "node:path";
import { MiB, fmtMiB, mean, printGrid, progress, sleep } from "./common.js";
import { everyWorker, status } from "./client.js";
import { makeHostSite, withSitebox } from "./servers.js";

const STAGES = [10, 50];
const SETTLE_MS = 500; // before each reading, so the last requests' garbage is not counted

export async function runRss(ctx) {
  const sitesDir = path.join(ctx.tmp, "rss-sites");
  const total = STAGES[STAGES.length - 1];
  for (let i = 1; i <= total; i++) makeHostSite(sitesDir, `site-${i}.test`);
  progress(`memory: ${ctx.opts.workers} workers, at rest, then ${STAGES.join(" and ")} sites ...`);
  const more = { sitesDir, flags: ["--debug-headers"] };
  return withSitebox(ctx, "rss", "watch", more, async (server) => {
    await sleep(SETTLE_MS);
    const stages = [await reading(server, 0)];
    let loaded = 0;
    for (const n of STAGES) {
      for (; loaded < n; loaded++)
        await everyWorker(server.port, `site-${loaded + 1}.test`, ctx.opts.workers);
      await sleep(SETTLE_MS);
      stages.push(await reading(server, n));
    }
    return { workers: ctx.opts.workers, stages: withDeltas(stages) };
  });
}

/** Each worker's figures now, with how many sandboxes it holds. */
async function reading(server, sites) {
  const s = await status(server.port);
  const workers = s.workers.map((w) => ({
    pid: w.pid,
    rssBytes: w.rssBytes,
    sandboxBytes: w.sandboxBytes,
    loaded: w.sites.filter((x) => x.loaded).length,
  }));
  return {
    sites,
    workers,
    rssBytes: mean(workers.map((w) => w.rssBytes)),
    sandboxBytes: mean(workers.map((w) => w.sandboxBytes)),
  };
}

/**
 * Per-site cost of each stage: the growth over the resting reading divided by the sites, and the
 * growth over the previous stage divided by the sites added (without the first sites' one-time
 * costs). sandboxBytes is the size of the sandboxes' wasm memories, not what of them is resident.
 */
function withDeltas(stages) {
  const rest = stages[0];
  return stages.map((s, i) => ({
    ...s,
    rssPerSiteBytes: s.sites ? (s.rssBytes - rest.rssBytes) / s.sites : null,
    rssPerAddedSiteBytes: s.sites
      ? (s.rssBytes - stages[i - 1].rssBytes) / (s.sites - stages[i - 1].sites)
      : null,
    sandboxPerSiteBytes: s.sites ? (s.sandboxBytes - rest.sandboxBytes) / s.sites : null,
  }));
}

const mib2 = (b) => (b / MiB).toFixed(2);

export function printRss(r) {
  console.log(
    `\nMemory per worker (${r.workers} workers; status.json rssBytes and sandboxBytes, MiB; ` +
      `sandbox = memory the interpreters allocated)`,
  );
  const rows = r.stages.map((s) => [
    s.sites ? `after ${s.sites} sites` : "at rest",
    s.workers.map((w) => w.loaded).join("/"),
    `${fmtMiB(s.rssBytes)} (${s.workers.map((w) => fmtMiB(w.rssBytes)).join("/")})`,
    s.sites ? mib2(s.rssPerSiteBytes) : "-",
    s.sites ? mib2(s.rssPerAddedSiteBytes) : "-",
    fmtMiB(s.sandboxBytes),
    s.sites ? mib2(s.sandboxPerSiteBytes) : "-",
  ]);
  printGrid(
    [
      "stage",
      "sandboxes",
      "RSS/worker (each)",
      "RSS/site",
      "RSS/added site",
      "sandbox/worker",
      "sandbox/site",
    ],
    rows,
  );
}
