// `npm run bench`: sitebox on loopback, in sections (`--only` picks some):
//   throughput  five workloads on sitebox and plain node:http (+ Apache/mod_python and
//               nginx/php-fpm with --anchors), side by side, with wrk (throughput.js)
//   cold        first request to a site in a fresh worker, with and without --preload (cold.js)
//   reload      from an atomic save to every worker serving it, watch and stat (reload.js)
//   rss         memory per worker at rest and after 10 and 50 sites (rss.js)
//   restart     failed requests during a SIGHUP rolling restart under wrk load (restart.js)
//   starvation  a healthy site's latency beside 8 clients looping another site to --timeout
//               (starvation.js)
//
//   node bench/run.js [--workers 2] [--duration 5] [--anchors] [--only throughput,cold]
//                     [--json FILE] [--profile]
//
// Only one server is loaded at a time, so none competes with another for the CPUs. Every process
// started here runs in its own process group and is killed on exit, error or Ctrl-C.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { BenchError, ROOT, checkIdle, fmtMs } from "./common.js";
import { likeWarm, printCold, runCold } from "./cold.js";
import { killEverything } from "./proc.js";
import { printProfile } from "./profile.js";
import { printReload, runReload } from "./reload.js";
import { printRestart, runRestart } from "./restart.js";
import { printRss, runRss } from "./rss.js";
import { printStarvation, runStarvation } from "./starvation.js";
import { printMemory, runMemory } from "./memory.js";
import { printNodeSteps, runNodeSteps } from "./node-steps.js";
import { printVariants, runVariants } from "./variants.js";
import { printQuickjsSteps, runQuickjsSteps } from "./quickjs-steps.js";
import { runThroughput } from "./throughput.js";
import { printThroughput } from "./throughput-report.js";
import { TARGETS } from "./targets.js";
import { WORKLOADS } from "./workloads.js";
import { ensureWrk, wrkArgs } from "./wrk.js";

// ---------------------------------------------------------------------------------------------
// Options

/** The sections, in the order they run; `--only` picks some. */
const SECTIONS = {
  throughput: { run: runThroughput, print: printThroughput },
  "quickjs-steps": { run: runQuickjsSteps, print: printQuickjsSteps },
  "node-steps": { run: runNodeSteps, print: printNodeSteps },
  memory: { run: runMemory, print: printMemory },
  variants: { run: runVariants, print: printVariants },
  cold: { run: runCold, print: printCold },
  reload: { run: runReload, print: printReload },
  rss: { run: runRss, print: printRss },
  restart: { run: runRestart, print: printRestart },
  starvation: { run: runStarvation, print: printStarvation },
};
const SECTION_NAMES = Object.keys(SECTIONS).join(", ");
const DEFAULT_SECTIONS = "throughput, quickjs-steps, cold, reload, rss, restart";
const TARGET_NAMES = TARGETS.map((t) => t.name).join(", ");
const WORKLOAD_NAMES = WORKLOADS.map((w) => w.name).join(", ");

