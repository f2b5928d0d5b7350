/**
 * Issue 9 item 5: the operator's flags are ceilings. A site.json may lower its limits; one that
 * asks for more than the flags allow is a bad site.json (500 and a log line naming the key), and
 * an edit that raises them is a rejected generation, so the site keeps its last good one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { request, startServer, type RunningServer } from "./helpers.js";
import { baseline, expectP50Within2x, healthyLoad, workerRssMiB } from "./healthy.js";

const h = (body: string) => `export default { async fetch() { ${body} } };`;
// --timeout is CPU time: spin by work done, not by the clock (roughly `ms` of CPU, or more).
const spin = (ms: number) =>
  h(
    `let x = 0; for (let i = 0; i < ${ms * 50_000}; i++) x += i; return new Response("spun " + x);`,
  );
// ~200 MiB of live strings: over a 32 MB sandbox, under the 2048 the site asks for.
const hog = h(
  `const keep = []; for (let i = 0; i < 200; i++) keep.push("x".repeat(1 << 20) + i); return new Response(String(keep.length));`,
);

let s: RunningServer;
beforeAll(async () => {
  s = await startServer({
    args: ["--timeout", "200", "--memory", "32", "--wall-timeout", "3000", "--max-body", "1000"],
    sites: {
      healthy: { "index.js": h(`return new Response("healthy");`) },
      greedy: {
        "site.json": JSON.stringify({ limits: { timeout: 600000, memory: 2048 } }),
        "spin.js": spin(3000),
        "hog.js": hog,
      },
      modest: {
        "site.json": JSON.stringify({ limits: { timeout: 50, "max-body": 10 } }),
        "spin.js": spin(150),
        "index.js": h(`return new Response("modest");`),
      },
    },
  });
});
afterAll(() => s?.close());

const get = (host: string, path: string) => request(s.url, path, { headers: { host } });

describe("site.json limits are capped by the server's flags", () => {
  it("a site asking for more than the flags gets 500 and a log line; the healthy site is untouched", async () => {
    const base = await baseline(s.url, "healthy", "healthy");
    const load = healthyLoad(s.url, "healthy", "healthy");
    const t = Date.now();
    const [spun, hogged] = await Promise.all([get("greedy", "/spin"), get("greedy", "/hog")]);
    const took = Date.now() - t;
    // The attack again and again while the healthy site is measured over a few hundred requests.
    while (load.count < 300) await Promise.all([get("greedy", "/spin"), get("greedy", "/hog")]);
    const result = await load.stop();
    expect([spun.status, hogged.status]).toEqual([500, 500]);
    expect(took).toBeLessThan(1500); // refused before any site code runs
    await s.waitFor(
      /site=greedy.*site\.json: limits\.(timeout 600000 is above the server's --timeout 200|memory 2048 is above the server's --memory 32)/,
    );
    expect(result.failures).toEqual([]);
    await expectP50Within2x(result, base, () => baseline(s.url, "healthy", "healthy"));
    for (const rss of await workerRssMiB(s.url)) expect(rss).toBeLessThan(250);
    const status = JSON.parse((await get("localhost", "/.sitebox/status.json")).text);
    const greedy = status.sites.find((x: { site: string }) => x.site === "greedy");
    expect(greedy.lastError).toMatch(/above the server's/);
  });

  it("a site may lower its limits", async () => {
    expect((await get("modest", "/spin")).status).toBe(503);
    const big = await request(s.url, "/", {
      headers: { host: "modest" },
      method: "POST",
      body: "x".repeat(11),
    });
    expect(big.status).toBe(413);
  });

  it("an edit that raises a limit is rejected; the last good generation keeps serving", async () => {
    expect((await get("modest", "/")).text).toBe("modest");
    writeFileSync(
      join(s.dir, "modest/site.json"),
      JSON.stringify({ limits: { "wall-timeout": 3_600_000 } }),
    );
    await s.waitFor(/site=modest.*rejected, still serving 1: .*limits\.wall-timeout 3600000/);
    expect((await get("modest", "/")).text).toBe("modest");
    expect(s.stderr()).not.toMatch(/died|killing worker/);
  });
});
