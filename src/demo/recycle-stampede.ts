/**
 * Workers started together reach max_requests together and all restart at once (gunicorn before
 * max_requests_jitter, PR #862, and still reported with it, issue #3427; uWSGI's uwsgi.reload()
 * restarts every worker). sitebox adds up to 10% jitter to --max-requests and chains recycles: one
 * worker at a time, its replacement ready before it stops taking connections.
 */
import * as h from "./harness.js";
import { freePort, sampler, status, traffic, type Status } from "./ops.js";

const HELLO = `export default { fetch() { return new Response("hello"); } };\n`;
const CLIENTS = 4;
const PACE_MS = 5;
const MAX_REQUESTS = 300;

const load = (s: h.Server) => traffic(s, { clients: CLIENTS, paceMs: PACE_MS, timeoutMs: 3000 });

export async function run(): Promise<boolean> {
  const { sites } = h.makeSite({ "index.js": HELLO });
  h.say(
    `${CLIENTS} clients, each starting a request every ${PACE_MS} ms on a fresh connection ` +
      `(up to ${Math.round((CLIENTS * 1000) / PACE_MS)} req/s),\n  ${h.WORKERS} workers, a fixed port.`,
  );

  h.section(
    "PITFALL",
    "every worker restarting at the same moment, as when workers started together all reach\n" +
      "max_requests together (gunicorn before max_requests_jitter; uWSGI's uwsgi.reload()).\n" +
      "Emulated: SIGTERM to every worker's pid at once; each drains politely, but all together.",
  );
  const port = await freePort();
  let s = await h.serve(sites, "watch", { port });
  let l = load(s);
  await h.sleep(1000);
  const before = (await status(s)).workers.map((w) => w.pid);
  h.say(`t=1.0 s: kill -TERM ${before.join(" ")}`);
  for (const pid of before) process.kill(pid, "SIGTERM");
  // Until the replacements answer, then a little longer. On a busy machine starting them takes
  // seconds, and the status page below is only there once they are.
  const t0 = performance.now();
  while (performance.now() - t0 < 15_000) {
    await h.sleep(100);
    const recent = l.outcomes.slice(-CLIENTS * 4);
    if (performance.now() - t0 > 1500 && recent.every((r) => r.result === 200)) break;
  }
  await h.sleep(500);
  const storm = await l.stop();
  const after = (await status(s)).workers.map((w) => w.pid);
  for (const line of h.logLines(s, /died/)) h.say(`log: ${line}`);
  await s.stop();
  const HEAD = ["", "requests", "ok", "failed", "longest stretch with no answer"];
  const row = (name: string, r: typeof storm) => [
    name,
    String(r.outcomes.length),
    String(r.ok),
    String(r.failed),
    h.ms(r.gap),
  ];
  h.table(HEAD, [row("all at once", storm)]);
  h.say(`failed: ${storm.failures}. Workers now: ${after.join(", ")}.`);
  h.say(
    "with every worker draining, the listening socket had nobody behind it: connections were\n" +
      "  refused until the replacements had started.",
  );

  h.section(
    "FIX",
    `--max-requests ${MAX_REQUESTS}: each worker recycles after ${MAX_REQUESTS} requests plus up to 10% jitter;\n` +
      "the primary runs recycles one at a time, and the replacement is ready before the old worker\n" +
      "stops taking connections and drains. The same load; status page read every 100 ms:",
  );
  s = await h.serve(sites, "watch", { port, extra: ["--max-requests", String(MAX_REQUESTS)] });
  const wall = Date.now();
  l = load(s);
  const poll = sampler(s, 100);
  // At least 3 (quick) or 5 s, and until 3 recycles were seen (a busy machine serves fewer).
  const t1 = performance.now();
  const started = () =>
    (poll.samples.at(-1)?.st.recycles ?? []).filter((r) => /--max-requests/.test(r.reason)).length;
  while (performance.now() - t1 < (h.QUICK ? 3000 : 5000) || started() < 3) {
    if (performance.now() - t1 > 15_000) break;
    await h.sleep(100);
  }
  const chained = await l.stop();
  await h.sleep(800); // the recycle under way finishes
  const samples = await poll.stop();
  const st: Status = await status(s);
  await s.stop();
  const recs = st.recycles.filter((r) => /--max-requests/.test(r.reason));
  h.table(
    ["recycle", "at", "after the previous", "pid", "reason"],
    recs.map((r, i) => [
      `#${i + 1}`,
      `${((r.at - wall) / 1000).toFixed(2)} s`,
      i === 0 ? "" : h.ms(r.at - recs[i - 1]!.at),
      String(r.pid),
      r.reason,
    ]),
  );
  const counts = samples.map((x) => x.st.workers.length);
  const [lo, hi] = [Math.min(...counts), Math.max(...counts)];
  const minGap = Math.min(...recs.slice(1).map((r, i) => r.at - recs[i]!.at));
  h.say(
    `workers on the status page: ${lo} to ${hi} over ${samples.length} readings (${h.WORKERS}, plus ` +
      "one replacement while\n  one drains). Recycles started at least " +
      `${h.ms(minGap)} apart: the next waits until the previous old worker\n  has exited.`,
  );
  h.table(HEAD, [row("all at once", storm), row("one at a time", chained)]);

  const ok =
    storm.failed > 0 &&
    recs.length >= 3 &&
    chained.failed === 0 &&
    lo >= h.WORKERS &&
    hi <= h.WORKERS + 1;
  return h.verdict(
    "recycle-stampede",
    ok,
    `all at once: ${storm.failed} of ${storm.outcomes.length} requests failed (${storm.failures}), ` +
      `no answer for ${h.ms(storm.gap)}; --max-requests ${MAX_REQUESTS}: ${recs.length} recycles one ` +
      `at a time (${lo}-${hi} workers live), ${chained.failed} of ${chained.outcomes.length} failed, ` +
      `longest stretch with no answer ${h.ms(chained.gap)}.`,
  );
}
