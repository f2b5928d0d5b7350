/**
 * Workers that die, recycle, block, restart and stop, under real concurrent load: the rule is
 * zero failed requests wherever the server chose to act, and only a crashed worker's own
 * connections lost where it did not.
 */
import { afterEach, describe, expect, it } from "vitest";
import net from "node:net";
import { request, runCli, sleep, startServer, type RunningServer } from "./helpers.js";

const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(
  files: Record<string, string>,
  args: string[],
  extra: Record<string, Record<string, string>> = {},
  env: Record<string, string> = {},
) {
  const s = await startServer({
    sites: { default: files, ...extra },
    args: ["--debug-headers", ...args],
    env,
  });
  servers.push(s);
  return s;
}

interface Status {
  workers: {
    pid: number;
    id: number;
    requests: number;
    rssBytes: number;
    sites: { site: string; loaded: boolean; modules: string[]; rebuilds: { reason: string }[] }[];
  }[];
  recycles: { pid: number; reason: string }[];
  watchdog?: { site: string | null; route: string | null }[];
}
const status = async (s: RunningServer): Promise<Status> =>
  JSON.parse((await request(s.url, "/.sitebox/status.json")).text);

/** Keeps `n` clients sending requests (fresh connections) until stopped; counts failures. */
function load(s: RunningServer, n = 4, path = "/", fresh = true) {
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const done = Promise.all(
    Array.from({ length: n }, async () => {
      while (!stop) {
        try {
          const r = await request(s.url, path, { fresh, timeoutMs: 5000 });
          if (r.status === 200) ok++;
          else failures.push(`status ${r.status}`);
        } catch (e) {
          failures.push(String(e));
        }
      }
    }),
  );
  return {
    async stop() {
      stop = true;
      await done;
      return { ok, failures };
    },
  };
}

const until = async (cond: () => Promise<boolean>, timeoutMs = 15_000) => {
  const end = Date.now() + timeoutMs;
  // A connection the killed worker had already accepted may reset: that is the worker's own.
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(50);
  }
};

const hello = { "index.js": "export default () => new Response('hello');" };

describe("supervision", () => {
  it("a crashed worker is replaced at once; the other keeps serving", async () => {
    const s = await serve(hello, []);
    const before = await status(s);
    expect(before.workers).toHaveLength(2);
    const victim = before.workers[0]!.pid;
    const l = load(s, 2);
    process.kill(victim, "SIGKILL");
    await until(async () => {
      const st = await status(s);
      return st.workers.length === 2 && !st.workers.some((w) => w.pid === victim);
    });
    const { ok } = await l.stop();
    expect(ok).toBeGreaterThan(0);
    await s.waitFor(new RegExp(`worker ${victim} died \\(SIGKILL\\); replacing it`));
    expect((await status(s)).recycles.some((r) => r.pid === victim && /died/.test(r.reason))).toBe(
      true,
    );
  });

  it("a worker that dies during start-up stops the server with a reason, instead of a respawn loop", async () => {
    const blocker = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    const port = (blocker.address() as net.AddressInfo).port;
    const r = await runCli(["serve", "sites", "--port", String(port), "--workers", "2"], 20_000);
    blocker.close();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    expect(r.stderr).toMatch(/exited during start-up .* Stopping\./);
    expect(r.stderr.match(/EADDRINUSE/g)!.length).toBeLessThanOrEqual(2);
  });
});

describe("recycling", () => {
  it("by request count, one worker at a time, with zero failed requests", async () => {
    const s = await serve(hello, ["--max-requests", "60"]);
    const l = load(s, 4);
    await until(async () => (await status(s)).recycles.length >= 3, 30_000);
    const { ok, failures } = await l.stop();
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(180);
    const st = await status(s);
    expect(st.recycles.every((r) => /--max-requests/.test(r.reason))).toBe(true);
    // At most one extra worker exists at a time: the replacement, while the old one drains.
    expect(st.workers.length).toBeLessThanOrEqual(3);
    await until(async () => (await status(s)).workers.length === 2);
  });

  it("by memory: a handler leaking into module state is bounded by --max-memory", async () => {
    const leak = {
      "index.js":
        "const keep = []; export default () => { keep.push('x'.repeat(1 << 20) + keep.length); return new Response(String(keep.length)); };",
    };
    const s = await serve(leak, ["--max-memory", "120", "--memory", "512"]);
    const l = load(s, 2);
    await until(
      async () => (await status(s)).recycles.some((r) => /--max-memory/.test(r.reason)),
      30_000,
    );
    const { failures } = await l.stop();
    expect(failures).toEqual([]);
  });
});

