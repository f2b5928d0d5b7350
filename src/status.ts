/** The status page from a plain snapshot (pure): mod_status's scoreboard, for sandboxes. */
import type { WorkerStats } from "./stats.js";

export interface StatusSnapshot {
  startedAt: number;
  now: number;
  cache: string;
  sitesDir: string;
  workers: WorkerStats[];
  recycles: { at: number; pid: number; reason: string }[];
  loadErrors: Record<string, string>;
  generations: Record<string, number>;
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const mib = (n: number) => (n / 1048576).toFixed(1);

export function renderStatusHtml(s: StatusSnapshot): string {
  const uptime = Math.round((s.now - s.startedAt) / 1000);
  const rows = s.workers
    .map(
      (w) =>
        `<tr><td>${w.id}</td><td>${w.pid}</td><td>${w.requests}</td><td>${w.inFlight}</td>` +
        `<td>${mib(w.rssBytes)}</td><td>${mib(w.sandboxBytes)}</td><td>${w.sites.filter((x) => x.loaded).length}</td>` +
        `<td>${w.cacheHits}/${w.cacheMisses}</td><td>${w.abandoned}</td></tr>`,
    )
    .join("");
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>sitebox status</title></head><body><h1>sitebox status</h1>
<p>uptime ${uptime} s · cache ${esc(s.cache)} · ${s.workers.length} workers</p>
<table><tr><th>worker</th><th>pid</th><th>requests</th><th>in flight</th><th>RSS MiB</th><th>sandbox MiB</th><th>sites</th><th>hits/misses</th><th>abandoned</th></tr>${rows}</table>
</body></html>`;
}
