// Processes: every child is tracked and killed with its whole process group.
import { spawn } from "node:child_process";
import fs from "node:fs";
import { BenchError, ROOT } from "./common.js";

const children = new Set();

export function track(child) {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Signals the child's process group (it was spawned detached, so it leads one). */
export function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

export function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
}

export function killEverything() {
  for (const child of children) killGroup(child, "SIGKILL");
}

/**
 * Starts a server and resolves once its stderr prints the line matching `ready`; stdout (the
 * access log) goes to `logFile`. Later stderr lines are kept: they are the server's complaints.
 */
export function startServer({ label, args, ready, logFile }) {
  const out = fs.openSync(logFile, "w");
  const t0 = performance.now();
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
          server.startMs = performance.now() - t0; // spawn to the ready line
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
export async function stopServer(server) {
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

/**
 * Starts a daemon that prints no ready line (Apache, nginx, php-fpm) in the foreground, output to
 * `logFile`, and resolves once `ready()` resolves true (polled), or rejects with the log's tail.
 */
export async function startDaemon({ label, command, args, logFile, ready, env }) {
  const out = fs.openSync(logFile, "a");
  const child = track(
    spawn(command, args, {
      cwd: ROOT,
      stdio: ["ignore", out, out],
      detached: true,
      env: env ?? process.env,
    }),
  );
  fs.closeSync(out);
  const server = { label, child, stderr: [], stopping: false };
  const t0 = performance.now();
  while (performance.now() - t0 < 20_000) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await ready().catch(() => false)) {
      server.startMs = performance.now() - t0;
      return server;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  killGroup(child, "SIGKILL");
  const code = child.exitCode ?? child.signalCode;
  const tail = fs.readFileSync(logFile, "utf8").trim().split("\n").slice(-15).join("\n");
  throw new BenchError(
    `${label} ${code === null ? "did not start within 20 s" : `exited during start-up (${code})`}` +
      `: ${command} ${args.join(" ")}\n${tail}`,
  );
}
