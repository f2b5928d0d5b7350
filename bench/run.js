// `npm run bench`: sitebox against a plain node:http cluster, measured with wrk on loopback.
//
//   node bench/run.js [--workers 2] [--duration 10] [--connections 32] [--json FILE] [--profile]
//
// Each server is started, warmed up, loaded with the same wrk command and stopped in turn, so only
// one server competes with wrk for the CPUs at a time. Every process started here runs in its own
// process group and is killed on exit, error or Ctrl-C.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MiB = 1024 * 1024;

class BenchError extends Error {}

// ---------------------------------------------------------------------------------------------
// Options

const USAGE = `usage: npm run bench -- [flags]
  --workers N        worker processes for both servers [2]
  --duration S       seconds of the main (hello) runs [10]
  --short S          seconds of the other runs [5, at most --duration]
  --warmup S         seconds of the warm-up before the hello runs [2]
  --connections N    wrk connections [32]
  --threads N        wrk threads [1]
  --json FILE        also write the results as JSON
  --profile          run sitebox with --cpu-prof; print the hottest functions of its workers
  --keep             keep the temporary folder (sites, logs, profiles)`;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      workers: { type: "string", default: "2" },
      duration: { type: "string", default: "10" },
      short: { type: "string", default: "5" },
      warmup: { type: "string", default: "2" },
      connections: { type: "string", default: "32" },
      threads: { type: "string", default: "1" },
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
  const int = (name, min, max) => {
    // "10s" is accepted too, since that is how wrk spells a duration.
    const n = Number(String(values[name]).replace(/s$/, ""));
    if (!Number.isInteger(n) || n < min || n > max)
      throw new BenchError(`--${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
  const duration = int("duration", 1, 3600);
  return {
    workers: int("workers", 1, 64),
    duration,
    short: Math.min(int("short", 1, 3600), duration),
    warmup: int("warmup", 0, 60),
    connections: int("connections", 1, 10000),
    threads: int("threads", 1, 64),
    json: values.json ? path.resolve(values.json) : null,
    profile: values.profile,
    keep: values.keep || values.profile,
  };
}

// ---------------------------------------------------------------------------------------------
// wrk

function hasWrk() {
  return spawnSync("sh", ["-c", "command -v wrk"], { stdio: "ignore" }).status === 0;
}

/** Installs wrk with apt-get when it is missing, showing apt-get's own output. */
function ensureWrk() {
  if (hasWrk()) return;
  console.log("wrk is not on PATH; installing it with: apt-get update && apt-get install -y wrk");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "wrk"]]) {
    console.log(`$ apt-get ${args.join(" ")}`);
    const r = spawnSync("apt-get", args, { stdio: "inherit", env });
    if (r.error || r.status !== 0)
      throw new BenchError(
        `could not install wrk: apt-get ${args.join(" ")} ` +
          (r.error ? `failed to start (${r.error.message})` : `exited with ${r.status}`) +
          `; install wrk by hand (it needs root: sudo apt-get install -y wrk) and run again`,
      );
  }
  if (!hasWrk()) throw new BenchError("apt-get installed wrk but it is still not on PATH");
}

function wrkArgs(opts, seconds, url) {
  return ["-t" + opts.threads, "-c" + opts.connections, `-d${seconds}s`, "--latency", url];
}

/** Runs wrk to completion and returns its parsed figures (and the raw text, for the JSON). */
async function runWrk(opts, seconds, url) {
  const args = wrkArgs(opts, seconds, url);
  const child = track(spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"], detached: true }));
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  // wrk stops itself after `seconds`; the guard only matters if it hangs.
  const guard = setTimeout(() => killGroup(child, "SIGKILL"), (seconds + 15) * 1000);
  const code = await exited(child);
  clearTimeout(guard);
  if (code !== 0) throw new BenchError(`wrk ${args.join(" ")} exited with ${code}:\n${out}`);
  return { ...parseWrk(out), raw: out };
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Figures from wrk's text report (run with --latency for the percentiles). */
function parseWrk(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : null;
  };
  const latency = (pct) => {
    const m = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, "m").exec(text);
    return m ? Number(m[1]) * UNIT_MS[m[2]] : null;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socket = sock
    ? { connect: +sock[1], read: +sock[2], write: +sock[3], timeout: +sock[4] }
    : { connect: 0, read: 0, write: 0, timeout: 0 };
  const rps = num(/Requests\/sec:\s+([\d.]+)/);
  if (rps === null) throw new BenchError(`could not read wrk's output:\n${text}`);
  return {
    rps,
    requests: num(/(\d+) requests in /),
    p50Ms: latency(50),
    p99Ms: latency(99),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/) ?? 0,
    socket,
    socketErrors: socket.connect + socket.read + socket.write + socket.timeout,
  };
}

