// CPU profiles (--profile): the workers' .cpuprofile files, summed into self time per function.
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./common.js";

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
export function aggregateProfiles(server) {
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

export function printProfile(label, prof, limit) {
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
