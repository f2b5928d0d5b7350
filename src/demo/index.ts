/**
 * `sitebox demo [NAME|all]`: a guided tour of the pitfalls of embedded interpreters (mod_python,
 * mod_wsgi, OPcache, uWSGI, gunicorn), each reproduced on a real server and then fixed.
 */
import { cleanup, cleanupNow, heading } from "./harness.js";

export interface DemoInfo {
  name: string;
  title: string;
  description: string;
}

/** One line per demo; the README and the bundled index page list these. */
export const DEMOS: readonly DemoInfo[] = [
  {
    name: "stale-code",
    title: "Stale code until restart",
    description:
      "forever serves an edited route's old code until SIGHUP; watch serves the edit on every worker in ms",
  },
  {
    name: "stale-helper",
    title: "Edited helper never reloaded",
    description:
      "mod_python reloads only the route, never the helpers it imports; watch follows the import graph",
  },
  {
    name: "module-state",
    title: "Module state: per worker, reset by reloads",
    description:
      "a module-level counter is per worker and silently reset by reloads; watch is dependency-aware and says so",
  },
  {
    name: "data-leak",
    title: "Request data in module state leaks between users",
    description:
      "the current user in a module variable plus an await: bob sees alice's inbox; handler scope never leaks",
  },
  {
    name: "version-skew",
    title: "Old and new code answering at once",
    description:
      "lazy per-worker reloads serve old and new code at once; watch never serves old after new",
  },
  {
    name: "broken-edit",
    title: "A syntax error saved",
    description:
      "a syntax error saved: legacy answers 500s; watch keeps the last good generation and logs file:line",
  },
  {
    name: "half-deploy",
    title: "A two-file change half written",
    description:
      "a two-file change copied one file at a time: legacy fails; watch rejects the half state",
  },
  {
    name: "symlink-flip",
    title: "Symlink-flip deploy not seen",
    description:
      "current -> releases/v2 flipped: forever keeps serving v1 (like OPcache); watch follows the link",
  },
  {
    name: "mtime-window",
    title: "Two edits in one second",
    description:
      "a second edit keeping the first one's mtime: legacy never sees it; stat checks ctime, size, inode",
  },
  {
    name: "cgi-cost",
    title: "The price of a fresh interpreter per request",
    description:
      "none (CGI: a fresh interpreter per request) versus watch: req/s, p50, p99 and the ratio",
  },
  {
    name: "reload-window",
    title: "From save to every worker",
    description:
      "ms from an atomic save until every worker serves it: legacy, stat and watch, p50 and p99",
  },
  {
    name: "memory",
    title: "Memory as workers × sites grow",
    description:
      "RSS per worker at rest and after 10 and 50 sites, 1 and 2 workers; --max-sites bounds it",
  },
  {
    name: "idle-eviction",
    title: "Interpreters that are never freed",
    description:
      "50 sites visited once: without eviction their sandboxes stay; --site-idle drops them",
  },
  {
    name: "leak",
    title: "A handler leaking into module state",
    description:
      "a handler keeps 1 MiB per request: RSS climbs; --max-memory recycles the worker, 0 failed",
  },
  {
    name: "recycle-stampede",
    title: "Every worker recycling at once",
    description:
      "all workers recycled together: refused connections; --max-requests recycles one at a time",
  },
  {
    name: "restart",
    title: "Restart under load",
    description:
      "stop and start under load refuses requests; SIGHUP rolls the workers and drops none",
  },
  {
    name: "runaway",
    title: "Runaway requests",
    description:
      "while(true), a 60 s sleep and a long native call: 503, 504 and the watchdog; other sites answer",
  },
];

type Runner = () => Promise<boolean>;

/** Loaded on demand, so listing the demos loads none of them. */
const RUNNERS: Record<string, () => Promise<{ run: Runner }>> = {
  "stale-code": () => import("./stale-code.js"),
  "stale-helper": () => import("./stale-helper.js"),
  "module-state": () => import("./module-state.js"),
  "data-leak": () => import("./data-leak.js"),
  "version-skew": () => import("./version-skew.js"),
  "broken-edit": () => import("./broken-edit.js"),
  "half-deploy": () => import("./half-deploy.js"),
  "symlink-flip": () => import("./symlink-flip.js"),
  "mtime-window": () => import("./mtime-window.js"),
  "cgi-cost": () => import("./cgi-cost.js"),
  "reload-window": () => import("./reload-window.js"),
  memory: () => import("./memory.js"),
  "idle-eviction": () => import("./idle-eviction.js"),
  leak: () => import("./leak.js"),
  "recycle-stampede": () => import("./recycle-stampede.js"),
  restart: () => import("./restart.js"),
  runaway: () => import("./runaway.js"),
};

function list(): void {
  const w = Math.max(...DEMOS.map((d) => d.name.length));
  const lines = DEMOS.map((d) => `  ${d.name.padEnd(w)}  ${d.description}`);
  process.stdout.write(
    "sitebox demo: each demo starts real servers on a temp copy of a small site, edits files,\n" +
      "sends requests, and shows a historical pitfall and then sitebox's fix, with figures.\n\n" +
      `${lines.join("\n")}\n\n` +
      "run one:   sitebox demo NAME      (e.g. sitebox demo stale-code)\n" +
      "run all:   sitebox demo all\n",
  );
}

async function runOne(d: DemoInfo): Promise<boolean> {
  heading(d.name, d.title, d.description);
  try {
    const { run } = await RUNNERS[d.name]!();
    return await run();
  } catch (err) {
    process.stdout.write(`\nVERDICT ✗ (failed) ${d.name}: ${(err as Error).message}\n`);
    return false;
  } finally {
    await cleanup();
  }
}

/** Returns the exit code: 0 all reproduced, 1 some demo did not reproduce, 2 unknown name. */
export async function runDemo(argv: string[]): Promise<number> {
  const name = argv[0];
  if (name === undefined || name === "list" || name === "--help" || name === "-h") {
    list();
    return 0;
  }
  const chosen = name === "all" ? DEMOS : DEMOS.filter((d) => d.name === name);
  if (chosen.length === 0 || argv.length > 1) {
    process.stderr.write(
      `sitebox: unknown demo "${argv.join(" ")}" (run "sitebox demo" to list them)\n`,
    );
    return 2;
  }
  const onSignal = () => {
    cleanupNow();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const results: [string, boolean, number][] = [];
  for (const d of chosen) {
    const t0 = performance.now();
    results.push([d.name, await runOne(d), (performance.now() - t0) / 1000]);
  }
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  if (chosen.length > 1) {
    process.stdout.write("\nsummary:\n");
    for (const [n, ok, secs] of results)
      process.stdout.write(`  ${ok ? "✓" : "✗"} ${n.padEnd(16)} ${secs.toFixed(1)} s\n`);
  }
  return results.every(([, ok]) => ok) ? 0 : 1;
}
