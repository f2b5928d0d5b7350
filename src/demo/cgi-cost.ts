/**
 * CGI (and PHP without OPcache) started from scratch on every request: never stale, never
 * leaking, and slow. `--cache none` builds a fresh sandbox per request; `watch` reuses one per
 * worker and site. Same route, same load, side by side.
 */
import * as h from "./harness.js";

const HELLO = `export default {
  fetch(request) {
    const name = new URL(request.url).searchParams.get("name") ?? "world";
    return new Response("Hello, " + name + "!");
  },
};
`;

async function measure(sites: string, cache: string, seconds: number): Promise<h.LoadResult> {
  const s = await h.serve(sites, cache);
  const opts = { connections: 4, path: () => "/?name=demo" };
  await h.load(s, { ...opts, seconds: 0.3 }); // warm-up: first sandboxes, JIT
  const r = await h.load(s, { ...opts, seconds });
  await s.stop();
  return r;
}

export async function run(): Promise<boolean> {
  const seconds = h.QUICK ? 1 : 3;
  const { sites } = h.makeSite({ "index.js": HELLO });
  h.say(
    `the same hello route, ${h.WORKERS} workers, 4 keep-alive connections for ${seconds} s each.`,
  );

  h.section(
    "PITFALL",
    "--cache none (CGI): a new QuickJS instance per request, the route loaded and evaluated\n" +
      "each time. Never stale, no state shared between requests, but every request pays for it.",
  );
  const none = await measure(sites, "none", seconds);

  h.section(
    "FIX",
    "--cache watch: one sandbox per worker and site, loaded once and reused until a file it\n" +
      "loaded changes (and then rebuilt for that site only).",
  );
  const watch = await measure(sites, "watch", seconds);
  const row = (name: string, r: h.LoadResult) => [
    name,
    r.requests,
    Math.round(r.rps),
    h.ms(r.p50),
    h.ms(r.p99),
    r.errors,
  ];
  h.table(
    ["cache", "requests", "req/s", "p50", "p99", "errors"],
    [row("none", none), row("watch", watch)],
  );
  const ratio = watch.rps / Math.max(1, none.rps);
  h.say(
    `watch answers ${ratio.toFixed(1)}x the requests per second of none; p50 ` +
      `${h.ms(none.p50)} vs ${h.ms(watch.p50)}.`,
  );
  h.say("(the load generator runs on the same machine; compare the ratio, not the absolutes)");

  const ok = none.errors === 0 && watch.errors === 0 && ratio > 1.5;
  return h.verdict(
    "cgi-cost",
    ok,
    `none ${Math.round(none.rps)} req/s (p50 ${h.ms(none.p50)}, p99 ${h.ms(none.p99)}) vs watch ` +
      `${Math.round(watch.rps)} req/s (p50 ${h.ms(watch.p50)}, p99 ${h.ms(watch.p99)}): ${ratio.toFixed(1)}x.`,
  );
}
