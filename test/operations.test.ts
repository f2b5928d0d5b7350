/**
 * What an operator relies on: the access log in a file, reopened on SIGUSR1 (logrotate), and
 * /.sitebox/health turning "draining" at SIGTERM while the listener still serves (--drain-delay).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { request, startServer, tempDir, type RunningServer } from "./helpers.js";

const logDir = tempDir("sitebox-logs-");
const logFile = join(logDir, "access.log");
let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    args: ["--access-log", logFile, "--drain-delay", "1500"],
    sites: { default: { "index.js": "export default { fetch: () => new Response('ok') };" } },
  });
});
afterAll(() => server?.close());

const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("--access-log", () => {
  it("writes the access lines to the file, not stdout", async () => {
    await request(server.url, "/?before=1", { fresh: true });
    await until(() => read(logFile).includes("GET /?before=1 HTTP/1.1"), "the first line");
    expect(server.stdout()).not.toContain("/?before=1");
  });

  it("SIGUSR1 reopens it in every worker: lines after a rename go to the new file", async () => {
    renameSync(logFile, logFile + ".1");
    server.proc.kill("SIGUSR1");
    await until(() => existsSync(logFile), "the new file");
    // Fresh connections rotate over both workers; each must have reopened.
    for (let i = 0; i < 6; i++) await request(server.url, `/?after=${i}`, { fresh: true });
    await until(() => (read(logFile).match(/\?after=/g) ?? []).length === 6, "six new lines");
    const old = read(logFile + ".1");
    expect(old).toContain("/?before=1");
    expect(old).not.toContain("?after=");
    expect(read(logFile)).not.toContain("?before=");
  });
});

describe("worker processes", () => {
  it("start with the V8 flags and glibc malloc settings the primary chose for them", async () => {
    const r = await request(server.url, "/.sitebox/status.json", { fresh: true });
    const pids = (JSON.parse(r.text).workers as { pid: number }[]).map((w) => w.pid);
    expect(pids).toHaveLength(2);
    for (const pid of pids) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      expect(argv).toEqual(
        expect.arrayContaining(["--wasm-inlining", "--no-allocation-site-pretenuring"]),
      );
      const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      expect(env).toEqual(
        expect.arrayContaining(["MALLOC_TRIM_THRESHOLD_=131072", "MALLOC_MMAP_THRESHOLD_=32768"]),
      );
    }
  });
});

describe("/.sitebox/health", () => {
  it("says ok while serving, to any client, without site code", async () => {
    const r = await request(server.url, "/.sitebox/health", { headers: { host: "nosuch.site" } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ status: "ok" });
    expect(r.headers["cache-control"]).toBe("no-store");
  });

  it("turns draining at SIGTERM while requests are still served, then the server exits 0", async () => {
    server.proc.kill("SIGTERM");
    const exited = new Promise<number | null>((r) => server.proc.once("exit", r));
    const sawDraining = Date.now();
    let health = await request(server.url, "/.sitebox/health", { fresh: true });
    while (health.status === 200 && Date.now() - sawDraining < 1000)
      health = await request(server.url, "/.sitebox/health", { fresh: true });
    expect(health.status).toBe(503);
    expect(JSON.parse(health.text)).toEqual({ status: "draining" });
    // Still taking traffic during --drain-delay: a balancer has time to notice.
    expect((await request(server.url, "/", { fresh: true })).text).toBe("ok");
    expect(await exited).toBe(0);
  });
});
