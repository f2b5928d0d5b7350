// Where a request's time goes on the Node side of a worker, for hello (a script) and the static
// file (no site code): sitebox against node:http under the same wrk load, measured three ways:
//   1. CPU per request by thread from /proc (worker main threads user and kernel, the workers'
//      other threads, the primary): nothing added to the servers;
//   2. a V8 CPU profile of the workers (--cpu-prof, 200 µs interval), only the samples taken
//      during the timed run, summed by step (PROFILE_STEPS) and divided by the requests
//      (the profiler's own cost included: compare the total with 1.);
//   3. system calls per request, counted by strace attached to the workers.
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { printGrid, progress, sleep } from "./common.js";
import { exited, stopServer, track } from "./proc.js";
import { microCosts } from "./node-micro.js";
import { makeSites, startBaseline, startSitebox } from "./servers.js";
import { USER_HZ, processTree, threadTicks } from "./usage.js";
import { settle } from "./throughput.js";
import { runWrk } from "./wrk.js";

/** Steps of a request, by where a profile sample's function lives: first match wins. */
const PROFILE_STEPS = [
  ["QuickJS interpreter (wasm)", (f) => f.url.startsWith("wasm://")],
  ["quickjs-emscripten glue (JS)", (f) => /quickjs-emscripten|@jitl|emscripten-module/.test(f.url)],
  ["sandbox, Node side (crossing)", (f) => /\/dist\/(sandbox\/|busy\.js)/.test(f.url)],
  ["routing: Host and path", (f) => f.url.endsWith("/dist/router.js")],
  [
    "static lookup (contained open, fstat)",
    (f) =>
      /\/dist\/(static|contained-open)\.js$/.test(f.url) ||
      (f.url === "" &&
        /^(realpath|stat|lstat|open|close|read|fstat|readlink)$/.test(f.functionName)),
  ],
  ["access log", (f) => f.url.endsWith("/dist/log.js")],
  ["latency histogram", (f) => f.url === "node:internal/histogram"],
  [
    "accounting, drain, site lookup",
    (f) => /\/dist\/(worker|drain|sites|lifecycle)\.js$/.test(f.url),
  ],
  // pipeline.js and front/ today; whatever file the request path moves to tomorrow.
  ["request handling (pipeline, front end, rest of dist/)", (f) => f.url.includes("/dist/")],
  ["timers", (f) => /^node:(internal\/)?timers$/.test(f.url) || /Timeout$/.test(f.functionName)],
  [
    "socket writes (writev: kernel TCP)",
    (f) =>
      f.url === "" &&
      /^(writev|writeBuffer|writeUtf8String|writeLatin1String)$/.test(f.functionName),
  ],
  [
    "node: socket streams",
    (f) => /^node:(net|internal\/stream_base_commons|internal\/streams\/)/.test(f.url),
  ],
  [
    "node: HTTP parsing",
    (f) => /^node:_http_(common|incoming)$/.test(f.url) || f.functionName === "execute",
  ],
  ["node: HTTP response", (f) => /^node:_http_(outgoing|server)$/.test(f.url)],
  [
    "node: events, ticks, promises",
    (f) => /^node:(events|internal\/process\/)/.test(f.url) || f.functionName === "runMicrotasks",
  ],
  ["garbage collector", (f) => f.functionName === "(garbage collector)"],
  ["(program): native, unattributed", (f) => f.functionName === "(program)"],
  ["other JS", () => true],
];

