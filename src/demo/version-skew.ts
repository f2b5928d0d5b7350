/**
 * Each mod_python child checked its own modules lazily, once a second at most, so after an edit
 * some children answered with the new code while others still ran the old ("sometimes takes
 * 5 seconds ... handled by a different Apache child"). sitebox's watch policy rolls a generation
 * out in three phases: once any worker answered generation N+1, no worker answers N.
 */
import { join } from "node:path";
import * as h from "./harness.js";

const route = (v: number) =>
  `export default { fetch() { return new Response("version ${v}"); } };\n`;
const version = (r: h.Reply) => Number(/version (\d+)/.exec(r.text)?.[1] ?? 0);

/** Requests that began after an answer of a newer version had already ended. */
function oldAfterNew(replies: h.Reply[]): number {
  const byEnd = [...replies].sort((a, b) => a.end - b.end);
  let newest = 0;
  let j = 0;
  let n = 0;
  for (const r of [...replies].sort((a, b) => a.start - b.start)) {
    while (j < byEnd.length && byEnd[j]!.end < r.start)
      newest = Math.max(newest, version(byEnd[j++]!));
    if (version(r) < newest) n++;
  }
  return n;
}

/** Per version: how many answers, from which workers, first and last (ms after the first save). */
function timeline(replies: h.Reply[], t0: number): string[][] {
  const vs = [...new Set(replies.map(version))].sort((a, b) => a - b);
  return vs.map((v) => {
    const rs = replies.filter((r) => version(r) === v);
    const at = (f: (a: number, b: number) => number) =>
      h.ms(rs.map((r) => r.end - t0).reduce((a, b) => f(a, b)));
    const ws = [...new Set(rs.map((r) => r.worker))].sort().join(",");
    return [`version ${v}`, String(rs.length), ws, at(Math.min), at(Math.max)];
  });
}

/** `loops` clients on fresh connections until `ms` have passed; edits happen meanwhile. */
async function traffic(s: h.Server, loops: number, ms: number, edits: () => Promise<void>) {
  const replies: h.Reply[] = [];
  const end = performance.now() + ms;
  const client = async () => {
    while (performance.now() < end) replies.push(await h.get(s, "/"));
  };
  await Promise.all([...Array.from({ length: loops }, client), edits()]);
  return replies;
}

export async function run(): Promise<boolean> {
  const head = ["answer", "count", "from workers", "first (after save)", "last"];
  h.section(
    "PITFALL",
    "--cache legacy: each worker checks the route's mtime on its own, at most once a second,\n" +
      "when a request arrives. Two workers whose checks are half a second apart:",
  );
  let { sites, site } = h.makeSite({ "index.js": route(1) });
  let s = await h.serve(sites, "legacy");
  // Start the workers' once-a-second clocks ~500 ms apart (as unrelated traffic would).
  const first = await h.get(s, "/");
  await h.sleep(500);
  for (let i = 0; i < 10 && (await h.get(s, "/")).worker === first.worker; i++);
  let t0 = 0;
  const legacy = await traffic(s, 2, 2200, async () => {
    await h.sleep(200);
    t0 = performance.now();
    h.atomicSave(join(site, "index.js"), route(2));
  });
  await s.stop();
  const after = legacy.filter((r) => r.end > t0);
  h.say(`saved "version 2" over "version 1", 2 clients on fresh connections for 2 s after:`);
  h.table(head, timeline(after, t0));
  const skewOld = oldAfterNew(after);
  const lastOld = Math.max(...after.filter((r) => version(r) === 1).map((r) => r.end - t0));
  const firstNew = Math.min(...after.filter((r) => version(r) === 2).map((r) => r.end - t0));
  const mixedMs = Math.max(0, lastOld - firstNew);
  h.say(
    `for ${h.ms(mixedMs)} both versions answered: ${skewOld} requests got version 1 although ` +
      `version 2 had already been served.`,
  );

  h.section(
    "FIX",
    "--cache watch: prepare on every worker, drain, then commit everywhere; a worker serves\n" +
      "N+1 only once no worker serves N. 4 clients on fresh connections, 3 saves 400 ms apart:",
  );
  ({ sites, site } = h.makeSite({ "index.js": route(1) }));
  s = await h.serve(sites, "watch");
  await h.untilAll(s, "/", (r) => version(r) === 1);
  const watch = await traffic(s, 4, 2000, async () => {
    await h.sleep(200);
    t0 = performance.now();
    for (let v = 2; v <= 4; v++) {
      h.atomicSave(join(site, "index.js"), route(v));
      await h.sleep(400);
    }
  });
  await s.stop();
  h.table(
    head,
    timeline(
      watch.filter((r) => r.end > t0),
      t0,
    ),
  );
  const watchOld = oldAfterNew(watch);
  const versions = new Set(watch.map(version)).size;
  h.say(
    `${watch.length} answers over ${versions} versions; requests that got an older version ` +
      `after a newer one had been served: ${watchOld}.`,
  );

  const ok = skewOld > 0 && watchOld === 0 && versions >= 3;
  return h.verdict(
    "version-skew",
    ok,
    `legacy served old and new code side by side for ${h.ms(mixedMs)} (${skewOld} old answers ` +
      `after the first new one); watch: ${watchOld} of ${watch.length} across ${versions} versions.`,
  );
}
