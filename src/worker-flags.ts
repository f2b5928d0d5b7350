/**
 * V8 flags for the workers, each left out when the operator set that flag either way (on node's
 * command line or in NODE_OPTIONS), which is how to turn one off.
 *
 * --wasm-inlining: TurboFan inlines small wasm functions into their callers, which the -Oz build
 * of QuickJS left as calls: 9-20% less CPU inside the interpreter (README "Performance").
 * Marked experimental in Node 20's V8 (11.3); `npm test` runs with it. Only hot functions are
 * compiled by TurboFan (tier-up from Liftoff), so a worker starts as fast as without it. Not
 * with --no-liftoff, which saves ~8 MiB per worker but, with inlining, made every first call a
 * TurboFan compile: a worker took 2.3 s to serve instead of 0.65 s.
 *
 * --no-allocation-site-pretenuring: V8 allocates objects straight in the old generation once
 * enough from one allocation site have survived a scavenge. A request's objects live only as
 * long as the request, but at some moment under load (behind nginx, within seconds) enough of
 * them were in flight at a scavenge: from then on they were born old, held the young objects
 * they point to through the scavenges, and each scavenge promoted ~1.8 MB, with a mark-compact
 * every half second. Without it, nginx -> sitebox over FastCGI: 35-37 instead of 43-46.5 CPU
 * us/request in the workers, p99 2.9-3.3 instead of 7.5-9.1 ms, ~30 KB promoted per scavenge
 * (README "Performance").
 */
const FLAGS: readonly (readonly [name: string, flag: string])[] = [
  ["wasm-inlining", "--wasm-inlining"],
  ["allocation-site-pretenuring", "--no-allocation-site-pretenuring"],
];

export function workerV8Flags(
  own: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? "",
): string[] {
  const given = [...own, ...nodeOptions.split(/\s+/)].map((f) => f.replace(/_/g, "-"));
  const mentioned = (name: string) =>
    given.some((f) => f === `--${name}` || f === `--no-${name}` || f.startsWith(`--${name}=`));
  return FLAGS.filter(([name]) => !mentioned(name)).map(([, flag]) => flag);
}