/** Profile self time (µs) by step, of the samples between t0 and t1 (monotonic µs). */
function profileSteps(server, t0, t1) {
  const by = new Map(PROFILE_STEPS.map(([name]) => [name, 0]));
  let files = 0;
  for (const f of fs.readdirSync(server.profileDir)) {
    const m = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\.\d+\.cpuprofile$/.exec(f);
    if (!m || m[2] !== "0" || Number(m[1]) === server.pid) continue; // worker main threads only
    files++;
    const p = JSON.parse(fs.readFileSync(path.join(server.profileDir, f), "utf8"));
    const step = new Map(
      p.nodes.map((n) => [
        n.id,
        n.callFrame.functionName === "(idle)" ? null : stepOf(n.callFrame),
      ]),
    );
    let t = p.startTime;
    for (let i = 0; i < p.samples.length; i++) {
      t += p.timeDeltas[i];
      const s = step.get(p.samples[i]);
      if (s === null || t < t0 || t > t1) continue;
      by.set(s, by.get(s) + Math.max(0, p.timeDeltas[i + 1] ?? 0));
    }
  }
  return { files, steps: [...by] };
}

const stepOf = (frame) => PROFILE_STEPS.find(([, test]) => test(frame))[0];

/** µs per request by thread group, from /proc ticks before and after the run. */
function threadCosts(before, after, primaryPid, requests) {
  const prev = new Map(before.map((t) => [t.tid, t]));
  const groups = { "main user": 0, "main kernel": 0, "other threads": 0, primary: 0 };
  for (const t of after) {
    const b = prev.get(t.tid) ?? { utime: 0, stime: 0 };
    const ticks = t.utime - b.utime + (t.stime - b.stime);
    if (t.pid === primaryPid) groups.primary += ticks;
    else if (t.tid !== t.pid) groups["other threads"] += ticks;
    else {
      groups["main user"] += t.utime - b.utime;
      groups["main kernel"] += t.stime - b.stime;
    }
  }
  const us = (ticks) => (ticks * 1e6) / USER_HZ / requests;
  return Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, us(v)]));
}

/** strace -c on the workers during a short run: system calls per request by name. */
async function syscalls(opts, server, url) {
  const workers = processTree([server.pid]).filter((p) => p !== server.pid);
  const args = ["-f", "-c", "-o", path.join(server.tmp, `strace-${server.pid}.txt`)];
  for (const p of workers) args.push("-p", String(p));
  const strace = track(spawn("strace", args, { stdio: "ignore", detached: true }));
  await sleep(500); // attached
  const wrk = await runWrk(opts, 2, url);
  process.kill(strace.pid, "SIGINT");
  await exited(strace);
  const text = fs.readFileSync(args[3], "utf8");
  const calls = [];
  for (const m of text.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/gm))
    calls.push({ name: m[2], perRequest: Number(m[1]) / wrk.requests });
  return calls.filter((c) => c.perRequest >= 0.01).sort((a, b) => b.perRequest - a.perRequest);
}

/** The workloads profiled: a script's path (hello) and a static file's (no site code). */
const PATHS = { hello: "/", static: "/style.css" };

/** One server kind, every workload of PATHS: CPU by thread and syscalls, then the profile. */
async function oneServer(ctx, kind) {
  const { opts, tmp } = ctx;
  const sitesDir = path.join(tmp, "node-steps-sites");
  if (!fs.existsSync(sitesDir)) makeSites(sitesDir);
  const start = (profile) => {
    const o = { ...opts, profile, profileIntervalUs: 200 };
    return kind === "sitebox"
      ? startSitebox(o, tmp, `node-steps${profile ? "-prof" : ""}`, "watch", { sitesDir, profile })
      : startBaseline(o, tmp);
  };
  const out = {};
  progress(`node-steps: ${kind}: CPU by thread and system calls ...`);
  let server = await start(false);
  server.tmp = tmp;
  const base = `http://127.0.0.1:${server.port}`;
  await settle(opts, () => [server.pid], [[base + "/"], [base + "/style.css"]]);
  for (const [name, p] of Object.entries(PATHS)) {
    await runWrk(opts, opts.warmup || 1, base + p);
    let before, after;
    const wrk = await runWrk(opts, opts.duration, base + p, null, {
      before: () => (before = threadTicks([server.pid])),
      after: () => (after = threadTicks([server.pid])),
    });
    const calls = await syscalls(opts, server, base + p).catch((e) => [
      { name: `strace: ${e.message}`, perRequest: 0 },
    ]);
    out[name] = {
      rps: wrk.rps,
      threads: threadCosts(before, after, server.pid, wrk.requests),
      calls,
    };
  }
  await stopServer(server);
  progress(`node-steps: ${kind}: CPU profile ...`);
  server = await start(true);
  const pbase = `http://127.0.0.1:${server.port}`;
  await settle(opts, () => [server.pid], [[pbase + "/"], [pbase + "/style.css"]]);
  const windows = {};
  for (const [name, p] of Object.entries(PATHS)) {
    await runWrk(opts, opts.warmup || 1, pbase + p);
    const w = {};
    const wrk = await runWrk(opts, opts.duration, pbase + p, null, {
      before: () => (w.t0 = Number(process.hrtime.bigint() / 1000n)),
      after: () => (w.t1 = Number(process.hrtime.bigint() / 1000n)),
    });
    windows[name] = { ...w, requests: wrk.requests, rps: wrk.rps };
  }
  await stopServer(server);
  for (const [name, w] of Object.entries(windows)) {
    const prof = profileSteps(server, w.t0, w.t1);
    out[name].profiledRps = w.rps;
    out[name].steps = prof.steps.map(([step, us]) => ({ step, us: us / w.requests }));
  }
  return out;
}