const USAGE = `usage: npm run bench -- [flags]
  --workers N        worker processes of sitebox and node:http, php-fpm children [2]
  --duration S       seconds of each timed wrk run [5]
  --warmup S         seconds of wrk before each timed run [1]
  --settle S         at most this many seconds of load on each server, until its helper
                     threads are quiet (V8's tier-up of the wasm), before it is timed [30]
  --rounds N         repeat every throughput run N times, report the medians [1]
  --connections N    wrk connections [32]
  --threads N        wrk threads [1]
  --anchors          also Apache 2.4 + mod_python and nginx + php-fpm (apt-get installs them)
  --targets A,B      throughput targets by name, instead of the default set (${TARGET_NAMES})
  --workloads A,B    throughput workloads by name (${WORKLOAD_NAMES}) [all]
  --only NAME[,NAME] run these sections only: ${SECTION_NAMES}
                     [default: ${DEFAULT_SECTIONS}]
  --json FILE        also write the results as JSON
  --profile          run sitebox with --cpu-prof; print the hottest functions of its workers
  --keep             keep the temporary folder (sites, logs, profiles)`;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      workers: { type: "string", default: "2" },
      duration: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      settle: { type: "string", default: "30" },
      rounds: { type: "string", default: "1" },
      anchors: { type: "boolean", default: false },
      targets: { type: "string" },
      workloads: { type: "string" },
      connections: { type: "string", default: "32" },
      threads: { type: "string", default: "1" },
      only: { type: "string" },
      json: { type: "string" },
      profile: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  /** A comma-separated flag whose items must be in `allowed`, or null when not given. */
  const list = (name, allowed) => {
    if (values[name] === undefined) return null;
    const items = values[name].split(",").map((x) => x.trim());
    for (const x of items)
      if (!allowed.includes(x))
        throw new BenchError(`--${name}: no "${x}" (there are: ${allowed.join(", ")})`);
    return items;
  };
  const int = (name, min, max) => {
    // "10s" is accepted too, since that is how wrk spells a duration.
    const n = Number(String(values[name]).replace(/s$/, ""));
    if (!Number.isInteger(n) || n < min || n > max)
      throw new BenchError(`--${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
  const only = list("only", Object.keys(SECTIONS)) ?? DEFAULT_SECTIONS.split(", ");
  return {
    workers: int("workers", 1, 64),
    duration: int("duration", 1, 3600),
    warmup: int("warmup", 0, 60),
    settle: int("settle", 0, 600),
    rounds: int("rounds", 1, 20),
    anchors: values.anchors,
    targets: list(
      "targets",
      TARGETS.map((t) => t.name),
    ),
    workloads: list(
      "workloads",
      WORKLOADS.map((w) => w.name),
    ),
    connections: int("connections", 1, 10000),
    threads: int("threads", 1, 64),
    // In the order they are defined, whatever the order given.
    only: Object.keys(SECTIONS).filter((name) => only.includes(name)),
    json: values.json ? path.resolve(values.json) : null,
    profile: values.profile,
    keep: values.keep || values.profile,
  };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(opts) {
  if (!fs.existsSync(path.join(ROOT, "dist/cli.js")))
    throw new BenchError("dist/ is missing: run `npm run build` first");
  ensureWrk();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sitebox-bench-"));
  cleanupTmp = () =>
    opts.keep
      ? console.log(`\ntemporary files kept in ${tmp}`)
      : fs.rmSync(tmp, { recursive: true, force: true });

  const wrkCmd = `wrk ${wrkArgs(opts, opts.duration, "URL").join(" ")}`;
  console.log(
    `sitebox bench: ${opts.workers} workers per server, \`${wrkCmd}\` after ${opts.warmup} s ` +
      `of warm-up, node ${process.version}, ${os.cpus().length} CPUs` +
      (opts.profile ? ", CPU profiling on (throughput is lower than without)" : "") +
      `; sections: ${opts.only.join(", ")}`,
  );
  const ctx = { opts, tmp, problems: [], serverLogs: {}, serverInfo: {}, profiles: {} };
  const figures = {};
  for (const name of opts.only) {
    // The throughput section checks once its servers are up.
    if (name !== "throughput") await checkIdle(ctx.problems, name);
    figures[name] = await SECTIONS[name].run(ctx);
  }

  for (const name of opts.only) SECTIONS[name].print(figures[name]);
  const problems = [...ctx.problems, ...findProblems(figures)];
  printProblems(problems, ctx.serverLogs);
  const profiles = ctx.profiles;
  if (profiles.throughput) printProfile("sitebox, every workload", profiles.throughput, 25);
  if (opts.json) {
    // The profiles' long tails are noise: 50 rows each are plenty.
    for (const p of Object.values(profiles)) p.top = p.top.slice(0, 50);
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      options: opts,
      wrk: wrkCmd,
      ...figures,
      restart: figures.restart ? { ...figures.restart, raw: undefined } : undefined,
      restartWrk: figures.restart?.raw,
      problems,
      serverLogs: ctx.serverLogs,
      serverInfo: ctx.serverInfo,
      profiles,
    };
    fs.writeFileSync(opts.json, JSON.stringify(report, null, 2) + "\n");
    console.log(`\nresults written to ${opts.json}`);
  }
}

