/**
 * V8 flags for the workers' QuickJS wasm, each left out when the operator set that flag either
 * way (on node's command line or in NODE_OPTIONS), which is how to turn one off.
 *
 * --wasm-inlining: TurboFan inlines small wasm functions into their callers, which the -Oz build
 * of QuickJS left as calls: 9-20% less CPU inside the interpreter (README "Performance").
 * Marked experimental in Node 20's V8 (11.3); `npm test` runs with it. Only hot functions are
 * compiled by TurboFan (tier-up from Liftoff), so a worker starts as fast as without it. Not
 * with --no-liftoff, which saves ~8 MiB per worker but, with inlining, made every first call a
 * TurboFan compile: a worker took 2.3 s to serve instead of 0.65 s.
 */
const FLAGS: readonly (readonly [name: string, flag: string])[] = [
  ["wasm-inlining", "--wasm-inlining"],
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
