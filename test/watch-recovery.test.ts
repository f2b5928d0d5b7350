/**
 * Issue 9 item 16: edits are never lost. Under --cache watch a site folder removed and made again
 * (a build's rm -rf), swapped in by rename, or the whole sites folder replaced: every later
 * change must be served by every worker, on every path, while the healthy site goes on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeSites, startServer, tempDir, writeFiles, type RunningServer } from "./helpers.js";
import { Generations } from "../src/generations.js";
import type { Log } from "../src/log.js";
import {
  baseline,
  expectP50Within2x,
  healthyLoad,
  msUntilServed,
  perWorker,
  workerRssMiB,
} from "./healthy.js";

const page = (text: string) => `export default () => new Response(${JSON.stringify(text)});`;
const app = (v: number) => ({
  "index.js": `import { v } from "./_lib/v.js"; export default () => new Response("app " + v);`,
  "_lib/v.js": `export const v = ${v};`,
  "other.js": page(`other ${v}`),
  "public/logo.txt": `logo ${v}`,
});
const healthy = { "index.js": page("healthy") };

let root: string;
let sites: string;
let s: RunningServer;
beforeAll(async () => {
  root = tempDir();
  sites = join(root, "sites");
  writeFiles(join(sites, "app"), app(0));
  writeFiles(join(sites, "healthy"), healthy);
  s = await startServer({ dir: sites, args: ["--debug-headers"] });
});
afterAll(async () => {
  await s?.close();
  rmSync(root, { recursive: true, force: true });
});

let v = 0;
const late: string[] = [];
const times: string[] = [];
/** Typically 100-300 ms; the bound is generous for a loaded machine, far below "never". */
const SERVED_MS = 5000;

/** Every worker serves version `v` of the app on every path in time, or it counts as late. */
async function expectServed(what: string) {
  const ms = await msUntilServed(s.url, "app", `app ${v}`, "/", SERVED_MS);
  times.push(`${what}=${ms}`);
  if (ms > SERVED_MS) late.push(`${what}: ${JSON.stringify(await perWorker(s.url, "app"))}`);
  for (const [path, want] of [
    ["/other", `other ${v}`],
    ["/logo.txt", `logo ${v}`],
  ])
    for (const a of await perWorker(s.url, "app", path))
      expect(a).toEqual({ status: 200, text: want });
}

/** Edits in place after a replacement: each must be served. */
async function editInPlace(dir: string, what: string) {
  for (let i = 0; i < 2; i++) {
    v++;
    writeFiles(join(dir, "app"), app(v));
    await expectServed(`${what}, edit ${i + 1}`);
  }
}

describe("the watcher recovers from any removal or replacement", () => {
  it(
    "rm -rf and rebuild, rename over, and a new sites folder: every change is served",
    {
      timeout: 90_000,
    },
    async () => {
      const base = await baseline(s.url, "healthy", "healthy");
      await expectServed("start");
      const load = healthyLoad(s.url, "healthy", "healthy");
      for (let round = 0; round < 2; round++) {
        // A build step: rm -rf, then the new files.
        rmSync(join(sites, "app"), { recursive: true });
        v++;
        writeFiles(join(sites, "app"), app(v));
        await expectServed("rm -rf and rebuild");
        await editInPlace(sites, "after rebuild");
        // A release swapped in by rename.
        v++;
        writeFiles(join(sites, "app.new"), app(v));
        renameSync(join(sites, "app"), join(root, "app.old"));
        renameSync(join(sites, "app.new"), join(sites, "app"));
        rmSync(join(root, "app.old"), { recursive: true });
        await expectServed("rename over");
        await editInPlace(sites, "after rename");
        // The whole sites folder replaced.
        v++;
        const next = join(root, "sites.new");
        writeFiles(join(next, "app"), app(v));
        writeFiles(join(next, "healthy"), healthy);
        renameSync(sites, join(root, "sites.old"));
        renameSync(next, sites);
        rmSync(join(root, "sites.old"), { recursive: true });
        await expectServed("new sites folder");
        await editInPlace(sites, "after new sites folder");
      }
      const result = await load.stop();
      expect(late, times.join(" ")).toEqual([]);
      expect(result.failures).toEqual([]);
      await expectP50Within2x(result, base, () => baseline(s.url, "healthy", "healthy"));
      expect(s.stderr()).not.toMatch(/died|killing worker/);
      for (const rss of await workerRssMiB(s.url)) expect(rss).toBeLessThan(400);
    },
  );

  it("a site folder that appears, goes and comes back is served each time", async () => {
    writeFiles(join(sites, "fresh"), { "index.js": page("fresh") });
    expect(await msUntilServed(s.url, "fresh", "fresh", "/", 3000)).toBeLessThan(3000);
    rmSync(join(sites, "fresh"), { recursive: true });
    mkdirSync(join(sites, "fresh"));
    writeFileSync(join(sites, "fresh/index.js"), page("fresh again"));
    expect(await msUntilServed(s.url, "fresh", "fresh again", "/", 3000)).toBeLessThan(3000);
  });
});

describe("the periodic re-scan", () => {
  const lines: string[] = [];
  const log: Log = {
    access: () => {},
    error: (_tags, m) => void lines.push(m),
    console: () => {},
    info: (m) => void lines.push(m),
    flush: () => {},
  };

  it("catches a change no event reported, even a same-size rewrite within one timestamp tick", async () => {
    const dir = makeSites({ a: { "index.js": page("one"), "_lib/x.js": "export const x = 1;" } });
    const gens = new Generations(dir, log, () => [], 5000);
    expect((await gens.current("a")).generation).toBe(1);
    writeFileSync(join(dir, "a/_lib/x.js"), "export const x = 2;"); // same size, same tick
    expect(await gens.rescan()).toBe(1);
    const now = await gens.current("a");
    expect([now.generation, now.snapshot.files["_lib/x.js"]]).toEqual([2, "export const x = 2;"]);
    mkdirSync(join(dir, "a/api"));
    writeFileSync(join(dir, "a/api/new.js"), page("new"));
    expect(await gens.rescan()).toBeGreaterThan(0);
    expect(Object.keys((await gens.current("a")).snapshot.files)).toContain("api/new.js");
    rmSync(dir, { recursive: true });
  });
});
