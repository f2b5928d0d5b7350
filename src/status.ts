/** The status page from a plain snapshot (pure): mod_status's scoreboard, for sandboxes. */
import type { SiteStats, WorkerStats } from "./stats.js";

/** A worker the primary replaced because its event loop stayed blocked past --watchdog. */
export interface WatchdogEvent {
  at: number;
  pid: number;
  /** What the worker was running when it stopped answering (from its last heartbeat). */
  site: string | null;
  route: string | null;
  blockedMs: number;
}

export interface StatusSnapshot {
  startedAt: number;
  now: number;
  cache: string;
  sitesDir: string;
  workers: WorkerStats[];
  recycles: { at: number; pid: number; reason: string }[];
  loadErrors: Record<string, string>;
  generations: Record<string, number>;
  watchdog?: WatchdogEvent[];
  /** The primary process itself (its RSS counts in the total when present). */
  primary?: { pid: number; rssBytes: number };
}

/** One site over every worker: the Sites table and `sites` in status.json. */
export interface SiteAggregate {
  site: string;
  /** The live generation (the primary's), else the newest any worker has. */
  generation: number | null;
  requests: number;
  errors: number;
  limitKills: number;
  /** ≈: request-weighted mean of the workers' p50s (percentiles do not merge exactly). */
  p50Ms: number;
  /** ≈: the largest of the workers' p99s. */
  p99Ms: number;
  /** Workers holding a live sandbox for the site, out of `workers`. */
  loadedIn: number;
  workers: number;
  sandboxBytes: number;
  modules: string[];
  /**
   * The primary's: the newest generation failed to load in the workers (the old one serves); else
   * a worker's: a module of the live generation failed to load there (its requests answer 500).
   */
  loadError: string | null;
  /** The workers' most recent error for the site (a module that failed to load, a limit hit). */
  lastError: string | null;
  lastErrorAt: number | null;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

export function aggregateSites(s: StatusSnapshot): SiteAggregate[] {
  const names = new Set([...Object.keys(s.generations), ...Object.keys(s.loadErrors)]);
  for (const w of s.workers) for (const x of w.sites) names.add(x.site);
  return [...names].sort().map((site) => {
    const per: SiteStats[] = s.workers.flatMap((w) => w.sites.filter((x) => x.site === site));
    const sum = (f: (x: SiteStats) => number) => per.reduce((n, x) => n + f(x), 0);
    const requests = sum((x) => x.requests);
    const timed = per.filter((x) => x.requests > 0);
    const weight = timed.reduce((n, x) => n + x.requests, 0);
    const erred = per
      .filter((x) => x.lastError !== null)
      .sort((a, b) => (b.lastErrorAt ?? 0) - (a.lastErrorAt ?? 0))[0];
    const gens = per.map((x) => x.generation).filter((g): g is number => g !== null);
    return {
      site,
      generation: s.generations[site] ?? (gens.length ? Math.max(...gens) : null),
      requests,
      errors: sum((x) => x.errors),
      limitKills: sum((x) => x.limitKills),
      p50Ms: weight ? round3(timed.reduce((n, x) => n + x.p50Ms * x.requests, 0) / weight) : 0,
      p99Ms: round3(Math.max(0, ...per.map((x) => x.p99Ms))),
      loadedIn: per.filter((x) => x.loaded).length,
      workers: s.workers.length,
      sandboxBytes: sum((x) => x.sandboxBytes),
      modules: [...new Set(per.flatMap((x) => x.modules))].sort(),
      loadError:
        s.loadErrors[site] ?? per.find((x) => x.loadError !== undefined)?.loadError ?? null,
      lastError: erred?.lastError ?? null,
      lastErrorAt: erred?.lastErrorAt ?? null,
    };
  });
}

// ---- formatting (every dynamic value goes through esc) ----

const esc = (v: unknown) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const mib = (n: number) => (n / 1048576).toFixed(1);
const num = (n: number) => n.toLocaleString("en-US");
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const clip = (t: string, n = 300) => (t.length > n ? `${t.slice(0, n)}…` : t);
const iso = (at: number) => `${new Date(at).toISOString().replace("T", " ").slice(0, 19)}Z`;

/** "42 s", "5 min 07 s", "2 h 03 min", "3 d 04 h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${pad(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${pad(m % 60)} min`;
  return `${Math.floor(h / 24)} d ${pad(h % 24)} h`;
}

const ago = (s: StatusSnapshot, at: number) =>
  `<time datetime="${esc(new Date(at).toISOString())}" title="${esc(iso(at))}">` +
  `${esc(formatDuration(s.now - at))} ago</time>`;

/** A header cell; `n` right-aligns a numeric column, `tip` explains it on hover. */
const th = (label: string, opt: { n?: boolean; tip?: string } = {}) =>
  `<th${opt.n ? ' class="n"' : ""}${opt.tip ? ` title="${esc(opt.tip)}"` : ""}>${label}</th>`;
const td = (html: string, cls = "") => `<td${cls ? ` class="${cls}"` : ""}>${html}</td>`;
const tdn = (v: string | number) => td(esc(typeof v === "number" ? num(v) : v), "n");

/** `log` tables give every column but the last its content width; the last takes the rest. */
function table(id: string, head: string[], rows: string[], empty: string, log = false): string {
  if (rows.length === 0) return `<p class="muted" id="${id}">${empty}</p>`;
  return (
    `<div class="wrap"><table id="${id}"${log ? ' class="log"' : ""}><thead><tr>${head.join("")}</tr></thead>` +
    `<tbody>\n${rows.join("\n")}\n</tbody></table></div>`
  );
}

// ---- sections ----

function summary(s: StatusSnapshot): string {
  const sum = (f: (w: WorkerStats) => number) => s.workers.reduce((n, w) => n + f(w), 0);
  const rss = sum((w) => w.rssBytes) + (s.primary?.rssBytes ?? 0);
  const card = (label: string, value: string, tip = "", cls = "") =>
    `<div${cls ? ` class="${cls}"` : ""}><dt>${label}</dt>` +
    `<dd${tip ? ` title="${esc(tip)}"` : ""}>${value}</dd></div>`;
  return (
    `<dl class="cards">` +
    card("Uptime", esc(formatDuration(s.now - s.startedAt)), `started ${iso(s.startedAt)}`) +
    card("Workers", esc(s.workers.length), s.primary ? `primary pid ${s.primary.pid}` : "") +
    card("Requests", esc(num(sum((w) => w.requests)))) +
    card("In flight", esc(num(sum((w) => w.inFlight))), "this status request included") +
    card("Total RSS", `${esc(mib(rss))} MiB`, s.primary ? "workers + primary" : "workers") +
    card("Cache policy", `<code>${esc(s.cache)}</code>`) +
    card("Sites folder", `<code>${esc(s.sitesDir)}</code>`, "", "wide") +
    `</dl>`
  );
}

function rebuildList(s: StatusSnapshot, w: WorkerStats, keep = 3): string {
  const all = w.sites
    .flatMap((x) => x.rebuilds.map((r) => ({ ...r, site: x.site })))
    .sort((a, b) => b.at - a.at);
  if (all.length === 0) return `<span class="muted">none</span>`;
  const items = all
    .slice(0, keep)
    .map(
      (r) =>
        `<li><code>${esc(r.site)}@${esc(r.generation)}</code> ${esc(r.reason)} ` +
        `<span class="muted">${ago(s, r.at)}</span></li>`,
    );
  const more = all.length > keep ? `<li class="muted">+${all.length - keep} earlier</li>` : "";
  return `<ul class="list">${items.join("")}${more}</ul>`;
}

function workersTable(s: StatusSnapshot): string {
  const head = [
    th("#"),
    th("pid"),
    th("started"),
    th("requests", { n: true }),
    th("in flight", { n: true }),
    th("RSS MiB", { n: true, tip: "resident set size of the worker process" }),
    th("sandbox MiB", {
      n: true,
      tip: "memory allocated by the interpreters of the worker's live site sandboxes",
    }),
    th("sites loaded", { tip: "site@generation of each live sandbox" }),
    th("cache hits / misses", { n: true, tip: "sandbox reused / built" }),
    th("abandoned", { n: true, tip: "sandboxes dropped after a CPU or memory limit hit" }),
    th("last rebuilds"),
  ];
  const rows = s.workers.map((w) => {
    const loaded = w.sites.filter((x) => x.loaded);
    const sites = loaded.length
      ? loaded.map((x) => `<code class="tag">${esc(x.site)}@${esc(x.generation ?? "?")}</code>`)
      : [`<span class="muted">none</span>`];
    const lookups = w.cacheHits + w.cacheMisses;
    const ratio = lookups ? `${Math.floor((1000 * w.cacheHits) / lookups) / 10}%` : "–";
    return (
      `<tr data-pid="${esc(w.pid)}">${td(esc(w.id))}${td(`<code>${esc(w.pid)}</code>`)}` +
      td(ago(s, w.startedAt)) +
      tdn(w.requests) +
      tdn(w.inFlight) +
      tdn(mib(w.rssBytes)) +
      tdn(mib(w.sandboxBytes)) +
      td(sites.join(" ")) +
      td(
        `${esc(num(w.cacheHits))} / ${esc(num(w.cacheMisses))} <span class="muted">(${ratio})</span>`,
        "n",
      ) +
      td(esc(num(w.abandoned)), w.abandoned > 0 ? "n warn" : "n") +
      td(rebuildList(s, w)) +
      `</tr>`
    );
  });
  return table("workers", head, rows, "No worker answered (starting up or being replaced).");
}

function errorCell(s: StatusSnapshot, a: SiteAggregate): string {
  if (a.loadError !== null)
    return `<div class="err" title="${esc(a.loadError)}">load error: ${esc(clip(a.loadError))}</div>`;
  if (a.lastError === null) return `<span class="muted">–</span>`;
  const when = a.lastErrorAt !== null ? ` <span class="muted">${ago(s, a.lastErrorAt)}</span>` : "";
  return `<div class="bad msg" title="${esc(a.lastError)}">${esc(clip(a.lastError))}</div>${when}`;
}

function sitesTable(s: StatusSnapshot, sites: SiteAggregate[]): string {
  const approx =
    "≈ percentiles do not merge exactly: p50 is the request-weighted mean of the workers' p50s, p99 the largest of their p99s";
  const head = [
    th("site"),
    th("live gen", { n: true, tip: "generation the primary serves" }),
    th("requests", { n: true }),
    th("errors", { n: true, tip: "responses with status 500 or above" }),
    th("limit kills", { n: true, tip: "sandboxes abandoned after a CPU or memory limit hit" }),
    th("p50 ≈ ms", { n: true, tip: approx }),
    th("p99 ≈ ms", { n: true, tip: approx }),
    th("sandboxes", { n: true, tip: "workers holding a live sandbox for the site" }),
    th("modules", { n: true, tip: "modules loaded by any worker (hover for the list)" }),
    th("last error"),
  ];
  const rows = sites.map((a) => {
    const mods = a.modules.length
      ? `<span class="tip" title="${esc(a.modules.join("\n"))}">${a.modules.length}</span>`
      : "0";
    return (
      `<tr${a.loadError !== null ? ' class="bad-row"' : ""} data-site="${esc(a.site)}">` +
      td(`<strong>${esc(a.site)}</strong>`) +
      tdn(a.generation ?? "–") +
      tdn(a.requests) +
      td(esc(num(a.errors)), a.errors > 0 ? "n bad" : "n") +
      td(esc(num(a.limitKills)), a.limitKills > 0 ? "n warn" : "n") +
      tdn(a.requests ? ms(a.p50Ms) : "–") +
      tdn(a.requests ? ms(a.p99Ms) : "–") +
      tdn(`${a.loadedIn} of ${a.workers}`) +
      td(mods, "n") +
      td(errorCell(s, a), "errcell") +
      `</tr>`
    );
  });
  return table("sites", head, rows, "No site has been requested yet.");
}

const orUnknown = (v: string | null, tag: string) =>
  v === null ? `<span class="muted">unknown</span>` : `<${tag}>${esc(v)}</${tag}>`;

function watchdogTable(s: StatusSnapshot): string {
  const events = [...(s.watchdog ?? [])].sort((a, b) => b.at - a.at);
  if (events.length === 0) return "";
  const rows = events.map(
    (e) =>
      `<tr>${td(ago(s, e.at))}${td(`<code>${esc(e.pid)}</code>`)}` +
      tdn(`${(e.blockedMs / 1000).toFixed(1)} s`) +
      `${td(orUnknown(e.site, "strong"))}${td(orUnknown(e.route, "code"))}</tr>`,
  );
  const head = [th("time"), th("pid"), th("blocked for", { n: true }), th("site"), th("route")];
  return (
    `<h2>Watchdog: blocked event loops <span class="count">${events.length}</span></h2>` +
    `<p class="muted note">Which site and route blocked the event loop; that worker was replaced.</p>` +
    table("watchdog", head, rows, "", true)
  );
}

function recyclesTable(s: StatusSnapshot): string {
  const rows = [...s.recycles]
    .sort((a, b) => b.at - a.at)
    .map(
      (r) => `<tr>${td(ago(s, r.at))}${td(`<code>${esc(r.pid)}</code>`)}${td(esc(r.reason))}</tr>`,
    );
  const head = [th("time"), th("pid", { tip: "the worker replaced" }), th("reason")];
  return table(
    "recycles",
    head,
    rows,
    "No worker has been recycled or replaced since start.",
    true,
  );
}

const CSS = `
:root{color-scheme:light dark;--fg:#1f2328;--mut:#59636e;--bg:#fff;--pan:#f6f8fa;--line:#d1d9e0;--bad:#cf222e;--badbg:#ffebe9;--warn:#9a6700}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--mut:#8d96a0;--bg:#0d1117;--pan:#161b22;--line:#30363d;--bad:#ff7b72;--badbg:#3d1619;--warn:#d29922}}
body{margin:0;padding:20px 28px 32px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header .top{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 16px}
h1{font-size:21px;margin:0}h2{font-size:15px;margin:26px 0 8px}
a{color:#0969da}.muted{color:var(--mut)}.bad{color:var(--bad)}.warn{color:var(--warn)}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:8px;margin:14px 0 0}
.cards div{background:var(--pan);border:1px solid var(--line);border-radius:6px;padding:7px 12px}
.cards .wide{grid-column:span 2}.cards dt{font-size:12px;color:var(--mut)}
.cards dd{margin:0;font-size:17px;font-weight:600;overflow-wrap:anywhere}.cards dd code{font-size:14px}
.wrap{overflow-x:auto;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 9px;border-top:1px solid var(--line);vertical-align:top}
thead th{border-top:0;background:var(--pan);font-weight:600;white-space:nowrap}
th[title],.tip{text-decoration:underline dotted var(--mut);cursor:help}
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.tag{display:inline-block;background:var(--pan);border:1px solid var(--line);border-radius:4px;padding:0 5px;margin:1px 0}
.list{margin:0;padding:0;list-style:none;font-size:12px}
.errcell{max-width:420px}.msg{white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px}
.err{color:var(--bad);background:var(--badbg);border-radius:4px;padding:3px 7px;font-weight:600;white-space:pre-wrap;overflow-wrap:anywhere}
tr.bad-row td:first-child{box-shadow:inset 3px 0 var(--bad)}
.count{font-size:12px;color:var(--bad);background:var(--badbg);border-radius:9px;padding:1px 7px;vertical-align:2px}
.note{margin:-4px 0 8px}time{white-space:nowrap}
table.log :is(th,td):not(:last-child){width:1%;white-space:nowrap;padding-right:24px}
footer{margin-top:26px;font-size:12px;color:var(--mut)}
`;

export function renderStatusHtml(s: StatusSnapshot): string {
  const sites = aggregateSites(s);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sitebox status</title>
<style>${CSS}</style></head>
<body>
<header><div class="top"><h1>sitebox status</h1>
<span class="muted">refreshes every 5 s · <a href="/.sitebox/status.json">JSON</a> · as of ${esc(iso(s.now))}</span></div>
${summary(s)}</header>
<main>
<h2>Workers</h2>
${workersTable(s)}
<h2>Sites</h2>
${sitesTable(s, sites)}
${watchdogTable(s)}
<h2>Worker recycles and replacements</h2>
${recyclesTable(s)}
</main>
<footer>Figures are per worker process and reset when a worker is replaced. This page reloads itself every 5 seconds; the same data, with the per-site aggregate, is at <a href="/.sitebox/status.json">/.sitebox/status.json</a>.</footer>
</body></html>
`;
}
