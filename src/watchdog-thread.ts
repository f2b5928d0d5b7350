/**
 * Runs in a worker_thread of each worker process. When the main thread has been inside one piece
 * of site code for longer than half the watchdog bound (a long native call the interrupt handler
 * cannot reach, e.g. "ab".repeat(2 ** 27)), it writes who did it to stderr and to a blame file the
 * primary reads when its heartbeat watchdog replaces the worker.
 */
import { writeFileSync, writeSync } from "node:fs";
import { workerData } from "node:worker_threads";
import { readBusy } from "./busy.js";

const { buffer, blameFile, watchdogMs, worker } = workerData as {
  buffer: SharedArrayBuffer;
  blameFile: string;
  watchdogMs: number;
  worker: number;
};
let reported = -1;

setInterval(
  () => {
    const busy = readBusy(buffer);
    if (busy === null || busy.seq === reported) return;
    const blockedMs = Date.now() - busy.since;
    if (blockedMs < watchdogMs / 2) return;
    reported = busy.seq;
    const blame = { site: busy.site, route: busy.route, blockedMs, at: Date.now() };
    try {
      writeFileSync(blameFile, JSON.stringify(blame));
    } catch {
      // the primary still replaces the worker; only the blame is lost
    }
    writeSync(
      2,
      `[${new Date().toISOString()}] error worker=${worker} site=${busy.site}${busy.route ? ` route=${busy.route}` : ""}: ` +
        `event loop blocked for ${blockedMs} ms inside site code (one native call the CPU limit cannot interrupt)\n`,
    );
  },
  Math.max(50, Math.min(500, watchdogMs / 10)),
); // not unref'd: this interval is all that keeps the thread alive (the Worker itself is unref'd)
