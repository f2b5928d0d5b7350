/**
 * A handler that leaks into module state grows its worker until something restarts it. Apache
 * (MaxConnectionsPerChild), PHP-FPM (pm.max_requests) and gunicorn (max_requests) only count
 * requests; uWSGI's reload-on-rss exits as soon as one request ends. sitebox's --max-memory
 * replaces a worker whose RSS passed the bound: the replacement is ready first, then the old one
 * drains, so no request fails.
 */
import * as h from "./harness.js";
import { mib, sampler, status, traffic, type Status } from "./ops.js";

const LEAKY = `const kept = []; // module state: lives as long as the site's sandbox
export default {
  fetch() {
    kept.push(String(kept.length).padEnd(1 << 20, ".")); // 1 MiB per request, never released
    return new Response("kept " + kept.length + " MiB");
  },
};
`;

const CLIENTS = 2;
const PACE_MS = 20;

/** "pid 1234: 210.3" per worker. */
const workers = (st: Status) =>
  st.workers.map((w) => `${w.pid}: ${mib(w.rssBytes).padStart(5)}`).join("   ");
const maxRss = (st: Status) => Math.max(...st.workers.map((w) => w.rssBytes));

export async function run(): Promise<boolean> {
  const { sites } = h.makeSite({ "index.js": LEAKY });
  h.say("the route keeps 1 MiB per request in a module-level array:");
  for (const l of LEAKY.trimEnd().split("\n")) h.say(`    ${l}`);
  h.say(
    `${CLIENTS} clients, a request every ${PACE_MS} ms each (fresh connections), ${h.WORKERS} workers,\n` +
      "  --memory 512 (so the sandbox's own cap is not what stops it first).",
  );

  h.section(
    "PITFALL",
    "nothing watches the process size: RSS climbs with every request until the sandbox cap, the\n" +
      "kernel's OOM killer or an operator's restart. Apache, PHP-FPM and gunicorn recycle only by\n" +
      "request count, which knows nothing of size. Without --max-memory:",
  );
  let s = await h.serve(sites, "watch", { extra: ["--memory", "512"] });
  const stopAt = (h.QUICK ? 250 : 320) * 1048576;
  let load = traffic(s, { clients: CLIENTS, paceMs: PACE_MS });
  let poll = sampler(s, 500);
  const t0 = performance.now();
  while (performance.now() - t0 < 8000) {
    await h.sleep(100);
    const last = poll.samples.at(-1);
    if (last !== undefined && maxRss(last.st) > stopAt) break;
  }
  let samples = await poll.stop();
  const grow = await load.stop();
  h.table(
    ["t", "RSS MiB per worker (pid: MiB)"],
    samples.map((x) => [`${(x.t / 1000).toFixed(1)} s`, workers(x.st)]),
  );
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const rate = (maxRss(last.st) - maxRss(first.st)) / ((last.t - first.t) / 1000);
  h.say(
    `${grow.ok} requests: RSS ${mib(maxRss(first.st))} → ${mib(maxRss(last.st))} MiB in ` +
      `${((last.t - first.t) / 1000).toFixed(1)} s, +${mib(rate)} MiB/s per worker. Nothing stops it\n` +
      "  until the site's sandbox reaches its 512 MB cap (that request fails with 503 and the\n" +
      "  sandbox is rebuilt), and that is per site: a few leaking sites multiply it. Stopped here.",
  );
  await s.stop();

  h.section(
    "FIX",
    "--max-memory 150: a worker whose RSS passes 150 MiB asks the primary for a replacement; the\n" +
      "new worker is ready first, then the old one stops taking connections, finishes what it has\n" +
      "and exits. One worker at a time. The same load:",
  );
  s = await h.serve(sites, "watch", { extra: ["--memory", "512", "--max-memory", "150"] });
  load = traffic(s, { clients: CLIENTS, paceMs: PACE_MS });
  poll = sampler(s, 500);
  const t1 = performance.now();
  const wall1 = Date.now();
  const limit = h.QUICK ? 9000 : 12_000;
  const want = h.QUICK ? h.WORKERS : h.WORKERS + 1;
  const recycled = (st: Status) => st.recycles.filter((r) => /--max-memory/.test(r.reason));
  while (performance.now() - t1 < limit) {
    await h.sleep(100);
    const last = poll.samples.at(-1);
    if (last !== undefined && recycled(last.st).length >= want) break;
  }
  await h.sleep(700); // the last one drains while the load goes on
  samples = await poll.stop();
  const bounded = await load.stop();
  const st = await status(s);
  await s.stop();
  h.table(
    ["t", "RSS MiB per worker (pid: MiB)", "recycled so far"],
    samples.map((x) => [
      `${(x.t / 1000).toFixed(1)} s`,
      workers(x.st),
      String(recycled(x.st).length),
    ]),
  );
  h.say("the status page's recycles:");
  const recs = recycled(st);
  h.table(
    ["at", "pid", "reason"],
    recs.map((r) => [`${((r.at - wall1) / 1000).toFixed(1)} s`, String(r.pid), r.reason]),
  );
  const peak = Math.max(...samples.map((x) => maxRss(x.st)));
  h.say(
    `${bounded.ok} requests, failed: ${bounded.failures}. The highest RSS seen was ${mib(peak)} MiB: ` +
      "a worker checks\n  its size every 500 ms, and keeps serving (and here leaking) until its " +
      "replacement is ready.",
  );

  const ok =
    rate > 5 * 1048576 &&
    grow.failed === 0 &&
    recs.length >= h.WORKERS &&
    bounded.failed === 0 &&
    bounded.ok > 100;
  return h.verdict(
    "leak",
    ok,
    `without --max-memory RSS grew ${mib(maxRss(first.st))} → ${mib(maxRss(last.st))} MiB ` +
      `(+${mib(rate)} MiB/s per worker); --max-memory 150: ${recs.length} recycles ` +
      `("${recs[0]?.reason ?? "none"}"), peak ${mib(peak)} MiB, ${bounded.ok} requests, ` +
      `${bounded.failed} failed.`,
  );
}