// ---------------------------------------------------------------------------------------------
// Processes: every child is tracked and killed with its whole process group.

const children = new Set();

function track(child) {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Signals the child's process group (it was spawned detached, so it leads one). */
function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
}

function killEverything() {
  for (const child of children) killGroup(child, "SIGKILL");
}

/**
 * Starts a server and resolves once its stderr prints the line matching `ready`; stdout (the
 * access log) goes to `logFile`. Later stderr lines are kept: they are the server's complaints.
 */
function startServer({ label, args, ready, logFile }) {
  const out = fs.openSync(logFile, "w");
  const child = track(
    spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ["ignore", out, "pipe"],
      detached: true,
    }),
  );
  fs.closeSync(out);
  const server = { label, child, stderr: [], match: null, stopping: false };
  return new Promise((resolve, reject) => {
    const fail = (why) => {
      killGroup(child, "SIGKILL");
      reject(new BenchError(`${label} ${why}:\n${server.stderr.join("\n")}`));
    };
    const timer = setTimeout(() => fail("did not start within 20 s"), 20_000);
    const early = (code, signal) => fail(`exited during start-up (${signal ?? code})`);
    child.once("exit", early);
    let buf = "";
    child.stderr.on("data", (d) => {
      buf += d;
      const lines = buf.split("\n");
      buf = lines.pop();
      for (const line of lines) {
        if (server.match === null && (server.match = ready.exec(line))) {
          clearTimeout(timer);
          child.off("exit", early);
          resolve(server);
        } else if (!server.stopping && server.stderr.length < 1000) {
          server.stderr.push(line); // bounded: a failing route logs once per request
        }
      }
    });
  });
}

/**
 * SIGTERM to the primary alone (it drains its workers, which then write their CPU profiles), then
 * SIGKILL to the whole group if that takes too long or leaves anything behind.
 */
async function stopServer(server) {
  server.stopping = true;
  try {
    process.kill(server.child.pid, "SIGTERM");
  } catch {
    // already gone
  }
  const timer = setTimeout(() => killGroup(server.child, "SIGKILL"), 15_000);
  await exited(server.child);
  clearTimeout(timer);
  killGroup(server.child, "SIGKILL"); // any worker the primary left behind
}

// ---------------------------------------------------------------------------------------------
// The servers

/** The benchmark site: a hello route, a JSON route with an import, a static file. */
function makeSites(dir) {
  const files = {
    "default/index.js": `export default {
  fetch() {
    return new Response("Hello, world!", { headers: { "content-type": "text/plain" } });
  },
};
`,
    "default/api/json.js": `import { describe } from "./_lib/x.js";

export default {
  fetch(request) {
    return Response.json(describe(new URL(request.url).pathname));
  },
};
`,
    "default/api/_lib/x.js": `export function describe(path) {
  return { path, ok: true, items: [1, 2, 3], nested: { greeting: "Hello, world!" } };
}
`,
    "default/public/static.txt": "Hello, static world!\n",
  };
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
}

/**
 * Node flags that make every process of a server write a .cpuprofile into its own folder. Node 20
 * refuses --cpu-prof in NODE_OPTIONS; as a flag of the primary it reaches the workers too, since
 * cluster.fork() passes on process.execArgv.
 */
