// What a server costs, from /proc (Linux): CPU time and memory summed over a process tree (every
// process under the given roots: a primary and its workers, Apache and its children, nginx and
// php-fpm), threads included. CPU comes from each thread's schedstat (run time in ns, exact),
// not from /proc/PID/stat, whose clock ticks (10 ms) would blur 30 processes by a few percent.
import fs from "node:fs";

/** The kernel's clock ticks per second in /proc (USER_HZ: 100 on Linux x86 and arm). */
export const USER_HZ = 100;

/** pid → parent pid of every process now. */
function parents() {
  const out = new Map();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      // The command name (field 2) may hold spaces and parentheses: parse after the last ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(Number(name), Number(fields[1]));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The roots and all their descendants that are alive now. */
export function processTree(roots) {
  const ppid = parents();
  const tree = new Set(roots.filter((pid) => ppid.has(pid)));
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, parent] of ppid)
      if (!tree.has(pid) && tree.has(parent)) {
        tree.add(pid);
        grew = true;
      }
  }
  return [...tree];
}

/** Run time of every thread of `pid` in ns, by thread id (threads that exited are not counted). */
function threadTimes(pid, into) {
  let tids;
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return;
  }
  for (const tid of tids) {
    try {
      const ns = Number(
        fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0],
      );
      into.set(`${pid}/${tid}`, ns);
    } catch {
      // exited meanwhile
    }
  }
}

/** A CPU reading of the trees under `roots`: run time per thread, to subtract from a later one. */
export function cpuReading(roots) {
  const threads = new Map();
  const pids = processTree(roots);
  for (const pid of pids) threadTimes(pid, threads);
  return { at: performance.now(), pids, threads };
}

/**
 * CPU seconds spent between two readings, the helper threads' part of it, and whether
 * processes came or went meanwhile (a process that exited took its time with it).
 */
export function cpuSpent(before, after) {
  let ns = 0;
  let helperNs = 0;
  for (const [key, t] of after.threads) {
    const d = t - (before.threads.get(key) ?? 0);
    ns += d;
    const [pid, tid] = key.split("/");
    if (pid !== tid) helperNs += d;
  }
  const gone = before.pids.filter((pid) => !after.pids.includes(pid)).length;
  const added = after.pids.filter((pid) => !before.pids.includes(pid)).length;
  return {
    seconds: ns / 1e9,
    wallSeconds: (after.at - before.at) / 1000,
    /** CPU seconds of threads other than each process's main thread. */
    helperSeconds: helperNs / 1e9,
    gone,
    added,
  };
}

/** Busy and total jiffies of the whole machine (all CPUs), from /proc/stat. */
export function machineReading() {
  const n = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1);
  const v = n.map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - v[3] - v[4], total }; // idle, iowait
}

/** Machine CPU seconds busy between two machineReadings. */
export const machineBusySeconds = (a, b) => (b.busy - a.busy) / USER_HZ;

/**
 * Memory of the trees under `roots`, summed: RSS (counts pages shared by forked children once per
 * process, so it overstates prefork servers) and PSS (each shared page split among its sharers:
 * the figure that adds up), from /proc/PID/smaps_rollup.
 */
export function treeMemory(roots) {
  const pids = processTree(roots);
  let rss = 0;
  let pss = 0;
  for (const pid of pids) {
    const m = smapsRollup(pid);
    if (m === null) continue;
    rss += m.Rss;
    pss += m.Pss;
  }
  return { processes: pids.length, rssBytes: rss, pssBytes: pss };
}

/** The fields of /proc/PID/smaps_rollup in bytes (Rss, Pss, Private_Dirty, Anonymous, ...). */
export function smapsRollup(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  } catch {
    return null;
  }
  const out = {};
  for (const m of text.matchAll(/^(\w+):\s+(\d+) kB$/gm)) out[m[1]] = Number(m[2]) * 1024;
  return out;
}

/**
 * User and system CPU ticks of every thread under `roots`, from /proc/PID/task/TID/stat (USER_HZ
 * ticks: coarse, but it splits user from kernel time, which schedstat does not).
 */
export function threadTicks(roots) {
  const out = [];
  for (const pid of processTree(roots)) {
    let tids = [];
    try {
      tids = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        out.push({ pid, tid: Number(tid), comm, utime: Number(f[11]), stime: Number(f[12]) });
      } catch {
        // exited meanwhile
      }
    }
  }
  return out;
}
