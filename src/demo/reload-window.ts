/**
 * How long from saving a file to every worker serving it? mod_python: up to a second per child,
 * per module, lazily; OPcache: up to revalidate_freq (2 s). Measured over repeated atomic saves,
 * polling on fresh connections until every worker (by x-sitebox-worker) answered the new text.
 */
import { join } from "node:path";
import * as h from "./harness.js";

const route = (v: number) =>
  `export default { fetch() { return new Response("version ${v}"); } };\n`;

async function windows(cache: string, saves: number): Promise<(number | null)[]> {
  const { sites, site } = h.makeSite({ "index.js": route(0) });
  const s = await h.serve(sites, cache);
  await h.untilAll(s, "/", (r) => r.text === "version 0");
  const out: (number | null)[] = [];
  let lastSec = 0;
  for (let v = 1; v <= saves; v++) {
    // legacy compares whole-second mtimes: two saves in one second would be one (mtime-window)
    while (cache === "legacy" && Math.floor(Date.now() / 1000) === lastSec) await h.sleep(20);
    lastSec = Math.floor(Date.now() / 1000);
    const t0 = performance.now();
    h.atomicSave(join(site, "index.js"), route(v));
    const ok = (r: h.Reply) => r.text === `version ${v}`;
    out.push(await h.untilAll(s, "/", ok, { since: t0, timeoutMs: 5000 }));
    await h.sleep(100);
  }
  await s.stop();
  return out;
}

const done = (w: (number | null)[]) => w.filter((x): x is number => x !== null);
const pct = (w: (number | null)[], p: number) =>
  done(w).length ? h.ms(h.percentile(done(w), p)) : "-";
const row = (name: string, w: (number | null)[]) => [
  name,
  `${done(w).length}/${w.length}`,
  pct(w, 50),
  pct(w, 99),
  done(w).length ? h.ms(Math.min(...done(w))) : "-",
];

export async function run(): Promise<boolean> {
  const saves = h.QUICK ? 5 : 10;
  const head = ["cache", "saves seen by every worker", "p50", "p99", "min"];
  h.say(`atomic saves; after each, requests on fresh connections until every worker answered it.`);

  h.section(
    "PITFALL",
    "--cache legacy (mod_python): each worker looks at the route's mtime at most once a\n" +
      "second, on a request, so the window is up to a second, per worker, per module. (PHP:\n" +
      "opcache.revalidate_freq, 2 s by default. --cache forever: it never closes.)",
  );
  const legacy = await windows("legacy", h.QUICK ? 3 : 5);
  h.table(head, [row("legacy", legacy)]);

  h.section("FIX", `stat and watch, ${saves} saves each:`);
  const stat = await windows("stat", saves);
  const watch = await windows("watch", saves);
  h.table(head, [row("legacy", legacy), row("stat", stat), row("watch", watch)]);
  h.say("stat notices on the next request: under traffic the window is tiny, but without");
  h.say("requests nothing happens until one arrives (and that request waits for the reload).");
  h.say("watch needs no traffic: a file event, a 25 ms quiet window (--debounce), then a");
  h.say("3-phase rollout (prepare, drain, commit) to every worker.");

  const fast = [...stat, ...watch];
  const ok = fast.every((x) => x !== null && x < 2000) && done(legacy).length > 0;
  return h.verdict(
    "reload-window",
    ok,
    `save → every worker: legacy p50 ${pct(legacy, 50)} (max ${pct(legacy, 100)}); ` +
      `stat p50 ${pct(stat, 50)} p99 ${pct(stat, 99)}; watch p50 ${pct(watch, 50)} p99 ${pct(watch, 99)}.`,
  );
}
