/**
 * The status page: the pure renderer and aggregate on a hand-built snapshot, then the real server's
 * /.sitebox/status.json and HTML after some traffic, the loopback rule, and the page in Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  aggregateSites,
  formatDuration,
  renderStatusHtml,
  type SiteAggregate,
  type StatusSnapshot,
} from "../src/status.js";
import type { SiteStats, WorkerStats } from "../src/stats.js";
import { request, startServer, tempDir, type RunningServer } from "./helpers.js";

const NOW = Date.UTC(2025, 0, 2, 12, 0, 0);
const EVIL = `<script>alert("x")</script>`;

function site(over: Partial<SiteStats> & { site: string }): SiteStats {
  return {
    generation: 1,
    loaded: true,
    requests: 0,
    errors: 0,
    limitKills: 0,
    p50Ms: 0,
    p99Ms: 0,
    sandboxBytes: 0,
    modules: [],
    lastError: null,
    rebuilds: [],
    ...over,
  };
}

function worker(over: Partial<WorkerStats> & { id: number; pid: number }): WorkerStats {
  return {
    startedAt: NOW - 90_000,
    requests: 0,
    inFlight: 0,
    rssBytes: 0,
    sandboxBytes: 0,
    abandoned: 0,
    cacheHits: 0,
    cacheMisses: 0,
    sites: [],
    ...over,
  };
}

const snapshot: StatusSnapshot = {
  startedAt: NOW - (2 * 3600 + 3 * 60 + 9) * 1000,
  now: NOW,
  cache: "watch",
  sitesDir: "/srv/sites",
  workers: [
    worker({
      id: 1,
      pid: 4101,
      requests: 30,
      inFlight: 1,
      rssBytes: 100 * 1048576,
      sandboxBytes: 3 * 1048576,
      abandoned: 1,
      cacheHits: 27,
      cacheMisses: 3,
      sites: [
        site({
          site: "default",
          requests: 30,
          errors: 2,
          limitKills: 1,
          p50Ms: 2,
          p99Ms: 10,
          sandboxBytes: 3 * 1048576,
          modules: ["index.js", "_lib/a.js"],
          lastError: "older error",
          lastErrorAt: NOW - 60_000,
          rebuilds: [
            { at: NOW - 80_000, generation: 1, reason: "first request" },
            { at: NOW - 50_000, generation: 1, reason: "replaced abandoned sandbox" },
          ],
        }),
      ],
    }),
    worker({
      id: 2,
      pid: 4102,
      requests: 12,
      rssBytes: 50 * 1048576,
      cacheHits: 9,
      cacheMisses: 3,
      sites: [
        site({
          site: "default",
          requests: 10,
          p50Ms: 6,
          p99Ms: 40,
          modules: ["index.js", "b.js"],
          lastError: "newer error",
          lastErrorAt: NOW - 5_000,
          rebuilds: [{ at: NOW - 70_000, generation: 1, reason: "first request" }],
        }),
        site({
          site: EVIL,
          generation: 3,
          loaded: false,
          requests: 2,
          errors: 2,
          p50Ms: 1,
          p99Ms: 1,
          lastError: `SyntaxError ${EVIL}`,
        }),
      ],
    }),
  ],
  recycles: [{ at: NOW - 30_000, pid: 4000, reason: `died: SIGKILL ${EVIL}` }],
  loadErrors: { [EVIL]: `generation 4: unexpected token ${EVIL}` },
  generations: { default: 1, [EVIL]: 3, quiet: 2 },
  watchdog: [{ at: NOW - 20_000, pid: 4000, site: EVIL, route: `/${EVIL}`, blockedMs: 5200 }],
};

describe("aggregateSites", () => {
  const byName = (name: string) => aggregateSites(snapshot).find((a) => a.site === name)!;

  it("lists every site the primary or a worker knows, sorted", () => {
    expect(aggregateSites(snapshot).map((a) => a.site)).toEqual([EVIL, "default", "quiet"]);
  });

  it("sums counts, weights p50 by requests, takes the max p99", () => {
    expect(byName("default")).toEqual<SiteAggregate>({
      site: "default",
      generation: 1,
      requests: 40,
      errors: 2,
      limitKills: 1,
      p50Ms: 3, // (2 * 30 + 6 * 10) / 40
      p99Ms: 40,
      loadedIn: 2,
      workers: 2,
      sandboxBytes: 3 * 1048576,
      modules: ["_lib/a.js", "b.js", "index.js"],
      loadError: null,
      lastError: "newer error",
      lastErrorAt: NOW - 5_000,
    });
  });

  it("carries the primary's load error and generation; a site no worker has is all zeros", () => {
    const evil = byName(EVIL);
    expect(evil.loadError).toBe(`generation 4: unexpected token ${EVIL}`);
    expect(evil.generation).toBe(3);
    expect(evil.loadedIn).toBe(0);
    expect(byName("quiet")).toMatchObject({ generation: 2, requests: 0, p50Ms: 0, p99Ms: 0 });
  });
});

describe("formatDuration", () => {
  it("reads at a glance", () => {
    expect(formatDuration(42_400)).toBe("42 s");
    expect(formatDuration(5 * 60_000 + 7_000)).toBe("5 min 07 s");
    expect(formatDuration((2 * 3600 + 3 * 60 + 9) * 1000)).toBe("2 h 03 min");
    expect(formatDuration((3 * 24 + 4) * 3600_000)).toBe("3 d 04 h");
  });
});

describe("renderStatusHtml", () => {
  const html = renderStatusHtml(snapshot);

  it("escapes every value that comes from disk or a handler", () => {
    expect(html).not.toContain("<script");
    expect(html).not.toContain(EVIL);
    expect(html).toContain("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;");
  });

  it("is one self-contained document that refreshes every 5 s and links the JSON", () => {
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).toContain('<meta http-equiv="refresh" content="5">');
    expect(html).toMatch(/refreshes every 5 s/);
    expect(html).toContain('href="/.sitebox/status.json"');
    expect(html).not.toMatch(/<(script|link|img)\b/);
    expect(html.trimEnd()).toMatch(/<\/html>$/);
  });

  it("has the header figures", () => {
    expect(html).toContain("2 h 03 min");
    expect(html).toContain("/srv/sites");
    expect(html).toContain("<code>watch</code>");
    expect(html).toMatch(/<dt>Workers<\/dt><dd[^>]*>2<\/dd>/);
    expect(html).toMatch(/<dt>Requests<\/dt><dd[^>]*>42<\/dd>/);
    expect(html).toMatch(/<dt>In flight<\/dt><dd[^>]*>1<\/dd>/);
    expect(html).toMatch(/<dt>Total RSS<\/dt><dd[^>]*>150\.0 MiB<\/dd>/);
  });

  it("has a row per worker with every figure", () => {
    const row = /<tr data-pid="4101">.*<\/tr>/.exec(html)![0];
    expect(row).toContain("<code>4101</code>");
    expect(row).toContain("1 min 30 s ago"); // started
    expect(row).toContain(">30</td>"); // requests
    expect(row).toContain(">100.0</td>"); // RSS MiB
    expect(row).toContain(">3.0</td>"); // sandbox MiB
    expect(row).toContain("default@1"); // sites loaded
    expect(row).toMatch(/27 \/ 3 <span class="muted">\(90%\)<\/span>/); // cache
    expect(row).toContain('class="n warn">1</td>'); // abandoned
    // last rebuilds, most recent first
    expect(row.indexOf("replaced abandoned sandbox")).toBeLessThan(row.indexOf("first request"));
    const row2 = /<tr data-pid="4102">.*<\/tr>/.exec(html)![0];
    expect(row2).not.toContain("script"); // not loaded: not listed
    expect(row2).toContain("(75%)");
  });

  it("has a row per site: aggregate figures, ≈ percentiles, modules, errors", () => {
    const row = /<tr data-site="default">[^]*?<\/tr>/.exec(html)![0];
    expect(row).toContain("<strong>default</strong>");
    expect(row).toContain(">40</td>");
    expect(row).toContain(">3.00</td>"); // p50
    expect(row).toContain(">40.0</td>"); // p99
    expect(row).toContain(">2 of 2</td>");
    expect(row).toContain('title="_lib/a.js\nb.js\nindex.js">3</span>');
    expect(row).toContain("newer error");
    expect(html).toMatch(/<th class="n" title="≈[^"]*weighted[^"]*">p50 ≈ ms<\/th>/);
    const evil = /<tr class="bad-row" data-site="[^"]*">.*<\/tr>/.exec(html)![0];
    expect(evil).toMatch(/<div class="err"[^>]*>load error: generation 4: unexpected token &#60;/);
    expect(evil).toContain(">0 of 2</td>");
  });

  it("has the recycles and watchdog tables", () => {
    expect(html).toContain('id="recycles"');
    expect(html).toContain("died: SIGKILL &#60;script");
    expect(html).toContain('id="watchdog"');
    expect(html).toContain("blocked the event loop");
    expect(html).toContain("<code>/&#60;script&#62;");
    expect(html).toContain(">5.2 s</td>");
    expect(html).toContain("20 s ago");
  });

  it("renders an empty server", () => {
    const empty = renderStatusHtml({ ...snapshot, workers: [], recycles: [], watchdog: [] });
    expect(empty).toContain("No worker answered");
    expect(empty).toContain("No worker has been recycled");
    expect(empty).not.toContain('id="watchdog"');
  });
});

// ---- the real server ----

const SITES = {
  default: {
    "index.js": `export default { fetch: () => new Response("home") };`,
    "slow.js": `export default { fetch: async () => { await new Promise((r) => setTimeout(r, 30)); return new Response("slow"); } };`,
    "spin.js": `export default { fetch() { for (;;) {} } };`,
  },
  broken: { "index.js": `export default { fetch() { return new Response("x") ;;; } ) };` },
};

interface JsonStatus extends StatusSnapshot {
  sites: SiteAggregate[];
}

describe("the real server", () => {
  let server: RunningServer;
  let status: JsonStatus;
  let madeDefault = 0;
  let madeBroken = 0;

  beforeAll(async () => {
    server = await startServer({ sites: SITES, workers: 2, args: ["--timeout", "300"] });
    const get = async (path: string, host = "localhost") => {
      const res = await request(server.url, path, { headers: { host }, fresh: true });
      if (host === "broken") madeBroken++;
      else madeDefault++;
      return res;
    };
    for (let i = 0; i < 6; i++) expect((await get("/")).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await get("/slow")).status).toBe(200);
    expect((await get("/spin")).status).toBe(503);
    for (let i = 0; i < 3; i++) expect((await get("/", "broken")).status).toBe(500);
    const res = await request(server.url, "/.sitebox/status.json");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    status = JSON.parse(res.text) as JsonStatus;
  });

  afterAll(async () => {
    await server?.close();
  });

  it("reports uptime and the configuration", () => {
    expect(status.startedAt).toBeLessThanOrEqual(status.now);
    expect(status.now - status.startedAt).toBeLessThan(60_000);
    expect(Math.abs(status.now - Date.now())).toBeLessThan(5_000);
    expect(status.cache).toBe("watch");
    expect(status.sitesDir).toBe(server.dir);
    expect(status.generations).toEqual({ default: 1, broken: 1 });
  });

  it("reports every worker's figures", () => {
    expect(status.workers.map((w) => w.id)).toEqual([1, 2]);
    const pids = status.workers.map((w) => w.pid);
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(server.proc.pid);
    const total = status.workers.reduce((n, w) => n + w.requests, 0);
    expect(total).toBe(madeDefault + madeBroken + 1); // + this status request
    expect(status.workers.reduce((n, w) => n + w.inFlight, 0)).toBe(1); // this one
    for (const w of status.workers) {
      expect(w.requests, `worker ${w.id}`).toBeGreaterThan(0); // fresh connections rotate
      expect(w.startedAt).toBeGreaterThanOrEqual(status.startedAt);
      expect(w.rssBytes).toBeGreaterThan(10 * 1048576);
      expect(w.cacheMisses).toBeGreaterThan(0);
      const d = w.sites.find((x) => x.site === "default")!;
      expect(d.generation).toBe(1);
      expect(d.rebuilds[0]).toMatchObject({ generation: 1, reason: "first request" });
      if (d.loaded) expect(w.sandboxBytes).toBeGreaterThanOrEqual(d.sandboxBytes);
      expect(d.sandboxBytes > 0).toBe(d.loaded);
    }
    const sum = (f: (w: WorkerStats) => number) => status.workers.reduce((n, w) => n + f(w), 0);
    expect(sum((w) => w.sandboxBytes)).toBeGreaterThan(0);
    expect(sum((w) => w.cacheHits)).toBeGreaterThan(0);
    expect(sum((w) => w.abandoned)).toBe(1); // /spin hit --timeout
  });

  it("aggregates each site: requests, errors, p50/p99, limit kills, modules", () => {
    const d = status.sites.find((a) => a.site === "default")!;
    expect(d.requests).toBe(madeDefault);
    expect(d.errors).toBe(1);
    expect(d.limitKills).toBe(1);
    expect(d.p50Ms).toBeGreaterThan(0);
    expect(d.p99Ms).toBeGreaterThanOrEqual(30); // /slow waits 30 ms
    expect(d.p99Ms).toBeGreaterThanOrEqual(d.p50Ms);
    expect(d.workers).toBe(2);
    expect(d.generation).toBe(1);
    expect(d.lastError).toMatch(/interrupt|timeout|deadline|CPU/i);
    // The JSON's aggregate is the same arithmetic as aggregateSites over the workers.
    expect(status.sites).toEqual(aggregateSites(status));
    const perWorker = status.workers.flatMap((w) => w.sites.filter((x) => x.site === "default"));
    expect(perWorker.reduce((n, x) => n + x.requests, 0)).toBe(madeDefault);
    for (const x of perWorker) {
      expect(x.p50Ms).toBeGreaterThan(0);
      expect(x.p99Ms).toBeGreaterThanOrEqual(x.p50Ms);
    }
  });

  it("counts a module that fails to load as errors of its site", () => {
    const b = status.sites.find((a) => a.site === "broken")!;
    expect(b.requests).toBe(madeBroken);
    expect(b.errors).toBe(madeBroken);
    expect(b.generation).toBe(1);
  });

  it("shows a module that fails to load as the site's last error", () => {
    const b = status.sites.find((a) => a.site === "broken")!;
    expect(b.lastError).toMatch(/index\.js|SyntaxError|unexpected|expecting/i);
  });

  it("serves the HTML page with the workers' pids", async () => {
    const res = await request(server.url, "/.sitebox/status");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.headers["content-security-policy"]).toContain("default-src 'none'");
    for (const w of status.workers) expect(res.text).toContain(`<code>${w.pid}</code>`);
    expect(res.text).toContain('data-site="broken"');
  });
});

// ---- loopback only ----

const outside = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === "IPv4" && !a.internal)?.address;

describe.skipIf(outside === undefined)("a client that is not on loopback", () => {
  it("gets 403 unless --status-allow names it", async () => {
    const sites = {
      default: { "index.js": `export default { fetch: () => new Response("ok") };` },
    };
    const closed = await startServer({ sites, workers: 1, args: ["--host", "0.0.0.0"] });
    try {
      const far = `http://${outside}:${closed.port}`;
      expect((await request(far, "/")).status).toBe(200);
      expect((await request(far, "/.sitebox/status")).status).toBe(403);
      expect((await request(far, "/.sitebox/status.json")).status).toBe(403);
      expect((await request(closed.url, "/.sitebox/status.json")).status).toBe(200);
    } finally {
      await closed.close();
    }
    const args = ["--host", "0.0.0.0", "--status-allow", outside!];
    const open = await startServer({ sites, workers: 1, args });
    try {
      const far = `http://${outside}:${open.port}`;
      expect((await request(far, "/.sitebox/status.json")).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

// ---- the page in a real browser ----

const CHROMIUM = "/usr/bin/chromium";

describe("the page in headless Chromium", () => {
  it.skipIf(!existsSync(CHROMIUM))(
    "renders the worker table; screenshot saved",
    async () => {
      const run = promisify(execFile);
      const server = await startServer({ sites: SITES, workers: 2, args: ["--timeout", "300"] });
      const out = tempDir("sitebox-chromium-");
      try {
        for (let i = 0; i < 8; i++) await request(server.url, "/slow", { fresh: true });
        await request(server.url, "/spin", { fresh: true });
        await request(server.url, "/", { fresh: true, headers: { host: "broken" } });
        const json = await request(server.url, "/.sitebox/status.json");
        const pids = (JSON.parse(json.text) as StatusSnapshot).workers.map((w) => w.pid);
        const url = `${server.url}/.sitebox/status`;
        const flags = (profile: string) => [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--disable-dev-shm-usage",
          `--user-data-dir=${join(out, profile)}`,
        ];
        const opts = { timeout: 60_000, maxBuffer: 16 << 20 };
        const dom = await run(CHROMIUM, [...flags("dom"), "--dump-dom", url], opts);
        expect(dom.stdout).toContain('<table id="workers">');
        for (const pid of pids) expect(dom.stdout).toContain(`<code>${pid}</code>`);
        const png = join(out, "status.png");
        const shot = [`--screenshot=${png}`, "--window-size=1280,900", "--hide-scrollbars", url];
        await run(CHROMIUM, [...flags("shot"), ...shot], opts);
        expect(existsSync(png)).toBe(true);
        expect(statSync(png).size).toBeGreaterThan(10 * 1024);
        expect(readFileSync(png).subarray(1, 4).toString()).toBe("PNG");
        // SITEBOX_STATUS_SCREENSHOT=path keeps the picture for a person to look at.
        const keep = process.env.SITEBOX_STATUS_SCREENSHOT;
        if (keep) copyFileSync(png, keep);
      } finally {
        await server.close();
        rmSync(out, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
