// Throughput: sitebox against the node:http baseline, one wrk run per target. Each server is
// started, warmed up, loaded and stopped in turn, so only one competes with wrk for the CPUs.
import path from "node:path";
import { checkIdle, fmtMiB, fmtMs, mean, printGrid, progress } from "./common.js";
import { stopServer } from "./proc.js";
import { aggregateProfiles } from "./profile.js";
import { makeSites, startBaseline, startSitebox, workerMemory } from "./servers.js";
import { runWrk } from "./wrk.js";

/** One request before the load, so a broken route shows up as a clear problem, not as a number. */
async function probe(url) {
  try {
    const res = await fetch(url);
    const body = await res.text();
    return res.ok ? null : `${url} answered ${res.status}: ${body.trim().slice(0, 200)}`;
  } catch (err) {
    return `${url} failed: ${err.message}`;
  }
}

async function measure(opts, server, target, pathname, seconds, warmup, problems) {
  const url = `http://127.0.0.1:${server.port}${pathname}`;
  const bad = await probe(url);
  if (bad) problems.push(`${target}: ${bad}`);
  progress(`${target}: warm-up ${warmup} s, load ${seconds} s ...`);
  if (warmup > 0) await runWrk(opts, warmup, url);
  const wrk = await runWrk(opts, seconds, url);
  const memory = await workerMemory(server);
  if (wrk.non2xx > 0) problems.push(`${target}: ${wrk.non2xx} non-2xx/3xx responses`);
  if (wrk.socketErrors > 0) problems.push(`${target}: socket errors ${JSON.stringify(wrk.socket)}`);
  return { target, url, seconds, ...wrk, memory };
}

/** One server per group, stopped before the next starts. */
function plan(opts) {
  const short = { seconds: opts.short, warmup: Math.min(1, opts.warmup) };
  const hello = { seconds: opts.duration, warmup: opts.warmup };
  // The JSON and static routes get their own server so that the hello server's profile (with
  // --profile) shows the hello path alone.
  return [
    { kind: "baseline", name: "baseline", runs: [["node:http /", "/", hello]] },
    { kind: "sitebox", name: "watch", cache: "watch", runs: [["sitebox / (watch)", "/", hello]] },
    {
      kind: "sitebox",
      name: "routes",
      cache: "watch",
      runs: [
        ["sitebox /api/json (watch)", "/api/json", short],
        ["sitebox /static.txt (watch)", "/static.txt", short],
      ],
    },
    { kind: "sitebox", name: "stat", cache: "stat", runs: [["sitebox / (stat)", "/", short]] },
    { kind: "sitebox", name: "none", cache: "none", runs: [["sitebox / (none)", "/", short]] },
  ];
}

export async function runThroughput(ctx) {
  const { opts, tmp, problems, serverLogs } = ctx;
  makeSites(path.join(tmp, "sites"));
  const results = [];
  const profiles = {};
  for (const step of plan(opts)) {
    await checkIdle(problems, step.name);
    const server =
      step.kind === "baseline"
        ? await startBaseline(opts, tmp)
        : await startSitebox(opts, tmp, step.name, step.cache);
    try {
      for (const [target, pathname, t] of step.runs)
        results.push(await measure(opts, server, target, pathname, t.seconds, t.warmup, problems));
    } finally {
      await stopServer(server);
    }
    if (server.stderr.length) serverLogs[server.label] = server.stderr;
    if (server.profileDir) profiles[step.name] = aggregateProfiles(server);
  }
  return { results, ratios: ratios(results), profiles };
}

function ratios(results) {
  const rps = (t) => results.find((r) => r.target === t)?.rps ?? null;
  const ratio = (a, b) => (rps(a) && rps(b) ? rps(a) / rps(b) : null);
  return {
    siteboxOverNodeHttp: ratio("sitebox / (watch)", "node:http /"),
    noneOverWatch: ratio("sitebox / (none)", "sitebox / (watch)"),
    statOverWatch: ratio("sitebox / (stat)", "sitebox / (watch)"),
  };
}

export function printThroughput({ results, ratios: r }) {
  console.log();
  const rows = results.map((x) => {
    const rss = x.memory.map((m) => m.rssBytes).filter((b) => b !== null);
    return [
      x.target,
      Math.round(x.rps).toLocaleString("en-US"),
      fmtMs(x.p50Ms),
      fmtMs(x.p99Ms),
      String(x.non2xx + x.socketErrors),
      `${fmtMiB(mean(rss))} (${rss.map(fmtMiB).join("/")})`,
    ];
  });
  printGrid(["target", "req/s", "p50", "p99", "errors", "RSS/worker MiB (each)"], rows, "lrrrrl");
  const f = (x) => (x === null ? "?" : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2));
  const met =
    r.siteboxOverNodeHttp === null ? "" : r.siteboxOverNodeHttp >= 0.65 ? "met" : "NOT met";
  console.log(`\nsitebox/node:http, hello:  ${f(r.siteboxOverNodeHttp)}  (target >= 0.65: ${met})`);
  console.log(`cache none/watch, hello:   ${f(r.noneOverWatch)}`);
  console.log(`cache stat/watch, hello:   ${f(r.statOverWatch)}`);
}
