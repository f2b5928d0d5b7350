import { readFileSync } from "node:fs";

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
 *
 * --stack-size=4096 (KiB; Node's default is 984): a QuickJS call is a few wasm frames on the
 * worker's native stack, and with the default V8's limit came first, at ~2,100 levels of
 * plain recursion, before QuickJS's own (STACK_BYTES of its shadow stack, at ~2,700): a
 * wasm trap that aborts the interpreter, so a recursion bug cost the site its sandbox (503) and
 * counted towards its cool-down. With 4 MiB every recursion through JS code (calls, getters,
 * proxies, constructors, callbacks of map, sort and replace, generators, async functions) ends
 * in QuickJS's catchable InternalError instead, the sandbox kept (test/hostile.test.ts). Only
 * C-level recursion that uses little shadow stack (JSON.stringify of arrays nested 200,000
 * deep, an eval of as deeply nested literals) still reaches V8's limit, and costs its sandbox.
 * The main thread's stack is the process's RLIMIT_STACK (8 MiB by default); the flag is left out
 * where that leaves less than twice the size for it.
 */
const FLAGS: readonly (readonly [name: string, flag: string])[] = [
  ["wasm-inlining", "--wasm-inlining"],
  ["allocation-site-pretenuring", "--no-allocation-site-pretenuring"],
];

export const WORKER_STACK_KIB = 4096;

export function workerV8Flags(
  own: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? "",
  stackLimitBytes: number | null = mainStackLimit(),
): string[] {
  const given = [...own, ...nodeOptions.split(/\s+/)].map((f) => f.replace(/_/g, "-"));
  const mentioned = (name: string) =>
    given.some((f) => f === `--${name}` || f === `--no-${name}` || f.startsWith(`--${name}=`));
  const flags = FLAGS.filter(([name]) => !mentioned(name)).map(([, flag]) => flag);
  if (
    !mentioned("stack-size") &&
    stackLimitBytes !== null &&
    stackLimitBytes >= 2 * WORKER_STACK_KIB * 1024
  )
    flags.push(`--stack-size=${WORKER_STACK_KIB}`);
  return flags;
}

/**
 * The soft RLIMIT_STACK a forked worker inherits, from /proc/self/limits: Infinity when
 * unlimited, null where it cannot be read (then Node's default is kept).
 */
export function mainStackLimit(limits = readLimits()): number | null {
  const soft = /^Max stack size\s+(\S+)/m.exec(limits)?.[1];
  if (soft === "unlimited") return Infinity;
  const bytes = Number(soft);
  return soft !== undefined && Number.isSafeInteger(bytes) ? bytes : null;
}

function readLimits(): string {
  try {
    return readFileSync("/proc/self/limits", "utf8");
  } catch {
    return "";
  }
}
