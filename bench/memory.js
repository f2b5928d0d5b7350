// Memory at rest: what a sitebox worker carries beyond Node. Two parts:
//   1. a real sitebox and the node:http baseline at rest, per process (primary and workers), and
//      after each worker answered one hello (its first sandbox built);
//   2. memory-probe.js, a child process that builds a worker's parts one at a time (modules, HTTP
//      server, watchdog thread, wasm module, instance, runtime, prelude, sandboxes), once per set
//      of V8 flags: how much each part adds, and what the flags trade against a dispatch's CPU.
import { spawn } from "node:child_process";
import path from "node:path";
import { BenchError, ROOT, fmtMiB, printGrid, progress, sleep } from "./common.js";
import { everyWorker } from "./client.js";
import { exited, stopServer, track } from "./proc.js";
import { makeSites, startBaseline, startSitebox } from "./servers.js";
import { processTree, smapsRollup } from "./usage.js";

/** V8 flag sets the probe runs under; the first is Node's default. */
export const FLAG_SETS = [
  ["default", []],
  ["--no-liftoff (TurboFan only)", ["--no-liftoff"]],
  ["--liftoff-only", ["--liftoff-only"]],
];

/** Runs memory-probe.js with `flags`; resolves with its readings and the hello CPU µs. */
export async function runProbe(flags, args = []) {
  const child = track(
    spawn(
      process.execPath,
      ["--expose-gc", ...flags, path.join(ROOT, "bench/memory-probe.js"), ...args],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    ),
  );
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await exited(child);
  if (code !== 0) throw new BenchError(`memory-probe ${flags.join(" ")} failed (${code}):\n${err}`);
  const lines = out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  return { steps: lines.filter((l) => l.step), helloUs: lines.find((l) => l.helloUs)?.helloUs };
}

function perProcess(server) {
  return processTree([server.pid]).map((pid) => {
    const m = smapsRollup(pid) ?? {};
    return { pid, primary: pid === server.pid, rss: m.Rss, pss: m.Pss, anonymous: m.Anonymous };
  });
}

async function servers(ctx) {
  const sitesDir = path.join(ctx.tmp, "memory-sites");
  makeSites(sitesDir);
  const out = [];
  for (const kind of ["sitebox", "node:http"]) {
    const server =
      kind === "sitebox"
        ? await startSitebox(ctx.opts, ctx.tmp, "memory", "watch", {
            sitesDir,
            flags: ["--debug-headers"],
            profile: false,
          })
        : await startBaseline({ ...ctx.opts, profile: false }, ctx.tmp);
    try {
      await sleep(1000);
      const rest = perProcess(server);
      let served = null;
      if (kind === "sitebox") {
        await everyWorker(server.port, "127.0.0.1", ctx.opts.workers);
        await sleep(1000);
        served = perProcess(server);
      }
      out.push({ kind, rest, served });
    } finally {
      await stopServer(server);
    }
  }
  return out;
}

export async function runMemory(ctx) {
  progress("memory: sitebox and node:http at rest, per process ...");
  const real = await servers(ctx);
  const probes = [];
  for (const [label, flags] of FLAG_SETS) {
    progress(`memory: a worker's parts one at a time (${label}) ...`);
    probes.push({ label, flags, ...(await runProbe(flags)) });
  }
  return { real, probes };
}

const mib = (b) => (b === undefined || b === null ? "?" : fmtMiB(b));

export function printMemory({ real, probes }) {
  console.log("\nMemory at rest, per process (MiB, from /proc/PID/smaps_rollup)");
  const rows = [];
  for (const r of real) {
    const sum = (list, k) => list.reduce((a, p) => a + (p[k] ?? 0), 0);
    for (const [when, list] of [
      ["at rest", r.rest],
      ["after 1 hello/worker", r.served],
    ]) {
      if (!list) continue;
      for (const p of list)
        rows.push([
          r.kind,
          when,
          p.primary ? "primary" : "worker",
          mib(p.rss),
          mib(p.pss),
          mib(p.anonymous),
        ]);
      rows.push([
        r.kind,
        when,
        "all",
        mib(sum(list, "rss")),
        mib(sum(list, "pss")),
        mib(sum(list, "anonymous")),
      ]);
    }
  }
  printGrid(["server", "when", "process", "RSS", "PSS", "anonymous"], rows, "lllrrr");

  console.log(
    "\nA worker's parts, built one at a time in a fresh process (memory-probe.js): RSS added " +
      "by each step (MiB), the step's time (ms), under each set of V8 flags",
  );
  const head = ["step"];
  for (const p of probes) head.push(`+RSS ${p.label}`, "ms");
  const base = probes[0].steps;
  const body = base.map((s, i) => {
    const row = [s.step];
    for (const p of probes) {
      const cur = p.steps[i];
      const prev = p.steps[i - 1];
      row.push(i === 0 ? mib(cur.rss) : mib(cur.rss - prev.rss), cur.ms.toFixed(0));
    }
    return row;
  });
  body.push(["RSS at the end", ...probes.flatMap((p) => [mib(p.steps.at(-1).rss), ""])]);
  body.push([
    "V8 heap used at the end",
    ...probes.flatMap((p) => [mib(p.steps.at(-1).heapUsed), ""]),
  ]);
  body.push([
    "hello dispatch, CPU µs",
    ...probes.flatMap((p) => [p.helloUs?.toFixed(1) ?? "?", ""]),
  ]);
  printGrid(head, body, "l" + "r".repeat(head.length - 1));
}