function profileArgs(opts, tmp, name) {
  if (!opts.profile) return { nodeArgs: [], profileDir: null };
  const profileDir = path.join(tmp, `profile-${name}`);
  fs.mkdirSync(profileDir);
  return { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`], profileDir };
}

async function startBaseline(opts, tmp) {
  const { nodeArgs, profileDir } = profileArgs(opts, tmp, "baseline");
  const server = await startServer({
    label: "baseline (node:http)",
    args: [
      ...nodeArgs,
      path.join(ROOT, "bench/baseline-server.js"),
      ...["--workers", String(opts.workers)],
    ],
    ready: /listening on http:\/\/127\.0\.0\.1:(\d+) .*pid (\d+), worker pids ([\d,]+)/,
    logFile: path.join(tmp, "baseline.log"),
  });
  server.port = Number(server.match[1]);
  server.pid = Number(server.match[2]);
  server.workerPids = server.match[3].split(",").map(Number);
  server.profileDir = profileDir;
  return server;
}

async function startSitebox(opts, tmp, name, cache) {
  const { nodeArgs, profileDir } = profileArgs(opts, tmp, name);
  const server = await startServer({
    label: `sitebox (${name})`,
    args: [
      ...nodeArgs,
      path.join(ROOT, "bin/sitebox.js"),
      "serve",
      path.join(tmp, "sites"),
      ...["--port", "0", "--workers", String(opts.workers), "--cache", cache],
    ],
    ready: /serving .* on http:\/\/127\.0\.0\.1:(\d+) .*pid (\d+)/,
    logFile: path.join(tmp, `sitebox-${name}.log`),
  });
  server.port = Number(server.match[1]);
  server.pid = Number(server.match[2]);
  server.profileDir = profileDir;
  return server;
}

// ---------------------------------------------------------------------------------------------
// Memory

/** VmRSS of a process in bytes, from /proc (Linux), or null when unreadable. */
function procRss(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

async function siteboxStatus(server) {
  const res = await fetch(`http://127.0.0.1:${server.port}/.sitebox/status.json`);
  if (!res.ok) throw new BenchError(`status.json answered ${res.status}`);
  return res.json();
}

/** Per-worker memory after a run: from the status page for sitebox, /proc for the baseline. */
async function workerMemory(server) {
  if (server.workerPids)
    return server.workerPids.map((pid) => ({ pid, rssBytes: procRss(pid), sandboxBytes: null }));
  const status = await siteboxStatus(server);
  return status.workers.map((w) => ({
    pid: w.pid,
    rssBytes: w.rssBytes,
    sandboxBytes: w.sandboxBytes,
    requests: w.requests,
  }));
}

/** Idle and total jiffies of all CPUs, from /proc/stat (Linux). */
function cpuTimes() {
  const fields = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
  const n = fields.slice(1).map(Number);
  return { idle: n[3] + n[4], total: n.reduce((a, b) => a + b, 0) }; // idle + iowait
}

/**
 * Share of the machine left idle over a short window while no server of ours runs: when other
 * processes are busy (a test suite, a build), the numbers would measure them too.
 */
async function idleShare(ms = 500) {
  const a = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = cpuTimes();
  return (b.idle - a.idle) / Math.max(1, b.total - a.total);
}

// ---------------------------------------------------------------------------------------------
// One measured target

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
  process.stderr.write(`bench: ${target}: warm-up ${warmup} s, load ${seconds} s ...\n`);
  if (warmup > 0) await runWrk(opts, warmup, url);
  const wrk = await runWrk(opts, seconds, url);
  const memory = await workerMemory(server);
  if (wrk.non2xx > 0) problems.push(`${target}: ${wrk.non2xx} non-2xx/3xx responses`);
  if (wrk.socketErrors > 0) problems.push(`${target}: socket errors ${JSON.stringify(wrk.socket)}`);
  return { target, url, seconds, ...wrk, memory };
}

// ---------------------------------------------------------------------------------------------
// CPU profiles

