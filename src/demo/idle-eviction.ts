/**
 * mod_python's sub-interpreters: "once created, a subinterpreter ... is never destroyed and exists
 * until the Apache process ends". 50 vhosts visited once keep 50 interpreters in every child for
 * good. sitebox drops a site's sandbox after --site-idle seconds; the wasm instance becomes
 * garbage, and the worker's RSS falls at its next major GC.
 */
import http from "node:http";
import * as h from "./harness.js";
import { loadedCount, manySites, mib, status, sum, visitAll, type Status } from "./ops.js";

const SITES = 50;
const IDLE = 3;

const loaded = (st: Status) => sum(st.workers.map(loadedCount));
const sandbox = (st: Status) => sum(st.workers.map((w) => w.sandboxBytes));
const rss = (st: Status) => sum(st.workers.map((w) => w.rssBytes));

/** One server's timeline: [t, sandboxes, sandbox MiB, RSS MiB]. */
const line = (t: string, st: Status) => [t, String(loaded(st)), mib(sandbox(st)), mib(rss(st))];
const HEAD = ["t (after the last visit)", "sandboxes", "sandbox MiB", "RSS MiB"];

export async function run(): Promise<boolean> {
  const { sites, hosts } = manySites(SITES);
  h.say(
    `${SITES} tiny sites, each visited once per worker, then no traffic at all. Two servers run\n` +
      `  side by side, ${h.WORKERS} workers each, their status pages read once a second (figures summed\n` +
      "  over the workers).",
  );
  const [keep, evict] = await Promise.all([
    h.serve(sites, "watch", { extra: ["--site-idle", "0"] }),
    h.serve(sites, "watch", { extra: ["--site-idle", String(IDLE)] }),
  ]);
  const [keep0, evict0] = await Promise.all([status(keep), status(evict)]);
  // One server after the other, so each visit round is quick and ends well within IDLE s.
  await visitAll(keep, hosts, h.WORKERS);
  const tv = performance.now();
  await visitAll(evict, hosts, h.WORKERS);
  const visitMs = performance.now() - tv;

  // The sandboxes go after IDLE s; RSS follows at each worker's next major GC (V8 runs one
  // some seconds after the process went quiet), so poll until every worker's RSS fell back at
  // least halfway to where it started, or the time is up.
  const t0 = performance.now();
  let [a, b] = await Promise.all([status(keep), status(evict)]);
  const keepRows = [line("before the visits", keep0), line("0 s", a)];
  const evictRows = [line("before the visits", evict0), line("0 s", b)];
  const peak = { rss: rss(b), sandbox: sandbox(b), loaded: loaded(b) };
  const start = new Map(evict0.workers.map((w) => [w.pid, w.rssBytes]));
  const high = new Map(b.workers.map((w) => [w.pid, w.rssBytes]));
  /** Workers whose RSS fell back at least halfway from its high to where it started. */
  const fallen = (st: Status) =>
    st.workers.filter((w) => {
      const [s0, s1] = [start.get(w.pid) ?? 0, high.get(w.pid) ?? 0];
      return w.rssBytes < s1 - (s1 - s0) / 2;
    }).length;
  // Give RSS a few seconds once the sandboxes are gone (it may take V8 longer than that).
  const limit = (IDLE + 2 + (h.QUICK ? 3 : 6)) * 1000;
  let shown = 0;
  let shownLoaded = loaded(b);
  let secs = 0;
  let gcd = 0;
  while (secs * 1000 < limit) {
    await h.sleep(1000);
    [a, b] = await Promise.all([status(keep), status(evict)]);
    secs = (performance.now() - t0) / 1000;
    gcd = fallen(b);
    // Every row while the sandboxes go, then one every 3 s, and the last.
    const done = loaded(b) === 0 && gcd === b.workers.length;
    const changed = loaded(b) !== shownLoaded || loaded(b) > 0;
    if (changed || secs - shown >= 2.9 || done || secs * 1000 >= limit) {
      shown = secs;
      shownLoaded = loaded(b);
      keepRows.push(line(`${secs.toFixed(0)} s`, a));
      evictRows.push(line(`${secs.toFixed(0)} s`, b));
    }
    if (done) break;
  }
  const rssFell = gcd === b.workers.length;
  const rssNote = rssFell
    ? ""
    : gcd > 0
      ? ` (${gcd} of ${b.workers.length} workers ${gcd === 1 ? "has" : "have"} given it back so far)`
      : " (not given back yet)";

  h.section(
    "PITFALL",
    "mod_python creates a sub-interpreter per virtual host in each Apache child and never\n" +
      "destroys it until the child exits: a site visited once holds its memory in every child for\n" +
      "good. The same here with --site-idle 0 (never drop an idle sandbox):",
  );
  h.table(HEAD, keepRows);
  h.say(
    `${loaded(a)} sandboxes still loaded after ${secs.toFixed(1)} s without a request; ` +
      `RSS ${mib(rss(a))} MiB, up from ${mib(rss(keep0))} at start.`,
  );

  h.section(
    "FIX",
    `--site-idle ${IDLE}: a sandbox unused for ${IDLE} s is dropped (the default is 300 s); the\n` +
      "status page shows the site unloaded with the reason, and the memory is freed at the worker's\n" +
      "next garbage collection. The same visits:",
  );
  h.say(`(visiting the ${SITES} sites on both workers took ${h.ms(visitMs)}.)`);
  h.table(HEAD, evictRows);
  const reasons = b.workers.flatMap((w) => w.sites.flatMap((x) => x.rebuilds.map((r) => r.reason)));
  const evicted = reasons.filter((r) => r === "evicted: idle").length;
  h.say(
    `${loaded(b)} loaded; "evicted: idle" ×${evicted} among the status page's rebuild reasons.\n` +
      `  RSS ${mib(peak.rss)} → ${mib(rss(b))} MiB in ${secs.toFixed(0)} s${rssNote}.\n` +
      "  A dropped sandbox's memory returns when the worker's V8 next runs a major GC, which an\n" +
      "  idle process does some seconds later.",
  );
  // Both on one keep-alive connection, so the same worker answers.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const again = await h.get(evict, "/", { host: hosts[0], agent });
  const warm = await h.get(evict, "/", { host: hosts[0], agent });
  agent.destroy();
  h.say(
    `the next visit to ${hosts[0]} built a new sandbox: ${h.ms(again.end - again.start)} ` +
      `(the visit after it: ${h.ms(warm.end - warm.start)}).`,
  );
  await Promise.all([keep.stop(), evict.stop()]);

  const ok =
    loaded(a) === SITES * h.WORKERS &&
    peak.loaded > 0 &&
    loaded(b) === 0 &&
    sandbox(b) === 0 &&
    evicted >= SITES * h.WORKERS &&
    again.status === 200;
  return h.verdict(
    "idle-eviction",
    ok,
    `--site-idle 0: ${loaded(a)} sandboxes (${mib(sandbox(a))} MiB) still loaded after ` +
      `${secs.toFixed(1)} s idle; --site-idle ${IDLE}: ${peak.loaded} → ${loaded(b)} loaded, ` +
      `sandbox ${mib(peak.sandbox)} → ${mib(sandbox(b))} MiB, RSS ${mib(peak.rss)} → ` +
      `${mib(rss(b))} MiB${rssNote}.`,
  );
}