export async function runNodeSteps(ctx) {
  progress("node-steps: the worker's own pieces alone, in process ...");
  const micro = await microCosts();
  const sitebox = await oneServer(ctx, "sitebox");
  const node = await oneServer(ctx, "node:http");
  const workloads = Object.keys(PATHS).map((workload) => ({
    workload,
    sitebox: sitebox[workload],
    node: node[workload],
  }));
  return { micro, workloads };
}

const f2 = (x) => (x === undefined ? "-" : x.toFixed(2));

export function printNodeSteps({ micro, workloads }) {
  for (const r of workloads) printOne(r);
  console.log("\nThe worker's own pieces alone, in process (CPU µs per call; lower bounds)");
  printGrid(
    ["piece", "µs"],
    micro.map((m) => [m.label, f2(m.us)]),
  );
}

function printOne({ workload, sitebox, node }) {
  console.log(`\n${workload}: CPU µs per request by thread (from /proc, no profiler)`);
  printGrid(
    ["threads", "sitebox", "node:http", "difference"],
    Object.keys(sitebox.threads).map((k) => [
      k,
      f2(sitebox.threads[k]),
      f2(node.threads[k]),
      f2(sitebox.threads[k] - node.threads[k]),
    ]),
  );
  const sum = (r) => r.steps.reduce((a, s) => a + s.us, 0);
  console.log(
    `\n${workload}: worker main threads' CPU µs per request by step (V8 CPU profile, samples ` +
      `of the timed run only; profiled: sitebox ${Math.round(sitebox.profiledRps)} req/s, ` +
      `node:http ${Math.round(node.profiledRps)} req/s)`,
  );
  const nodeStep = new Map(node.steps.map((s) => [s.step, s.us]));
  printGrid(
    ["step", "sitebox", "node:http", "difference"],
    [
      ...sitebox.steps.map((s) => [
        s.step,
        f2(s.us),
        f2(nodeStep.get(s.step)),
        f2(s.us - nodeStep.get(s.step)),
      ]),
      ["total", f2(sum(sitebox)), f2(sum(node)), f2(sum(sitebox) - sum(node))],
    ],
  );
  console.log(`\n${workload}: system calls per request (strace -c -f on the workers)`);
  const nodeCalls = new Map(node.calls.map((c) => [c.name, c.perRequest]));
  const sbCalls = new Map(sitebox.calls.map((c) => [c.name, c.perRequest]));
  const names = [...new Set([...sitebox.calls, ...node.calls].map((c) => c.name))];
  printGrid(
    ["system call", "sitebox", "node:http"],
    names.map((n) => [n, f2(sbCalls.get(n) ?? 0), f2(nodeCalls.get(n) ?? 0)]),
  );
}