/** Figures of the newer sections that miss their targets or look wrong. */
function findProblems({ cold, reload, rss, restart }) {
  const out = [];
  for (const r of cold ?? [])
    if (r.variant === "--preload" && !likeWarm(r))
      out.push(
        `cold start: with --preload the first request's p50 (${fmtMs(r.cold.p50Ms)}) is ` +
          `${fmtMs(r.cold.p50Ms - r.warm.p50Ms)} over the warm p50 (${fmtMs(r.warm.p50Ms)})`,
      );
  for (const r of reload ?? []) {
    if (r.met === false)
      out.push(`reload (watch): p50 ${fmtMs(r.p50Ms)} misses the ${r.targetP50Ms} ms target`);
    if (r.missed) out.push(`reload (${r.cache}): ${r.missed} saves not live everywhere in 10 s`);
    if (r.flipBacks)
      out.push(`reload (${r.cache}): ${r.flipBacks} answers went back to the old content`);
    if (r.bad) out.push(`reload (${r.cache}): ${r.bad} bad answers, e.g. ${r.badLines[0]}`);
  }
  for (const s of rss?.stages ?? [])
    if (s.workers.some((w) => w.loaded !== s.sites))
      out.push(
        `memory: after ${s.sites} sites the workers hold ` +
          `${s.workers.map((w) => w.loaded).join("/")} sandboxes`,
      );
  if (restart) {
    const e = restart.socket;
    if (restart.failed)
      out.push(
        `rolling restart: ${restart.failed} failed requests (connect ${e.connect}, read ${e.read}, ` +
          `write ${e.write}, timeout ${e.timeout}, non-2xx ${restart.non2xx})`,
      );
    if (restart.replaced < restart.pidsBefore.length)
      out.push(
        `rolling restart: only ${restart.replaced} of ${restart.pidsBefore.length} workers replaced`,
      );
    else if (!restart.rollDuringLoad)
      out.push("rolling restart: the roll ended after the load, so part of it went unmeasured");
    if (restart.statusFailures)
      out.push(`rolling restart: ${restart.statusFailures} status.json requests failed during it`);
  }
  return out;
}

/** Problems found, then the servers' stderr lines: identical ones (but for the time) counted once. */
function printProblems(problems, serverLogs) {
  const counts = new Map();
  for (const [label, lines] of Object.entries(serverLogs))
    for (const line of lines) {
      const key = `${label} stderr: ${line.replace(/^\[[^\]]*\] /, "")}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  const logLines = [...counts].map(([key, n]) => (n > 1 ? `${key} (x${n})` : key));
  if (problems.length === 0 && logLines.length === 0) return console.log("\nno problems noticed");
  console.log("\nproblems:");
  for (const p of [...problems, ...logLines.slice(0, 20)]) console.log(`  - ${p}`);
  if (logLines.length > 20) console.log(`  - ... ${logLines.length - 20} more distinct lines`);
}

let cleanupTmp = () => {};

function finish(code) {
  killEverything();
  try {
    cleanupTmp();
  } catch {
    // best effort: a leftover temp folder is harmless
  }
  process.exit(code);
}

// Ctrl-C reaches only this process (the children lead their own process groups): kill them here.
process.on("SIGINT", () => {
  process.stderr.write("\nbench: interrupted; stopping servers\n");
  finish(130);
});
process.on("SIGTERM", () => finish(143));
process.on("exit", killEverything);

let opts;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench: ${err.message}\n${USAGE}\n`);
  process.exit(2);
}
main(opts).then(
  () => finish(0),
  (err) => {
    process.stderr.write(`bench: ${err instanceof BenchError ? err.message : err.stack}\n`);
    finish(1);
  },
);