describe("memory that falls", () => {
  it("drops sandboxes of sites idle longer than --site-idle", async () => {
    const s = await serve(hello, ["--site-idle", "1"]);
    await request(s.url, "/", { fresh: true });
    await request(s.url, "/", { fresh: true });
    const loaded = (st: Status) =>
      st.workers.flatMap((w) => w.sites).filter((x) => x.loaded).length;
    expect(loaded(await status(s))).toBeGreaterThan(0);
    await until(async () => loaded(await status(s)) === 0, 5000);
    const reasons = (await status(s)).workers.flatMap((w) =>
      w.sites.flatMap((x) => x.rebuilds.map((r) => r.reason)),
    );
    expect(reasons).toContain("evicted: idle");
    expect((await request(s.url, "/")).text).toBe("hello");
  });
});

// The primary reads the blocked worker's busy record from /proc/PID/mem; the fallback (where it
// cannot) is a watchdog thread in the worker, forced here with SITEBOX_WATCHDOG_THREAD=1.
describe.each([
  ["read by the primary", {}],
  ["watchdog thread", { SITEBOX_WATCHDOG_THREAD: "1" }],
])("runaway handlers (%s)", (_how, env: Record<string, string>) => {
  it("a worker blocked in one long native call is replaced, and the log and status name the site and route", async () => {
    const s = await serve(
      hello,
      ["--watchdog", "800", "--timeout", "200", "--memory", "768"],
      {
        hog: {
          "spin.js": "export default () => new Response(String('ab'.repeat(2 ** 28).length));",
        },
      },
      env,
    );
    const hog = request(s.url, "/spin", { headers: { host: "hog" }, fresh: true }).catch((e) => e);
    await s.waitFor(
      /killing worker \d+: event loop blocked for \d+ ms in site=hog route=spin\.js/,
      "stderr",
      20_000,
    );
    await hog;
    expect((await request(s.url, "/", { fresh: true })).text).toBe("hello");
    await until(async () => (await status(s)).workers.length === 2);
    const events = (await status(s)).watchdog ?? [];
    expect(events.some((e) => e.site === "hog" && e.route === "spin.js")).toBe(true);
  });
});

describe("restarts", () => {
  it("SIGHUP rolls every worker with zero failed requests, on new and kept-alive connections", async () => {
    const s = await serve(hello, []);
    const pids = (await status(s)).workers.map((w) => w.pid);
    const l = load(s, 3);
    const kept = load(s, 3, "/", false);
    await sleep(200);
    s.proc.kill("SIGHUP");
    await until(async () => {
      const now = (await status(s)).workers.map((w) => w.pid);
      return now.length === 2 && now.every((p) => !pids.includes(p));
    });
    await sleep(200);
    const { ok, failures } = await l.stop();
    const keptAlive = await kept.stop();
    expect(failures).toEqual([]);
    expect(keptAlive.failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    expect(keptAlive.ok).toBeGreaterThan(20);
  });

  it("SIGTERM lets in-flight requests finish, then exits 0", async () => {
    const s = await serve(
      {
        "slow.js":
          "export default async () => { await new Promise((r) => setTimeout(r, 700)); return new Response('finished'); };",
      },
      [],
    );
    const inflight = [1, 2, 3].map(() => request(s.url, "/slow", { fresh: true }));
    await sleep(200);
    s.proc.kill("SIGTERM");
    const answers = await Promise.all(inflight);
    expect(answers.map((a) => a.text)).toEqual(["finished", "finished", "finished"]);
    expect(await s.close()).toBe(0);
    await expect(request(s.url, "/slow", { fresh: true })).rejects.toThrow();
  });

  it("--preload loads every route before the first request", async () => {
    const s = await serve(
      {
        "a.js": "export default () => new Response('a');",
        "b/index.js": "import '../_l.js'; export default () => new Response('b');",
        "_l.js": "",
      },
      ["--preload"],
    );
    const st = await status(s);
    for (const w of st.workers) {
      const site = w.sites.find((x) => x.site === "default")!;
      expect(site.loaded).toBe(true);
      expect([...site.modules].sort()).toEqual(["_l.js", "a.js", "b/index.js"]);
    }
  });
});
