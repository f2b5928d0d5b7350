// wrk: installed on demand, run to completion, its text report parsed.
import { spawn } from "node:child_process";
import { BenchError } from "./common.js";
import { ensurePackages, onPath } from "./install.js";
import { exited, killGroup, track } from "./proc.js";

/** Installs wrk with apt-get when it is missing. */
export function ensureWrk() {
  ensurePackages([{ pkg: "wrk", present: () => onPath("wrk") }]);
}

export function wrkArgs(opts, seconds, url, script) {
  const s = script ? ["-s", script] : [];
  return ["-t" + opts.threads, "-c" + opts.connections, `-d${seconds}s`, "--latency", ...s, url];
}

/**
 * Runs wrk to completion and returns its parsed figures (and the raw text, for the JSON).
 * `script`: a Lua file (the POST workload); `around.before()` runs just before wrk starts and
 * `around.after()` as soon as it exits, for readings that should span the load and nothing else.
 */
export async function runWrk(opts, seconds, url, script = null, around = null) {
  const args = wrkArgs(opts, seconds, url, script);
  around?.before();
  const child = track(spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"], detached: true }));
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  // wrk stops itself after `seconds`; the guard only matters if it hangs.
  const guard = setTimeout(() => killGroup(child, "SIGKILL"), (seconds + 15) * 1000);
  const code = await exited(child);
  around?.after();
  clearTimeout(guard);
  if (code !== 0) throw new BenchError(`wrk ${args.join(" ")} exited with ${code}:\n${out}`);
  return { ...parseWrk(out), raw: out };
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Figures from wrk's text report (run with --latency for the percentiles). */
export function parseWrk(text) {
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
