/**
 * Several sitebox instances behind one nginx upstream (the guide's HTTP configuration), under a
 * steady load through nginx: a rolling restart of every instance, a deploy flipped on every
 * instance, and an instance stopped and started again, each with zero failed requests. Loopback
 * instances stand for machines; each has its own sites folder, as each machine would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { request, sleep, startServer, tempDir, writeFiles, type RunningServer } from "./helpers.js";
import { guideConfig, NGINX, NO_NGINX, pickPort, startNginx, type RunningNginx } from "./nginx.js";

const N = 3;

interface Instance {
  root: string;
  port: number;
  server: RunningServer;
}

const release = (version: string) => ({
  "index.js": `export default { fetch: () => new Response("${version}") };`,
});

async function startInstance(root: string, port: number): Promise<RunningServer> {
  return startServer({
    dir: join(root, "sites"),
    workers: 1,
    args: ["--port", String(port)],
  });
}

/** Keeps `concurrency` clients requesting through nginx until stopped; counts every outcome. */
function load(url: string, concurrency = 6) {
  let running = true;
  const seen = new Map<string, number>();
  const failures: string[] = [];
  let ok = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        const r = await request(url, "/", { timeoutMs: 10_000 });
        if (r.status === 200) {
          ok++;
          seen.set(r.text, (seen.get(r.text) ?? 0) + 1);
        } else failures.push(`${r.status} ${r.text.slice(0, 80)}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
      await sleep(3);
    }
  });
  return {
    get ok() {
      return ok;
    },
    seen,
    async stop() {
      running = false;
      await Promise.all(loops);
      return { ok, failures, seen };
    },
  };
}

/** The pids of an instance's workers, from its status page (loopback). */
async function workerPids(inst: Instance): Promise<number[]> {
  const r = await request(inst.server.url, "/.sitebox/status.json", { fresh: true });
  return (JSON.parse(r.text).workers as { pid: number }[]).map((w) => w.pid);
}

/**
 * Polls `check` until it holds. The test's own look-ups straight at an instance are not the
 * traffic being judged (that goes through nginx, with every failure counted): one that fails
 * is retried, and the timeout says what it last saw, with every instance's log.
 */
async function until(check: () => Promise<boolean> | boolean, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  let last = "";
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${last})${logs()}`);
    await sleep(25);
  }
}

let everyInstance: Instance[] = [];
const logs = () =>
  everyInstance.map((inst, i) => `\n--- instance ${i} stderr:\n${inst.server?.stderr()}`).join("");

describe.skipIf(NGINX === null)(
  `${N} instances behind one nginx upstream (${NGINX ?? NO_NGINX})`,
  () => {
    const instances: Instance[] = (everyInstance = []);
    let nginx: RunningNginx;

    beforeAll(async () => {
      for (let i = 0; i < N; i++) {
        const root = tempDir("sitebox-instance-");
        writeFiles(join(root, "releases/v1"), release("v1"));
        mkdirSync(join(root, "sites"));
        symlinkSync(join(root, "releases/v1"), join(root, "sites/default"));
        instances.push({ root, port: await pickPort(), server: null! });
      }
      await Promise.all(
        instances.map(async (inst) => (inst.server = await startInstance(inst.root, inst.port))),
      );
      nginx = await startNginx((port) =>
        guideConfig("http", {
          port,
          upstreams: instances.map((i) => `127.0.0.1:${i.port}`),
          sitesDir: join(instances[0]!.root, "sites"),
        }),
      );
    });
    afterAll(async () => {
      await nginx?.stop();
      for (const inst of instances) {
        await inst.server?.close();
        rmSync(inst.root, { recursive: true, force: true });
      }
    });

    it("a rolling restart (SIGHUP) of every instance in turn fails no request", async () => {
      const traffic = load(nginx.url);
      await until(() => traffic.ok > 20, "traffic");
      for (const inst of instances) {
        const before = await workerPids(inst);
        inst.server.proc.kill("SIGHUP");
        await until(async () => {
          const now = await workerPids(inst);
          return now.length === 1 && !now.some((p) => before.includes(p));
        }, "the instance's workers to be replaced");
      }
      const mark = traffic.ok;
      await until(() => traffic.ok > mark + 20, "traffic after the roll");
      const { ok, failures } = await traffic.stop();
      expect(failures, logs()).toEqual([]);
      expect(ok).toBeGreaterThan(50);
    });

    it("a deploy flipped by symlink on every instance in turn fails no request", async () => {
      for (const inst of instances) writeFiles(join(inst.root, "releases/v2"), release("v2"));
      const traffic = load(nginx.url);
      await until(() => traffic.ok > 20, "traffic");
      for (const inst of instances) {
        const link = join(inst.root, "sites/default");
        symlinkSync(join(inst.root, "releases/v2"), link + ".new");
        renameSync(link + ".new", link); // atomic: the folder is v1 or v2, never neither
        await until(
          async () => (await request(inst.server.url, "/", { fresh: true })).text === "v2",
          "the instance to serve v2",
        );
      }
      const mark = traffic.seen.get("v2") ?? 0;
      await until(() => (traffic.seen.get("v2") ?? 0) > mark + 30, "v2 traffic");
      const { failures, seen } = await traffic.stop();
      expect(failures, logs()).toEqual([]);
      expect(seen.get("v1")).toBeGreaterThan(0);
      expect(seen.get("v2")).toBeGreaterThan(30);
      // Every instance is on v2 now: nothing answers v1 any more.
      for (let i = 0; i < 3 * N; i++)
        expect((await request(nginx.url, "/", { fresh: true })).text).toBe("v2");
    });

    it("an instance stopped (SIGTERM) and started again fails no request", async () => {
      const traffic = load(nginx.url);
      await until(() => traffic.ok > 20, "traffic");
      const inst = instances[1]!;
      inst.server.proc.kill("SIGTERM");
      expect(await inst.server.close()).toBe(0);
      const whileDown = traffic.ok;
      await until(() => traffic.ok > whileDown + 30, "traffic while one instance is down");
      inst.server = await startInstance(inst.root, inst.port);
      // nginx tries it again after fail_timeout, and it takes its share.
      await inst.server.waitFor(/"GET \/ HTTP\/1\.1" 200/, "stdout", 10_000);
      const { ok, failures } = await traffic.stop();
      expect(failures).toEqual([]);
      expect(ok).toBeGreaterThan(50);
    });
  },
);
