/**
 * Timestamp checks miss an edit that leaves the mtime as it was: two saves in one second on a
 * filesystem with whole-second times (ext3, HFS+), or a restore with `cp -p` / rsync that copies
 * the old mtime. mod_python compared `mtime != last` (whole seconds, once a second); OPcache
 * revalidates every 2 s by timestamp. sitebox's stat policy compares mtime (ns), ctime, size and
 * inode, then the content.
 */
import { statSync, utimesSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import * as h from "./harness.js";

const route = (v: number) =>
  `export default { fetch() { return new Response("version ${v}"); } };\n`;

/** Writes in place, then sets the mtime to the whole second `sec` (what the filesystem kept). */
function save(path: string, v: number, sec: number): BigIntStats {
  h.plainWrite(path, route(v));
  utimesSync(path, sec, sec);
  return statSync(path, { bigint: true });
}

const answers = async (s: h.Server) =>
  [...new Set((await h.fresh(s, "/", 6)).map((r) => `w${r.worker}: ${r.text}`))].sort().join("; ");

/** Runs edit 1, waits until every worker serves it, then edit 2 with the same mtime. */
async function twoEdits(s: h.Server, file: string) {
  const t1 = performance.now();
  const sec = Math.floor(Date.now() / 1000);
  const st1 = save(file, 2, sec);
  const reached = await h.untilAll(s, "/", (r) => r.text === "version 2", { timeoutMs: 3000 });
  const st2 = save(file, 3, sec);
  return { st1, st2, reached, gapMs: performance.now() - t1 };
}

export async function run(): Promise<boolean> {
  h.section(
    "PITFALL",
    "--cache legacy (mod_python): the route's mtime, in whole seconds, checked at most once a\n" +
      "second per worker. Edit 1 is seen; edit 2, saved within the same second and left with\n" +
      "the same mtime (a whole-second filesystem, or cp -p / rsync -t restoring a file), never is.",
  );
  let { sites, site } = h.makeSite({ "index.js": route(1) });
  let s = await h.serve(sites, "legacy");
  await h.untilAll(s, "/", (r) => r.text === "version 1");
  await h.sleep(1100); // so that each worker checks on its next request
  const legacy = await twoEdits(s, join(site, "index.js"));
  const f = (st: BigIntStats) => [
    String(st.mtimeNs),
    String(st.size),
    String(st.ino),
    String(st.ctimeNs),
  ];
  const a = f(legacy.st1);
  const b = f(legacy.st2);
  h.say(
    `edit 1 "version 2"; every worker served it; edit 2 "version 3" ${h.ms(legacy.gapMs)} after edit 1:`,
  );
  h.table(
    ["stat field", "after edit 1", "after edit 2", "differs"],
    ["mtime ns", "size", "inode", "ctime ns"].map((k, i) => [
      k,
      a[i]!,
      b[i]!,
      a[i] === b[i] ? "no" : "YES",
    ]),
  );
  await h.sleep(1100);
  const later1 = await answers(s);
  await h.sleep(1000);
  const later2 = await answers(s);
  h.table(
    ["when", "disk says", "workers answer"],
    [
      ["1.1 s after edit 2", "version 3", later1],
      ["2.1 s after edit 2", "version 3", later2],
    ],
  );
  await s.stop();
  const missed = legacy.reached !== null && !later2.includes("version 3");

  h.section(
    "FIX",
    "--cache stat: before each request the worker stats every file its sandbox loaded and\n" +
      "compares mtime (ns), ctime, size and inode; any difference makes the primary re-read the\n" +
      "site and compare contents. ctime cannot be set back by a user, so edit 2 shows.",
  );
  ({ sites, site } = h.makeSite({ "index.js": route(1) }));
  s = await h.serve(sites, "stat");
  await h.untilAll(s, "/", (r) => r.text === "version 1");
  const st = await twoEdits(s, join(site, "index.js"));
  const t2 = performance.now();
  const caughtMs = await h.untilAll(s, "/", (r) => r.text === "version 3", { since: t2 });
  h.table(
    ["edit", "every worker served it after"],
    [
      ["edit 1: version 2", st.reached === null ? "never" : h.ms(st.reached)],
      ["edit 2: version 3, same mtime and size", caughtMs === null ? "never" : h.ms(caughtMs)],
    ],
  );
  for (const l of h.logLines(s, /generation \d+ live/)) h.say(`log: ${l}`);
  await s.stop();

  const ok = missed && legacy.gapMs < 1000 && caughtMs !== null;
  return h.verdict(
    "mtime-window",
    ok,
    `legacy never served edit 2 (same whole-second mtime, ${h.ms(legacy.gapMs)} after edit 1; ` +
      `every worker still on version 2 2.1 s later); stat served it on every worker in ` +
      `${caughtMs === null ? "never" : h.ms(caughtMs)}.`,
  );
}
