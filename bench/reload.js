// Reload latency: an atomic save (temp file + rename) of a module that the route imports, timed
// from the rename until every worker (by x-sitebox-worker) serves the new content. Polled with
// fresh connections; under `stat` that polling is what drives the reload (checked per request).
import fs from "node:fs";
import path from "node:path";
import { fmtMs, printGrid, progress, sleep, summarize, writeFiles } from "./common.js";
import { badAnswer, everyWorker, get } from "./client.js";
import { withSitebox } from "./servers.js";

const SAVES = { watch: 20, stat: 10 };
const TARGET_P50_MS = 100; // for watch
const POLL_GAP_MS = 2;
const SETTLE_MS = 100; // between one save being live everywhere and the next save
const GIVE_UP_MS = 10_000;

const versionModule = (v) => `export const version = "v${v}";\n`;

export async function runReload(ctx) {
  const results = [];
  for (const cache of ["watch", "stat"]) {
    const sitesDir = path.join(ctx.tmp, `reload-${cache}`);
    writeFiles(sitesDir, {
      "default/index.js": `import { version } from "./_lib/version.js";

export default {
  fetch() {
    return new Response(version, { headers: { "content-type": "text/plain" } });
  },
};
`,
      "default/_lib/version.js": versionModule(0),
    });
    progress(`reload (${cache}): ${SAVES[cache]} saves ...`);
    const more = { sitesDir, flags: ["--debug-headers"] };
    results.push(
      await withSitebox(ctx, `reload-${cache}`, cache, more, (server) =>
        measureReload(ctx, server, cache, path.join(sitesDir, "default/_lib/version.js")),
      ),
    );
  }
  return results;
}

async function measureReload(ctx, server, cache, file) {
  const workers = ctx.opts.workers;
  await everyWorker(server.port, "127.0.0.1", workers); // the site is loaded everywhere
  const perSave = []; // ms, or null when a save never went live everywhere
  const tally = { requests: 0, bad: 0, flipBacks: 0, badLines: [] };
  for (let v = 1; v <= SAVES[cache]; v++) {
    await sleep(SETTLE_MS);
    const t0 = atomicSave(file, versionModule(v));
    perSave.push(await untilEveryWorkerServes(server.port, `v${v}`, workers, t0, tally));
  }
  const ms = perSave.filter((x) => x !== null);
  const s = summarize(ms);
  return {
    cache,
    workers,
    saves: SAVES[cache],
    ...s,
    missed: perSave.length - ms.length,
    firstMs: perSave[0], // the first reload after start-up runs colder code
    targetP50Ms: cache === "watch" ? TARGET_P50_MS : null,
    met: cache === "watch" ? s.p50Ms !== null && s.p50Ms < TARGET_P50_MS : null,
    ...tally,
    perSave,
  };
}

/** Writes a temp file beside `file` and renames it over `file`; returns the time of the rename. */
function atomicSave(file, text) {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
  return performance.now();
}

/** Ms from `t0` until each worker has answered `want`, or null after GIVE_UP_MS. */
async function untilEveryWorkerServes(port, want, workers, t0, tally) {
  const seen = new Set();
  for (;;) {
    const r = await get(port, "/");
    const now = performance.now();
    tally.requests++;
    const bad = badAnswer(r, "GET /");
    if (bad) {
      tally.bad++;
      if (tally.badLines.length < 10) tally.badLines.push(bad);
    } else if (r.body === want) {
      seen.add(r.worker);
      if (seen.size >= workers) return now - t0;
    } else if (seen.has(r.worker)) {
      tally.flipBacks++; // served the new content, then the old again
    }
    if (now - t0 > GIVE_UP_MS) return null;
    await sleep(POLL_GAP_MS);
  }
}

export function printReload(results) {
  console.log(
    `\nReload latency: atomic save of an imported module until every worker serves it ` +
      `(polled every ~${POLL_GAP_MS} ms, fresh connections)`,
  );
  const rows = results.map((r) => [
    r.cache,
    String(r.saves),
    fmtMs(r.firstMs),
    fmtMs(r.p50Ms),
    fmtMs(r.p99Ms),
    fmtMs(r.maxMs),
    String(r.missed),
    String(r.bad),
    String(r.flipBacks),
    String(r.requests),
  ]);
  printGrid(
    [
      "cache",
      "saves",
      "1st save",
      "p50",
      "p99",
      "max",
      "missed",
      "bad answers",
      "flip-backs",
      "polls",
    ],
    rows,
  );
  const watch = results.find((r) => r.cache === "watch");
  if (watch)
    console.log(
      `watch reload p50 ${fmtMs(watch.p50Ms)} (target < ${TARGET_P50_MS} ms: ` +
        `${watch.met ? "met" : "NOT met"})`,
    );
}
