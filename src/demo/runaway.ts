/**
 * A request that never ends. PHP's max_execution_time counts CPU only on Unix, so a script in
 * sleep() or waiting on a database is never stopped (request_terminate_timeout defaults to 0);
 * uWSGI's harakiri and gunicorn's timeout kill the whole worker, with every request in it. sitebox
 * bounds each run of site code (--timeout: CPU, 503) and each request (--wall-timeout, 504) inside
 * the interpreter, killing only that sandbox; the watchdog is left for the one thing an interrupt
 * cannot reach, a long native call.
 */
import * as h from "./harness.js";
import { attempt, status, summarize, traffic, type Outcome } from "./ops.js";

const HOG = {
  "spin.js": "export default { fetch() { while (true) {} } };\n",
  "sleep.js":
    "export default { async fetch() {\n" +
    "  await new Promise((r) => setTimeout(r, 60000));\n" +
    '  return new Response("woke up");\n} };\n',
  "native.js":
    "export default { fetch() { return new Response(String('ab'.repeat(2 ** 28).length)); } };\n",
};
const HELLO = `export default { fetch() { return new Response("hello"); } };\n`;

/** What each hog route does, for the listing. */
const WHAT: Record<string, string> = {
  "spin.js": "while (true) {}",
  "sleep.js": "await new Promise((r) => setTimeout(r, 60000))",
  "native.js": "'ab'.repeat(2 ** 28): one native call building a 512 MiB string",
};
const HEALTHY = { clients: 4, paceMs: 20 };

const show = (o: Outcome) =>
  typeof o.result === "number" ? `${o.result} ${o.text.split("\n")[0]}` : `no answer (${o.result})`;

/** A table row: the hog request, and the healthy site's requests that started while it ran. */
function row(o: Outcome, outcomes: Outcome[]): string[] {
  const r = summarize(
    outcomes.filter((x) => x.start >= o.start && x.start <= o.end),
    o.start,
    o.end,
  );
  return [
    o.path,
    show(o),
    h.ms(o.end - o.start),
    String(r.outcomes.length),
    r.failures,
    h.ms(r.p50),
    h.ms(r.max),
  ];
}

const HEAD = ["hog request", "answer", "after", "healthy: requests", "failed", "p50", "max"];

/** Sends `path` to the hog site, then lets the requests queued behind it finish. */
async function hog(s: h.Server, path: string, timeoutMs: number): Promise<Outcome> {
  const o = await attempt(s, path, { host: "hog", timeoutMs });
  await h.sleep(300);
  return o;
}

