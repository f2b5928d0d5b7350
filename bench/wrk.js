// wrk: installed on demand, run to completion, its text report parsed.
import { spawn, spawnSync } from "node:child_process";
import { BenchError } from "./common.js";
import { exited, killGroup, track } from "./proc.js";

function hasWrk() {
  return spawnSync("sh", ["-c", "command -v wrk"], { stdio: "ignore" }).status === 0;
}

/** Installs wrk with apt-get when it is missing, showing apt-get's own output. */
export function ensureWrk() {
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

export function wrkArgs(opts, seconds, url) {
  return ["-t" + opts.threads, "-c" + opts.connections, `-d${seconds}s`, "--latency", url];
}

/** Runs wrk to completion and returns its parsed figures (and the raw text, for the JSON). */
export async function runWrk(opts, seconds, url) {
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
