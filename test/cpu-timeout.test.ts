/**
 * --timeout is CPU time, not wall clock: a run the OS takes off the CPU (a loaded machine, a
 * noisy neighbour) is not a runaway. A worker stopped with SIGSTOP in the middle of a handler's
 * run stands in for that.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, sleep, startServer, type RunningServer } from "./helpers.js";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    workers: 1,
    args: ["--timeout", "1000"],
    sites: {
      default: {
        // ~200 ms of spinning, then twice as many iterations again: ~600 ms of CPU in all.
        "spin.js":
          "export default { fetch() { const t = Date.now(); let n = 0; " +
          "while (Date.now() - t < 200) n++; let x = 0; for (let i = 0; i < 2 * n; i++) x += Date.now() & 1; " +
          "return new Response('done'); } };",
        "loop.js": "export default { fetch() { for (;;) {} } };",
      },
    },
  });
});
afterAll(() => server?.close());

async function workerPid(): Promise<number> {
  const r = await request(server.url, "/.sitebox/status.json");
  return JSON.parse(r.text).workers[0].pid;
}

describe("--timeout counts CPU time", () => {
  it("a run that was descheduled past its wall-clock deadline still finishes", async () => {
    expect((await request(server.url, "/spin")).text).toBe("done"); // warm
    const pid = await workerPid();
    const answer = request(server.url, "/spin");
    await sleep(350);
    process.kill(pid, "SIGSTOP");
    await sleep(1200);
    process.kill(pid, "SIGCONT");
    const r = await answer;
    expect(r.status).toBe(200);
    expect(r.text).toBe("done");
  });

  it("a run that really uses its CPU is still stopped", async () => {
    const t = Date.now();
    expect((await request(server.url, "/loop")).status).toBe(503);
    expect(Date.now() - t).toBeLessThan(4000);
  });
});
