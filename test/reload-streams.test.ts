/**
 * Issue 9 item 4: a site holding streamed responses open, then edited. The new generation must
 * serve new requests at once, the old streams finish on the old sandbox (or end cleanly after
 * --reload-grace), no worker is killed, and the healthy site beside it loses nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { request, startServer, type RunningServer } from "./helpers.js";
import {
  baseline,
  expectP50Within2x,
  healthyLoad,
  msUntilServed,
  openStream,
  until,
  workerRssMiB,
} from "./healthy.js";

const sse = (tag: string) => `export default () => {
  let n = 0, timer;
  return new Response(new ReadableStream({
    start(c) { timer = setInterval(() => c.enqueue("data: ${tag} " + (n++) + "\\n\\n"), 50); },
    cancel() { clearInterval(timer); },
  }), { headers: { "content-type": "text/event-stream" } });
};`;
const page = (tag: string) => `export default () => new Response("${tag}");`;

let s: RunningServer;
beforeAll(async () => {
  s = await startServer({
    args: ["--debug-headers", "--reload-grace", "2500", "--wall-timeout", "3000"],
    sites: {
      healthy: { "index.js": page("healthy") },
      streamer: { "index.js": page("v1"), "sse.js": sse("v1") },
      hanger: { "index.js": page("h1") },
    },
  });
});
afterAll(() => s?.close());

const gen = (r: { headers: Record<string, unknown> }) => Number(r.headers["x-sitebox-generation"]);

/** Opens streams on fresh connections until both workers hold at least one. */
async function streamsOnBothWorkers() {
  const streams = [];
  const workers = new Set<string>();
  for (let i = 0; i < 12 && (workers.size < 2 || streams.length < 4); i++) {
    const st = await openStream(s.url, "/sse", "streamer");
    workers.add(String(st.headers["x-sitebox-worker"]));
    streams.push(st);
  }
  expect(workers.size).toBe(2);
  return streams;
}

/** Every worker answers `/` on the streamer with `want`. */
const servedEverywhere = async (want: string) =>
  expect(await msUntilServed(s.url, "streamer", want, "/", 10_000)).toBeLessThan(10_000);

describe("open streams and a reload", () => {
  it("the edit is served at once while old streams go on, then end cleanly; no worker is killed", async () => {
    const base = await baseline(s.url, "healthy", "healthy");
    const streams = await streamsOnBothWorkers();
    expect(streams.every((st) => gen(st) === 1)).toBe(true);
    const load = healthyLoad(s.url, "healthy", "healthy");
    const dir = join(s.dir, "streamer");
    const t0 = Date.now();
    writeFileSync(join(dir, "sse.js"), sse("v2"));
    writeFileSync(join(dir, "index.js"), page("v2"));
    await servedEverywhere("v2");
    const switchMs = Date.now() - t0;
    // Old streams are still open and still fed by generation 1's sandbox after the switch.
    const lengths = streams.map((st) => st.text().length);
    await until("old streams keep flowing", () =>
      streams.every((st, i) => st.text().length > lengths[i]!) ? true : undefined,
    );
    expect(streams.every((st) => !/v2/.test(st.text()))).toBe(true);
    // A stream opened now is generation 2.
    const fresh = await openStream(s.url, "/sse", "streamer");
    expect(gen(fresh)).toBe(2);
    await until("the new stream flows", () => (/v2 1/.test(fresh.text()) ? true : undefined));
    fresh.close();
    // After --reload-grace the old streams end cleanly (a complete chunked body).
    const ends = await Promise.all(streams.map((st) => st.ended));
    expect(ends.every((e) => e.complete)).toBe(true);
    const result = await load.stop();
    expect(result.failures).toEqual([]);
    await expectP50Within2x(result, base, () => baseline(s.url, "healthy", "healthy"));
    expect(switchMs).toBeLessThan(3000);
    await s.waitFor(/site=streamer.*ended \d+ streamed responses? of generation 1/);
    expect(s.stderr()).not.toMatch(/killing worker|died/);
    for (const rss of await workerRssMiB(s.url)) expect(rss).toBeLessThan(400);
  });

  it("a second switch ends the streams still open from the first at once (one old sandbox per site)", async () => {
    const streams = await streamsOnBothWorkers();
    const g = gen(streams[0]!);
    const dir = join(s.dir, "streamer");
    writeFileSync(join(dir, "sse.js"), sse("v3"));
    writeFileSync(join(dir, "index.js"), page("v3"));
    await servedEverywhere("v3");
    const newer = await streamsOnBothWorkers();
    expect(newer.every((st) => gen(st) === g + 1)).toBe(true);
    const t = Date.now();
    writeFileSync(join(dir, "sse.js"), sse("v4"));
    writeFileSync(join(dir, "index.js"), page("v4"));
    await servedEverywhere("v4");
    // The first batch was retired by v3 and is ended by v4's switch, before its grace ran out.
    const ends = await Promise.all(streams.map((st) => st.ended));
    expect(ends.every((e) => e.complete && e.at - t < 2000)).toBe(true);
    await s.waitFor(/site=streamer: ended \d+ streamed responses? of generation \d+ \(replaced by/);
    for (const st of newer) st.close();
    expect(s.stderr()).not.toMatch(/killing worker|died/);
  });

  it("a generation whose module never finishes evaluating is rejected; no worker is killed", async () => {
    expect((await request(s.url, "/", { headers: { host: "hanger" } })).text).toBe("h1");
    const load = healthyLoad(s.url, "healthy", "healthy");
    writeFileSync(
      join(s.dir, "hanger/index.js"),
      `await new Promise((r) => setTimeout(r, 1e9)); ${page("h2")}`,
    );
    await s.waitFor(
      /site=hanger: new generation \d+ rejected, still serving 1: index\.js: evaluation did not finish within 3000 ms/,
    );
    expect((await request(s.url, "/", { headers: { host: "hanger" } })).text).toBe("h1");
    const result = await load.stop();
    expect(result.failures).toEqual([]);
    expect(s.stderr()).not.toMatch(/killing worker|died/);
  });
});
