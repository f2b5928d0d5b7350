// Throughput: every workload (workloads.js) on every target (targets.js), side by side in one run.
// All targets are started first and stay up (an idle server costs next to nothing); then for each
// workload each target in turn gets a warm-up and a timed wrk run, so the ratios are taken
// minutes, not a whole bench, apart. Per run: req/s and latency from wrk, and the CPU time the
// server's processes spent (usage.js) divided by the requests wrk completed: the figure that
// stays put when other work shares the cores.
import path from "node:path";
import { checkIdle, progress, sleep } from "./common.js";
import { aggregateProfiles } from "./profile.js";
import { pickTargets } from "./targets.js";
import { cpuReading, cpuSpent, machineBusySeconds, machineReading, treeMemory } from "./usage.js";
import { ECHO_BODY, WORKLOADS, expectedBodies, wrkPostScript } from "./workloads.js";
import { runWrk } from "./wrk.js";

/** Checks that `target` answers `w` with exactly the expected bytes; a line saying why not. */
async function check(target, w, expected) {
  const url = target.url + w.path;
  try {
    const init =
      w.method === "POST"
        ? { method: "POST", body: ECHO_BODY, headers: { "content-type": "application/json" } }
        : {};
    const res = await fetch(url, init);
    const body = await res.text();
    if (res.status !== 200) return `${url} answered ${res.status}: ${body.trim().slice(0, 200)}`;
    if (body !== expected)
      return `${url} answered other bytes (${body.length} vs ${expected.length}): ${body.slice(0, 80)}`;
    return null;
  } catch (err) {
    return `${url} failed: ${err.message}`;
  }
}

/**
 * Loads a fresh server until its helper threads are quiet: a sitebox worker's V8 tiers QuickJS's
 * wasm up with TurboFan on background threads, about a CPU second per worker, spread over many
 * seconds when the cores are shared; timed runs before that would count it. First each workload
 * for a second (every path warm, Apache's children import their handlers), then the first in
 * 1 s steps until threads other than the processes' main ones use under 5% of a core, or
 * `opts.settle` seconds passed. Returns the seconds it took.
 */
export async function settle(opts, roots, urls, script = null) {
  if (opts.settle === 0) return 0;
  const t0 = performance.now();
  for (const [url, post] of urls) await runWrk(opts, 1, url, post ? script : null);
  while ((performance.now() - t0) / 1000 < opts.settle) {
    let a, b;
    await runWrk(opts, 1, urls[0][0], null, {
      before: () => (a = cpuReading(roots())),
      after: () => (b = cpuReading(roots())),
    });
    const { helperSeconds, wallSeconds } = cpuSpent(a, b);
    if (helperSeconds / wallSeconds < 0.05) break;
  }
  return (performance.now() - t0) / 1000;
}

async function measure(ctx, t, w, script) {
  const { opts, problems } = ctx;
  const url = t.running.url + w.path;
  progress(`${w.name} on ${t.label}: warm-up ${opts.warmup} s, load ${opts.duration} s ...`);
  if (opts.warmup > 0) await runWrk(opts, opts.warmup, url, script);
  let cpu0, cpu1, m0, m1;
  const around = {
    before: () => ((cpu0 = cpuReading(t.running.roots())), (m0 = machineReading())),
    after: () => ((cpu1 = cpuReading(t.running.roots())), (m1 = machineReading())),
  };
  const wrk = await runWrk(opts, opts.duration, url, script, around);
  const cpu = cpuSpent(cpu0, cpu1);
  const machine = machineBusySeconds(m0, m1);
  if (wrk.non2xx > 0) problems.push(`${w.name} on ${t.label}: ${wrk.non2xx} non-2xx responses`);
  if (wrk.socketErrors > 0)
    problems.push(`${w.name} on ${t.label}: socket errors ${JSON.stringify(wrk.socket)}`);
  if (cpu.gone || cpu.added)
    problems.push(
      `${w.name} on ${t.label}: ${cpu.gone} processes exited and ${cpu.added} started during ` +
        `the run, so its CPU figure is uncertain`,
    );
  const { raw, ...figures } = wrk;
  return {
    workload: w.name,
    target: t.name,
    label: t.label,
    ...figures,
    cpuSeconds: cpu.seconds,
    wallSeconds: cpu.wallSeconds,
    cpuUsPerRequest: wrk.requests ? (cpu.seconds * 1e6) / wrk.requests : null,
    // What the rest of the machine (wrk, and whatever else runs) used meanwhile.
    othersCpuSeconds: Math.max(0, machine - cpu.seconds),
  };
}

export async function runThroughput(ctx) {
  const { opts, tmp, problems } = ctx;
  const targets = pickTargets(opts).map((t) => ({ ...t }));
  const workloads = WORKLOADS.filter((w) => !opts.workloads || opts.workloads.includes(w.name));
  const script = wrkPostScript(path.join(tmp, "post.lua"));
  const expected = expectedBodies();
  const memory = {};
  const settled = {};
  try {
    for (const t of targets) {
      progress(`starting ${t.label} ...`);
      t.running = await t.start(ctx);
      for (const w of workloads) {
        const bad = await check(t.running, w, expected[w.name]);
        if (bad) problems.push(`${t.label}: ${bad}`);
      }
    }
    await sleep(500); // the first requests' garbage, and start-up work, settle
    for (const t of targets)
      memory[t.name] = { label: t.label, rest: treeMemory(t.running.roots()) };
    for (const t of targets) {
      progress(`${t.label}: settling under load ...`);
      const urls = workloads.map((w) => [t.running.url + w.path, w.method === "POST"]);
      settled[t.name] = await settle(opts, t.running.roots, urls, script);
    }
    await checkIdle(problems, "throughput");
    const results = [];
    for (let round = 0; round < opts.rounds; round++)
      for (const w of workloads)
        for (const t of targets) {
          const r = await measure(ctx, t, w, w.method === "POST" ? script : null);
          results.push({ ...r, round });
        }
    for (const t of targets) memory[t.name].loaded = treeMemory(t.running.roots());
    return {
      workloads: workloads.map((w) => w.name),
      targets: targets.map(label),
      results,
      memory,
      settled,
    };
  } finally {
    for (const t of targets) if (t.running) await t.running.stop();
    const sb = targets.find((t) => t.name === "sitebox")?.running?.server;
    if (sb?.profileDir) ctx.profiles.throughput = aggregateProfiles(sb);
  }
}

const label = (t) => ({ name: t.name, label: t.label });
