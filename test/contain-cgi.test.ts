/**
 * Issue 9 item 9 under `--cache none`: every request builds a sandbox, and one that holds a timer
 * or a pending waitUntil must still be freed once its work is done (it used to live forever).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, startServer, type RunningServer } from "./helpers.js";
import { healthyFor, workers } from "./beside.js";
import { expectP50Within2x, healthyLoad } from "./healthy.js";

const MiB = 1024 * 1024;
let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    workers: 1,
    args: ["--cache", "none", "--timeout", "300"],
    sites: {
      healthy: { "index.js": "export default () => new Response('ok');" },
      holder: {
        "index.js": `export default { fetch(request, env, ctx) {
          globalThis.keep = new Uint8Array(6 << 20).fill(1);
          setTimeout(() => keep[0]++, 600000);
          ctx.waitUntil(new Promise((r) => setTimeout(() => { console.log("waited " + keep.length); r(); }, 50)));
          return new Response("held");
        } };`,
      },
    },
  });
});
afterAll(() => server?.close());

describe("9. --cache none frees each request's sandbox, timers and all", () => {
  it("25 requests each holding 6 MiB and a 10-minute timer: RSS stays within 60 MiB", async () => {
    const base = await healthyFor(server, 400);
    const [before] = await workers(server);
    const load = healthyLoad(server.url, "healthy", "ok", 2);
    for (let i = 0; i < 25; i++) {
      const r = await request(server.url, "/", { headers: { host: "holder" } });
      expect(r.text).toBe("held");
    }
    const run = await load.stop();
    expect(run.failures).toEqual([]);
    await expectP50Within2x(run, base, () => healthyFor(server, 400));
    // waitUntil work still runs to its end in a sandbox that is about to be freed.
    await server.waitFor(/site=holder route=index\.js: waited 6291456/);
    const [after] = await workers(server);
    // 25 sandboxes x (6 MiB + what the interpreter touched) if none were freed: ~200 MiB.
    expect(after!.rssBytes - before!.rssBytes).toBeLessThan(60 * MiB);
  });
});
