/** Plain-text output of the demos: headings, PITFALL/FIX sections, aligned tables, verdicts. */
import type { Reply, Server } from "./harness.js";

const out = (text = "") => process.stdout.write(text + "\n");
export const say = (text: string) => out(`  ${text}`);
export const ms = (n: number) => `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;

export function heading(name: string, title: string, what: string): void {
  out();
  out(`=== ${name}: ${title} ===`);
  out(what);
}

export function section(kind: "PITFALL" | "FIX" | "NOTE", text: string): void {
  out();
  out(`${kind}: ${text}`);
}

/** An aligned table; numeric-looking cells are right-aligned. */
export function table(head: string[], rows: (string | number)[][]): void {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const width = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r.map((c, i) => (/^[\d.,]+( ms|%|x)?$/.test(c) ? c.padStart(width[i]!) : c.padEnd(width[i]!)));
  say(line(head).join("  ").trimEnd());
  say(width.map((w) => "-".repeat(w)).join("  "));
  for (const r of cells.slice(1)) say(line(r).join("  ").trimEnd());
}

/** The demo's last line: whether the claimed phenomena were seen, with the figures. */
export function verdict(name: string, ok: boolean, text: string): boolean {
  out();
  out(`VERDICT ${ok ? "✓" : "✗ (not reproduced)"} ${name}: ${text}`);
  return ok;
}

/** The log lines of a server that match `re`, trimmed of timestamps. */
export function logLines(s: Server, re: RegExp): string[] {
  return s
    .stderr()
    .split("\n")
    .filter((l) => re.test(l))
    .map((l) => l.replace(/^\[[^\]]+\] /, ""));
}

/** Table rows: what each worker answered, e.g. ["worker 1", "version 1 ×5"]. */
export function perWorker(replies: Reply[], show: (r: Reply) => string = (r) => r.text) {
  const m = new Map<string, Map<string, number>>();
  for (const r of replies) {
    const w = m.get(r.worker) ?? new Map<string, number>();
    m.set(r.worker, w);
    w.set(show(r), (w.get(show(r)) ?? 0) + 1);
  }
  return [...m.entries()]
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([w, texts]) => [
      `worker ${w}`,
      [...texts.entries()].map(([t, n]) => `${t} ×${n}`).join(", "),
    ]);
}
