// A real sandbox (dist/sandbox/sandbox.js) in this process, without HTTP, for the micro-benchmarks:
// the bench site's routes plus a few probes, requests dispatched straight in, timed from Node.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { BenchError, ROOT } from "./common.js";
import { SITE_DIR } from "./workloads.js";

const dist = (file) => import(pathToFileURL(path.join(ROOT, "dist", file)).href);
/** The worker's turn (sandbox/turn.ts): a dispatch runs when it runs, here at once. */
const { turn } = await dist("sandbox/turn.js");

/** The bench site's files (name → source) plus `extra`: what a sandbox's loader serves. */
export function siteFiles(extra = {}) {
  const files = {};
  const walk = (dir, prefix) => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const name = prefix + d.name;
      if (d.isDirectory()) walk(path.join(dir, d.name), name + "/");
      else if (name.endsWith(".js")) files[name] = fs.readFileSync(path.join(dir, d.name), "utf8");
    }
  };
  walk(SITE_DIR, "");
  return { ...files, ...extra };
}

const quietLog = {
  lines: [],
  access() {},
  error(_tags, message) {
    this.lines.push(message);
  },
  console(_tags, _level, text) {
    this.lines.push(text);
  },
  info() {},
  flush() {},
};

/**
 * A sandbox over `files`. With `instance` ({ module, memory, capBytes }, e.g. another QuickJS
 * variant), it is built on that instead of the default wasm, evaluating the prelude itself (no
 * template: that is the default wasm's): the constructor is private to TypeScript only.
 */
export async function newSandbox(files, instance = null) {
  const { Sandbox } = await dist("sandbox/sandbox.js");
  const init = {
    site: "bench",
    generation: 1,
    files,
    settings: {
      main: null,
      vars: {},
      limits: { timeoutMs: 10_000, wallTimeoutMs: 60_000, memoryMb: 64, maxBodyBytes: 1 << 20 },
    },
    worker: 0,
    log: quietLog,
  };
  return instance ? new Sandbox(init, instance, null) : Sandbox.create(init);
}

/** The sandbox's crossing (strings.ts): its class, to time it and to use it on a plain context. */
export const crossingClass = async () => (await dist("sandbox/host/strings.js")).Crossing;

export const newDefaultInstance = async (memoryMb = 64) =>
  (await dist("sandbox/wasm.js")).newInstance(memoryMb);

/**
 * Runs one request now (the worker runs it later in the same turn of its event loop); every
 * handler here answers within the call, so this is synchronous.
 */
export function dispatch(sb, req) {
  let out = null;
  sb.dispatch(req, {
    head: (status, headers, kind, body) => (out = { status, headers, kind, body }),
    chunk() {},
    end() {},
    fail: (err) => (out = { status: err.status, error: err.message }),
  });
  turn.run();
  if (out === null) throw new BenchError(`${req.route}: no answer within the dispatch`);
  if (out.status !== 200)
    throw new BenchError(
      `${req.route}: answered ${out.status} ${out.error ?? ""} ${quietLog.lines.slice(-2).join(" ")}`,
    );
  return out;
}

/** CPU µs per call of `fn` (process CPU, so preemption by other processes does not count). */
export function cpuPerCall(fn, n) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / n;
}

/**
 * The median of `reps` measurements of cpuPerCall, each about `targetUs` of CPU long, after a
 * warm-up that also sizes them.
 */
export function medianCpuPerCall(fn, targetUs = 30_000, reps = 5) {
  let n = 50;
  let est = cpuPerCall(fn, n);
  while (est * n < 5000 && n < 1 << 20) est = cpuPerCall(fn, (n *= 4));
  n = Math.max(20, Math.round(targetUs / Math.max(est, 0.01)));
  const xs = [];
  for (let i = 0; i < reps; i++) xs.push(cpuPerCall(fn, n));
  xs.sort((a, b) => a - b);
  return xs[reps >> 1];
}
