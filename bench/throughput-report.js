// The throughput section's tables: every run, the side-by-side ratios the issue asks for (req/s
// and CPU µs per request against sitebox), memory, and the targets.
import { fmtMiB, fmtMs, printGrid } from "./common.js";
import { WORKLOADS } from "./workloads.js";

const median = (xs) => {
  const s = xs.filter((x) => x !== null).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};
const int = (x) => (x === null ? "?" : Math.round(x).toLocaleString("en-US"));
const us = (x) => (x === null ? "?" : x.toFixed(1));
const ratio = (x) => (x === null || !Number.isFinite(x) ? "?" : x.toFixed(2));

/** Median over rounds of each (workload, target). */
export function summarizeRuns({ results }) {
  const by = new Map();
  for (const r of results) {
    const key = `${r.workload}\t${r.target}`;
    if (!by.has(key)) by.set(key, []);
    by.get(key).push(r);
  }
  const out = new Map();
  for (const [key, rs] of by)
    out.set(key, {
      rps: median(rs.map((r) => r.rps)),
      cpuUs: median(rs.map((r) => r.cpuUsPerRequest)),
      p50Ms: median(rs.map((r) => r.p50Ms)),
      p99Ms: median(rs.map((r) => r.p99Ms)),
    });
  return out;
}

export function printThroughput(t) {
  const { results, targets, workloads } = t;
  console.log("\nThroughput, every run (CPU = all the server's processes and threads, from /proc)");
  printGrid(
    ["workload", "target", "req/s", "p50", "p99", "CPU µs/req", "server cores", "others", "errors"],
    results.map((r) => [
      r.workload,
      r.label,
      int(r.rps),
      fmtMs(r.p50Ms),
      fmtMs(r.p99Ms),
      us(r.cpuUsPerRequest),
      (r.cpuSeconds / r.wallSeconds).toFixed(2),
      (r.othersCpuSeconds / r.wallSeconds).toFixed(2),
      String(r.non2xx + r.socketErrors),
    ]),
    "llrrrrrrr",
  );
  if (t.settled)
    console.log(
      "settled under load before timing (until helper threads were quiet): " +
        Object.entries(t.settled)
          .map(
            ([name, sec]) =>
              `${targets.find((x) => x.name === name)?.label ?? name} ${sec.toFixed(0)} s`,
          )
          .join(", "),
    );
  const s = summarizeRuns(t);
  const get = (w, name) => s.get(`${w}\t${name}`) ?? null;
  const [base, ...others] = targets;
  console.log(
    `\nSide by side: ${base.label}'s req/s over each other's (higher is better for ${base.label}), ` +
      `and CPU µs per request (lower is better)`,
  );
  const head = ["workload", ...targets.map((x) => `${x.label} req/s`)];
  for (const o of others) head.push(`/${o.label}`);
  head.push(...targets.map((x) => `µs ${x.label}`));
  const rows = workloads.map((w) => {
    const b = get(w, base.name);
    const row = [w, ...targets.map((x) => int(get(w, x.name)?.rps ?? null))];
    for (const o of others)
      row.push(ratio(b && get(w, o.name) ? b.rps / get(w, o.name).rps : null));
    row.push(...targets.map((x) => us(get(w, x.name)?.cpuUs ?? null)));
    return row;
  });
  printGrid(head, rows, "l" + "r".repeat(head.length - 1));
  printMemory(t.memory);
  printTargets(get);
}

function printMemory(memory) {
  console.log("\nMemory of each server, all processes (MiB; PSS splits pages shared by forks)");
  printGrid(
    ["target", "processes", "RSS at rest", "PSS at rest", "RSS after load", "PSS after load"],
    Object.values(memory).map((m) => [
      m.label,
      String(m.rest.processes),
      fmtMiB(m.rest.rssBytes),
      fmtMiB(m.rest.pssBytes),
      fmtMiB(m.loaded?.rssBytes ?? null),
      fmtMiB(m.loaded?.pssBytes ?? null),
    ]),
  );
}

/** The targets (issue 10), wherever both sides were measured. */
const GOALS = [
  ["hello", "mod_python", 1.3],
  ["hello", "node", 0.6],
  ["json", "mod_python", 1.0],
  ["static", "mod_python", 1.0],
  ["static", "node", 0.8],
];

function printTargets(get) {
  const lines = [];
  for (const [w, other, goal] of GOALS) {
    const a = get(w, "sitebox");
    const b = get(w, other);
    if (!a || !b || !WORKLOADS.some((x) => x.name === w)) continue;
    const r = a.rps / b.rps;
    lines.push(
      `  ${w}: sitebox/${other} req/s ${ratio(r)} (target >= ${goal}: ${r >= goal ? "met" : "NOT met"})`,
    );
  }
  if (lines.length) console.log(`\nTargets (issue 10):\n${lines.join("\n")}`);
}
