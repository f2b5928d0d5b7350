/**
 * Issue 9 items 1 and 2: no read the server does on a site's behalf returns bytes from outside
 * that site's folder, whatever the site owner does with symlinks and however fast.
 * One server under `--cache stat` (the policy the `?v=` import also used to hang).
 */
import { rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSnapshot } from "../src/snapshot.js";
import { makeSites, request, sleep, startServer, tempDir, type RunningServer } from "./helpers.js";
import { warmHealthy, whileHealthy, workerFigures } from "./bystander.js";
import { swapFileAndSymlink } from "./swapper.js";

const VICTIM = "VICTIM-SECRET-41";
const HOST_SECRET = "HOST-SECRET-77";
const OUTSIDE_BYTES = "OUTSIDE-BYTES-" + "o".repeat(50) + "\n";
const INSIDE = "inside!\n";

/** Imports ./x.js?v=1, ?v=2 ... until the text changes; a changed text is what leaked. */
const probe = `export default {
  async fetch() {
    let first;
    for (let i = 1; i <= 150; i++) {
      let m;
      try { m = await import("./x.js?v=" + i); }
      catch (e) { return Response.json({ error: String(e.message) }); }
      if (first === undefined) first = m.value;
      else if (m.value !== first) return Response.json({ value: m.value });
      await new Promise((r) => setTimeout(r, 20));
    }
    return Response.json({ value: first });
  },
};`;

let server: RunningServer;
let outside: string;

beforeAll(async () => {
  outside = tempDir("sitebox-outside-");
  writeFileSync(join(outside, "host-secret.js"), `export const value = "${HOST_SECRET}";`);
  writeFileSync(join(outside, "outside.txt"), OUTSIDE_BYTES);
  server = await startServer({
    args: ["--cache", "stat"],
    sites: {
      healthy: { "index.js": "export default () => new Response('healthy');" },
      victim: { "_secret.js": `export const value = "${VICTIM}";` },
      "attacker-a": { "x.js": "export const value = 'own';", "probe.js": probe },
      "attacker-b": { "x.js": "export const value = 'own';", "probe.js": probe },
      "attacker-c": {
        "x.js": "export const value = 'own';",
        "raw.js": "export default async () => new Response((await import('./x.js?v=1')).value);",
      },
      stale: {
        "lib.js": "export const x = 1;",
        "index.js": `export default async () => {
          try { await import("./lib.js?v=1"); } catch {}
          return new Response("stale ok");
        };`,
      },
      statics: { "public/x.txt": INSIDE, "public/stable.txt": INSIDE },
    },
  });
  await warmHealthy(server);
});
afterAll(async () => {
  await server?.close();
  rmSync(outside, { recursive: true, force: true });
});

const get = (host: string, path: string, timeoutMs = 5000) =>
  request(server.url, path, { headers: { host }, timeoutMs });

describe("item 1: modules come from the generation snapshot, never from disk", () => {
  it.each([
    ["attacker-a", "another site's _secret.js", () => join(server.dir, "victim", "_secret.js")],
    ["attacker-b", "a host file", () => join(outside, "host-secret.js")],
  ])("%s: a ?v= import of a file swapped for a symlink to %s gets nothing", async (site, _, to) => {
    const r = await whileHealthy(server, async () => {
      const pending = get(site, "/probe");
      await sleep(150);
      const x = join(server.dir, site, "x.js");
      unlinkSync(x);
      symlinkSync(to(), x);
      return pending;
    });
    expect(r.text).not.toContain(VICTIM);
    expect(r.text).not.toContain(HOST_SECRET);
    expect(JSON.parse(r.text).error).toMatch(/cannot import "\.\/x\.js\?v=1": no such module/);
  });

  it("an uncaught ?v= import is a 500 for the attacker and a log line naming the import", async () => {
    const r = await get("attacker-c", "/raw");
    expect(r.status).toBe(500);
    expect(r.text).toBe("Internal Server Error\n");
    await server.waitFor(/site=attacker-c route=raw\.js: handler failed: .*x\.js\?v=1/);
  });

  it("--cache stat keeps answering after a ?v= import (it used to hang every later request)", async () => {
    for (let i = 0; i < 4; i++) {
      const r = await get("stale", "/", 3000);
      expect(r.text).toBe("stale ok");
    }
  });
});

describe("item 2: static files are checked on the file actually opened", () => {
  it("flipping public/x.txt to a symlink outside never serves an outside byte nor hangs", async () => {
    const seen = new Map<string, number>();
    const client = async (path: string, until: () => boolean) => {
      while (!until()) {
        let key: string;
        try {
          const r = await get("statics", path, 2000);
          key = `${r.status} ${r.text}`;
        } catch (err) {
          key = `failed: ${(err as Error).message}`;
        }
        if (path === "/x.txt") seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    };
    // The healthy site's baseline is taken under the same request traffic, on a file nobody
    // swaps: what is measured against it is the swapping alone.
    const backdrop = () => {
      let calm = false;
      const traffic = [client("/stable.txt", () => calm), client("/stable.txt", () => calm)];
      return async () => {
        calm = true;
        await Promise.all(traffic);
      };
    };
    const pids = (await workerFigures(server)).map((w) => w.pid).sort();
    const flips = await whileHealthy(
      server,
      async () => {
        let done = false;
        const swapping = swapFileAndSymlink(
          join(server.dir, "statics", "public", "x.txt"),
          INSIDE,
          join(outside, "outside.txt"),
          1500,
        ).finally(() => (done = true));
        await Promise.all([client("/x.txt", () => done), client("/x.txt", () => done)]);
        return swapping;
      },
      { backdrop, attempts: 2 },
    );
    expect(flips).toBeGreaterThan(20);
    const answers = [...seen.keys()];
    // Every answer is the inside file, or a 404 while the name is a symlink leading out.
    expect(answers.filter((k) => k !== `200 ${INSIDE}` && k !== "404 Not Found\n")).toEqual([]);
    expect(seen.get(`200 ${INSIDE}`)).toBeGreaterThan(10);
    expect((await workerFigures(server)).map((w) => w.pid).sort()).toEqual(pids);
  });

  it("the snapshot (module sources) never reads through a symlink swapped in mid-walk", async () => {
    const dir = makeSites({
      victim: { "_secret.js": `export const value = "${VICTIM}";` },
      snap: { "index.js": "export default () => new Response('x');", "y.js": "export {};" },
    });
    try {
      const swapping = swapFileAndSymlink(
        join(dir, "snap", "y.js"),
        "export {};",
        join(dir, "victim", "_secret.js"),
        1200,
      );
      let done = false;
      void swapping.finally(() => (done = true));
      let reads = 0;
      const leaked: string[] = [];
      while (!done) {
        const snap = await readSnapshot(dir, "snap");
        reads++;
        const y = snap.files["y.js"];
        if (y !== undefined && y.includes(VICTIM)) leaked.push(y);
      }
      await swapping;
      expect(reads).toBeGreaterThan(20);
      expect(leaked).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