export async function run(): Promise<boolean> {
  const sites = h.makeSite({ "index.js": HELLO }).sites;
  h.writeTree(`${sites}/hog`, HOG);
  h.say("site hog has three runaway routes; site default answers hello:");
  for (const name of Object.keys(HOG)) h.say(`    hog/${name.padEnd(9)}  ${WHAT[name]}`);
  h.say(
    `meanwhile ${HEALTHY.clients} clients ask default for / every ${HEALTHY.paceMs} ms each ` +
      `(fresh connections), ${h.WORKERS} workers.`,
  );

  h.section(
    "PITFALL",
    "PHP's max_execution_time counts CPU time only (on Unix): a script in sleep() or waiting on\n" +
      "a database is never stopped, and request_terminate_timeout is 0 by default. uWSGI's harakiri\n" +
      "(and gunicorn's timeout) kills the whole worker, with every other request in it. Here: only\n" +
      "such a whole-worker bound (--timeout 600000 --wall-timeout 600000 --watchdog 1000):",
  );
  let s = await h.serve(sites, "watch", {
    extra: ["--timeout", "600000", "--wall-timeout", "600000", "--watchdog", "1000"],
  });
  let load = traffic(s, HEALTHY);
  await h.sleep(300);
  // One after the other: sent together, both may land on the worker the watchdog kills.
  const spin0 = await hog(s, "/spin", 8000);
  const sleep0 = await hog(s, "/sleep", 3000);
  const pitfall = await load.stop();
  h.table(
    ["hog request", "answer", "after"],
    [spin0, sleep0].map((o) => [o.path, show(o), h.ms(o.end - o.start)]),
  );
  for (const line of h.logLines(s, /killing worker/)) h.say(`log: ${line}`);
  h.say(
    `healthy site meanwhile: ${pitfall.outcomes.length} requests, failed: ${pitfall.failures}, ` +
      `p50 ${h.ms(pitfall.p50)}, max ${h.ms(pitfall.max)}.`,
  );
  h.say(
    "/spin held its worker until the watchdog killed it, and what that worker had been handed\n" +
      "  went with it. /sleep still had no answer after 3 s, when its client gave up: nothing\n" +
      "  bounds a request that only waits.",
  );
  await s.stop(); // the sleeper's client gave up, so the drain is quick

  h.section(
    "FIX",
    "--timeout 200: a run of site code that passes 200 ms of CPU is interrupted inside QuickJS\n" +
      "(503) and only that sandbox is rebuilt; --wall-timeout 1500: a request with no answer after\n" +
      "1.5 s gets a 504 while the sandbox keeps serving. The watchdog (--watchdog 1000) remains for\n" +
      "a long native call, which no interrupt can reach (--memory 768 lets the 512 MiB string fit):",
  );
  s = await h.serve(sites, "watch", {
    extra: ["--timeout", "200", "--wall-timeout", "1500", "--watchdog", "1000", "--memory", "768"],
  });
  const pids = (await status(s)).workers.map((w) => w.pid);
  load = traffic(s, HEALTHY);
  await h.sleep(300);
  const spin = await hog(s, "/spin", 8000);
  const sleep = await hog(s, "/sleep", 8000);
  const midSt = await status(s);
  const pidsMid = midSt.workers.map((w) => w.pid);
  const mid = performance.now();
  const native = await hog(s, "/native", 8000);
  const killed = await s.waitFor(/killing worker \d+: event loop blocked[^\n]*/, 5000);
  // The replacement starts; the healthy load goes on until both workers answer again.
  for (let i = 0; i < 50 && (await status(s)).workers.length < h.WORKERS; i++) await h.sleep(100);
  const fixed = await load.stop();
  const st = await status(s);
  h.table(HEAD, [
    row(spin, fixed.outcomes),
    row(sleep, fixed.outcomes),
    row(native, fixed.outcomes),
  ]);
  for (const line of h.logLines(s, /killing worker/)) h.say(`log: ${line}`);
  const event = st.watchdog?.at(-1);
  const hogMid = midSt.workers.flatMap((w) => w.sites).filter((x) => x.site === "hog");
  h.say(
    `status.json: hog's limit kills ${hogMid.reduce((n, x) => n + x.limitKills, 0)} after /spin ` +
      `and /sleep (a 504 leaves the sandbox alone);\n  watchdog event site=${event?.site ?? "-"} ` +
      `route=${event?.route ?? "-"}.`,
  );
  const before = summarize(
    fixed.outcomes.filter((o) => o.start < mid),
    0,
    mid,
  );
  const after = summarize(
    fixed.outcomes.filter((o) => o.start >= mid),
    mid,
    performance.now(),
  );
  const sameWorkers = pidsMid.length === pids.length && pidsMid.every((p) => pids.includes(p));
  h.say(
    `through /spin and /sleep: ${before.failed} of ${before.outcomes.length} healthy requests ` +
      `failed, max ${h.ms(before.max)}: a spin holds\n  its worker for its 200 ms budget at most. ` +
      `Workers ${sameWorkers ? "unchanged" : "CHANGED"} (${pidsMid.join(", ")}).`,
  );
  h.say(
    "through /native: the watchdog replaced one worker, as harakiri would, and the healthy\n" +
      `  requests that worker held went with it (failed: ${after.failures}; a "timeout" is a\n` +
      "  connection the primary had just handed to the blocked worker: it got no answer at all,\n" +
      "  and the client gave up after 5 s). Keep long native calls out of handlers; the log and\n" +
      "  the status page say which site and route to fix.",
  );
  await s.stop();

  const ok =
    spin0.result !== 200 &&
    spin0.end - spin0.start > 900 &&
    sleep0.result === "timeout" &&
    spin.result === 503 &&
    spin.end - spin.start < 1000 &&
    sleep.result === 504 &&
    before.failed === 0 &&
    sameWorkers &&
    killed !== null &&
    /site=hog route=native/.test(killed[0]);
  return h.verdict(
    "runaway",
    ok,
    `whole-worker bound only: /spin cost its worker (healthy failed: ${pitfall.failures}), ` +
      `/sleep unanswered after 3 s; sitebox: /spin 503 in ${h.ms(spin.end - spin.start)}, /sleep ` +
      `504 in ${h.ms(sleep.end - sleep.start)}, healthy ${before.failed} failed (p50 ` +
      `${h.ms(before.p50)}, max ${h.ms(before.max)}); /native: the watchdog replaced the worker ` +
      `and named site=${event?.site ?? "-"} route=${event?.route ?? "-"} ` +
      `(healthy failed: ${after.failures}).`,
  );
}
