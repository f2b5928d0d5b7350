/**
 * V8 flags for the workers' QuickJS wasm, each left out when the operator set that flag either
 * way (on node's command line or in NODE_OPTIONS), which is how to turn one off:
 * - --no-liftoff: the wasm is compiled by TurboFan alone, function by function as first run,
 *   not by Liftoff first and then again: ~7 MiB less machine code per worker, no tier-up burst
 *   under the first load, the same speed once warm; a worker starts ~0.3 s later.
 * - --wasm-inlining: TurboFan inlines small wasm functions into their callers, which the -Oz
 *   build of QuickJS left uninlined: 10-17% less CPU inside the interpreter (README
 *   "Performance"). Marked experimental in Node 20's V8 (11.3); `npm test` runs with it.
 */
export function workerV8Flags(
  own: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? "",
): string[] {
  const given = [...own, ...nodeOptions.split(/\s+/)].map((f) => f.replace(/_/g, "-"));
  const mentioned = (name: string) =>
    given.some((f) => f === `--${name}` || f === `--no-${name}` || f.startsWith(`--${name}=`));
  return [
    ["liftoff", "--no-liftoff"],
    ["wasm-inlining", "--wasm-inlining"],
  ]
    .filter(([name]) => !mentioned(name!))
    .map(([, flag]) => flag!);
}