/** Self time (µs) per function of one .cpuprofile, keyed by name and location. */
function selfTimes(profile, into) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const perNode = new Map();
  const { samples = [], timeDeltas = [] } = profile;
  // A sample lasts until the next one; timeDeltas[i] is the gap before sample i.
  for (let i = 0; i < samples.length; i++) {
    const dt = Math.max(0, timeDeltas[i + 1] ?? 0);
    perNode.set(samples[i], (perNode.get(samples[i]) ?? 0) + dt);
  }
  for (const [id, us] of perNode) {
    const { functionName, url, lineNumber, columnNumber } = nodes.get(id).callFrame;
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}:${columnNumber + 1}` : "";
    const key = `${functionName || "(anonymous)"}\t${where}`;
    into.set(key, (into.get(key) ?? 0) + us);
  }
}

function shortUrl(url) {
  const root = "file://" + ROOT + "/";
  if (url.startsWith(root)) return url.slice(root.length);
  return url.replace(/^file:\/\/.*\/node_modules\//, "node_modules/");
}

/**
 * Aggregates the profiles of a server's worker processes, main threads only: the primary and any
 * helper thread (a watchdog) mostly sleep, and their idle time would dilute the percentages.
 * Node names the files CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is main.
 */
function aggregateProfiles(server) {
  const files = fs.readdirSync(server.profileDir).filter((f) => {
    const m = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\.\d+\.cpuprofile$/.exec(f);
    return m !== null && Number(m[1]) !== server.pid && m[2] === "0";
  });
  const totals = new Map();
  for (const f of files)
    selfTimes(JSON.parse(fs.readFileSync(path.join(server.profileDir, f), "utf8")), totals);
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  const idle = totals.get("(idle)\t") ?? 0;
  const top = [...totals]
    .filter(([key]) => key !== "(idle)\t")
    .sort((a, b) => b[1] - a[1])
    .map(([key, us]) => {
      const [fn, where] = key.split("\t");
      return {
        function: fn,
        location: where,
        selfMs: us / 1000,
        busyPct: (100 * us) / (all - idle),
      };
    });
  return {
    dir: server.profileDir,
    files: files.length,
    totalMs: all / 1000,
    idleMs: idle / 1000,
    top,
  };
}

function printProfile(label, prof, limit) {
  console.log(
    `\nTop ${limit} self time, ${label}: ${prof.files} worker main threads, ` +
      `${(prof.totalMs / 1000).toFixed(1)} s sampled, ` +
      `${((prof.totalMs - prof.idleMs) / 1000).toFixed(1)} s busy (${prof.dir})`,
  );
  console.log(`  ${"self ms".padStart(9)} ${"busy%".padStart(6)}  function  location`);
  for (const row of prof.top.slice(0, limit))
    console.log(
      `  ${row.selfMs.toFixed(1).padStart(9)} ${row.busyPct.toFixed(1).padStart(6)}  ` +
        `${row.function}  ${row.location}`,
    );
}

// ---------------------------------------------------------------------------------------------
// Report

const fmtMs = (ms) =>
  ms === null
    ? "?"
    : ms < 1
      ? `${(ms * 1000).toFixed(0)} µs`
      : ms < 1000
        ? `${ms.toFixed(2)} ms`
        : `${(ms / 1000).toFixed(2)} s`;
const fmtMiB = (b) => (b === null ? "?" : `${(b / MiB).toFixed(1)}`);
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

function printTable(results) {
  const rows = results.map((r) => {
    const rss = r.memory.map((m) => m.rssBytes).filter((x) => x !== null);
    return [
      r.target,
      Math.round(r.rps).toLocaleString("en-US"),
      fmtMs(r.p50Ms),
      fmtMs(r.p99Ms),
      String(r.non2xx + r.socketErrors),
      `${fmtMiB(mean(rss))} (${rss.map(fmtMiB).join("/")})`,
    ];
  });
  const head = ["target", "req/s", "p50", "p99", "errors", "RSS/worker MiB (each)"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : i === 5 ? c : c.padStart(widths[i])))
      .join("  ");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
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

function printRatios(r) {
  const f = (x) => (x === null ? "?" : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2));
  const met =
    r.siteboxOverNodeHttp === null ? "" : r.siteboxOverNodeHttp >= 0.65 ? "met" : "NOT met";
  console.log(`\nsitebox/node:http, hello:  ${f(r.siteboxOverNodeHttp)}  (target >= 0.65: ${met})`);
  console.log(`cache none/watch, hello:   ${f(r.noneOverWatch)}`);
  console.log(`cache stat/watch, hello:   ${f(r.statOverWatch)}`);
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
  makeSites(path.join(tmp, "sites"));

  const short = { seconds: opts.short, warmup: Math.min(1, opts.warmup) };
  const hello = { seconds: opts.duration, warmup: opts.warmup };
  // One server per group, stopped before the next starts. The JSON and static routes get their
  // own server so that the hello server's profile (with --profile) shows the hello path alone.
  const plan = [
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

  const wrkCmd = `wrk ${wrkArgs(opts, opts.duration, "URL").join(" ")}`;
  console.log(
    `sitebox bench: ${opts.workers} workers per server, \`${wrkCmd}\` ` +
      `(other runs ${opts.short} s), node ${process.version}, ${os.cpus().length} CPUs` +
      (opts.profile ? ", CPU profiling on (throughput is lower than without)" : ""),
  );
  const results = [];
  const problems = [];
  const profiles = {};
  const serverLogs = {};
  for (const step of plan) {
    const idle = await idleShare();
    if (idle < 0.85)
      problems.push(
        `before ${step.name}: the CPUs were only ${(idle * 100).toFixed(0)}% idle ` +
          `(other processes busy), so the numbers are noisy`,
      );
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

  console.log();
  printTable(results);
  const r = ratios(results);
  printRatios(r);
  printProblems(problems, serverLogs);
  if (opts.profile) {
    printProfile("sitebox / (watch)", profiles.watch, 25);
    printProfile("node:http / (for comparison)", profiles.baseline, 10);
    printProfile("sitebox /api/json + /static.txt", profiles.routes, 10);
    printProfile("sitebox / (none)", profiles.none, 10);
  }
  if (opts.json) {
    // The profiles' long tails are noise: 50 rows each are plenty.
    for (const p of Object.values(profiles)) p.top = p.top.slice(0, 50);
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      options: opts,
      wrk: wrkCmd,
      results,
      ratios: r,
      problems,
      serverLogs,
      profiles,
    };
    fs.writeFileSync(opts.json, JSON.stringify(report, null, 2) + "\n");
    console.log(`\nresults written to ${opts.json}`);
  }
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
