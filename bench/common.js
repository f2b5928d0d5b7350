// Shared by the bench's files: paths, the error type, number formatting and a plain-text table.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const MiB = 1024 * 1024;

/** A failure to report in one line (no stack): bad flag, server that would not start, ... */
export class BenchError extends Error {}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const fmtMs = (ms) =>
  ms === null
    ? "?"
    : ms < 1
      ? `${(ms * 1000).toFixed(0)} µs`
      : ms < 1000
        ? `${ms.toFixed(2)} ms`
        : `${(ms / 1000).toFixed(2)} s`;
export const fmtMiB = (b) => (b === null ? "?" : `${(b / MiB).toFixed(1)}`);
export const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Nearest-rank percentile of a list of numbers, or null for an empty list. */
export function percentile(xs, pct) {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((pct / 100) * sorted.length))) - 1];
}

/** p50, p99 and max of a list of milliseconds, plus the count. */
export function summarize(ms) {
  return {
    samples: ms.length,
    p50Ms: percentile(ms, 50),
    p99Ms: percentile(ms, 99),
    maxMs: ms.length ? Math.max(...ms) : null,
  };
}

/**
 * Prints a table: `align` has one letter per column, "l" or "r". A left-aligned last column is
 * not padded, so a long cell there does not widen the lines before it.
 */
export function printGrid(head, rows, align = "l" + "r".repeat(head.length - 1)) {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const last = head.length - 1;
  const line = (cells) =>
    cells
      .map((c, i) =>
        align[i] === "r" ? c.padStart(widths[i]) : i === last ? c : c.padEnd(widths[i]),
      )
      .join("  ");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}

/** Writes `files` ({ relative name: text }) under `dir`, creating folders. */
export function writeFiles(dir, files) {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
}

/** Progress goes to stderr, so stdout holds the report alone. */
export const progress = (text) => process.stderr.write(`bench: ${text}\n`);

/** Idle and total jiffies of all CPUs, from /proc/stat (Linux). */
function cpuTimes() {
  const fields = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
  const n = fields.slice(1).map(Number);
  return { idle: n[3] + n[4], total: n.reduce((a, b) => a + b, 0) }; // idle + iowait
}

/**
 * Share of the machine left idle over a short window while no server of ours runs: when other
 * processes are busy (a test suite, a build), the numbers would measure them too.
 */
async function idleShare(ms = 500) {
  const a = cpuTimes();
  await sleep(ms);
  const b = cpuTimes();
  return (b.idle - a.idle) / Math.max(1, b.total - a.total);
}

/** Notes a problem when the machine is busy before `what` starts. */
export async function checkIdle(problems, what) {
  const idle = await idleShare();
  if (idle < 0.85)
    problems.push(
      `before ${what}: the CPUs were only ${(idle * 100).toFixed(0)}% idle ` +
        `(other processes busy), so the numbers are noisy`,
    );
}
