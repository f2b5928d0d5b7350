/**
 * Issue 9 item 8: symlink loops and oversized sites against the primary. Links back to the sites
 * folder (in public/ and elsewhere) must not make the watcher or the snapshot walk without end; a
 * site deeper or bigger than the bounds gets a clear error on the status page and in the log,
 * and the healthy site beside it, and the primary, do not notice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeSites, request, sleep, startServer, type RunningServer } from "./helpers.js";
import { baseline, expectP50Within2x, healthyLoad, until } from "./healthy.js";

const page = (text: string) => `export default () => new Response(${JSON.stringify(text)});`;

let s: RunningServer;
let sites: string;
beforeAll(async () => {
  sites = makeSites({
    healthy: { "index.js": page("healthy") },
    looper: {
      "index.js": `import { v } from "./_lib/v.js"; export default () => new Response("looper " + v);`,
      "_lib/v.js": "export const v = 1;",
      "public/a.txt": "static a",
    },
    grower: { "index.js": page("grower") },
    many: { "index.js": page("many") },
  });
  // Two links in public/ back to the sites folder, one elsewhere back to the site itself.
  symlinkSync(sites, join(sites, "looper/public/up"));
  symlinkSync("../..", join(sites, "looper/public/up2"));
  symlinkSync("..", join(sites, "looper/_lib/loop"));
  // More entries than the bound (plain files: they count as much as modules).
  mkdirSync(join(sites, "many/data"));
  for (let i = 0; i <= 10_000; i++) writeFileSync(join(sites, `many/data/f${i}.txt`), "");
  s = await startServer({ dir: sites, args: ["--rescan", "1000"] });
});
afterAll(async () => {
  await s?.close();
});

// Fresh connections: a kept-alive one may be closed by the server while the test writes files.
const get = (host: string, path = "/") => request(s.url, path, { headers: { host }, fresh: true });

async function primary(): Promise<{ pid: number; rssMiB: number; cpuS: number }> {
  const st = JSON.parse((await get("localhost", "/.sitebox/status.json")).text);
  const pid = st.primary.pid as number;
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return { pid, rssMiB: st.primary.rssBytes / 1048576, cpuS: (+f[11]! + +f[12]!) / 100 };
}

const statusOf = async (site: string) => {
  const st = JSON.parse((await get("localhost", "/.sitebox/status.json")).text);
  return st.sites.find((x: { site: string }) => x.site === site) ?? {};
};

describe("the watcher and the snapshot walk a bounded tree", () => {
  it("links back into an ancestor are never followed: the primary stays idle, everyone is served", async () => {
    const base = await baseline(s.url, "healthy", "healthy");
    const before = await primary();
    expect((await get("looper")).text).toBe("looper 1");
    expect((await get("looper", "/a.txt")).text).toBe("static a");
    expect((await get("looper", "/up/healthy/index.js")).status).toBe(404);
    writeFileSync(join(sites, "looper/_lib/v.js"), "export const v = 2;");
    await until("the looper's edit is served", async () =>
      (await get("looper")).text === "looper 2" ? true : undefined,
    );
    const load = healthyLoad(s.url, "healthy", "healthy");
    await until("a few hundred requests", () => (load.count > 300 ? true : undefined));
    const after = await primary();
    const result = await load.stop();
    expect(result.failures).toEqual([]);
    await expectP50Within2x(result, base, () => baseline(s.url, "healthy", "healthy"));
    // An idle primary: well under a tenth of a core over the window, and no growth.
    expect(after.cpuS - before.cpuS).toBeLessThan(0.5);
    expect(after.rssMiB).toBeLessThan(200);
    expect(after.rssMiB - before.rssMiB).toBeLessThan(30);
  });

  it("a site past the entry bound gets 500, a log line and an error on the status page", async () => {
    expect((await get("many")).status).toBe(500);
    await s.waitFor(/site many: more than 10000 files and folders outside public\//);
    expect((await statusOf("many")).loadError).toMatch(/more than 10000 files and folders/);
    const html = (await get("localhost", "/.sitebox/status")).text;
    expect(html).toMatch(/more than 10000 files and folders/);
  });

  it("a served site that grows past the depth bound keeps its last good generation and shows why", async () => {
    expect((await get("grower")).text).toBe("grower");
    let deep = join(sites, "grower/lib");
    for (let i = 0; i < 40; i++) deep = join(deep, "d");
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, "x.js"), "export const x = 1;");
    writeFileSync(join(sites, "grower/index.js"), page("grower 2"));
    await s.waitFor(
      /error site=grower: cannot read the site, still serving 1: .*nested deeper than 32/,
    );
    expect((await statusOf("grower")).loadError).toMatch(/nested deeper than 32/);
    expect((await get("grower")).text).toBe("grower");
    // Back within the bound, the edit is served (the site is read and watched again).
    rmSync(join(sites, "grower/lib"), { recursive: true });
    await until("the edit is served", async () =>
      (await get("grower")).text === "grower 2" ? true : undefined,
    );
    expect((await statusOf("grower")).loadError).toBeNull();
    expect((await primary()).rssMiB).toBeLessThan(200);
    expect(s.stderr()).not.toMatch(/died|killing worker/);
  });

  it("a rejected edit is judged once: the re-scan does not prepare it again", async () => {
    writeFileSync(join(sites, "looper/_lib/v.js"), "export const v = ;");
    await s.waitFor(/site=looper: new generation \d+ rejected/);
    const rejections = () => s.stderr().match(/site=looper: new generation \d+ rejected/g)!.length;
    const n = rejections();
    await sleep(2500); // two re-scans (--rescan 1000)
    expect(rejections()).toBe(n);
    expect((await get("looper")).text).toBe("looper 2");
    writeFileSync(join(sites, "looper/_lib/v.js"), "export const v = 3;");
    await until("the fix is served", async () =>
      (await get("looper")).text === "looper 3" ? true : undefined,
    );
  });
});
