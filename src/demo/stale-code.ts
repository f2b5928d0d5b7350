/**
 * `forever` (mod_python with PythonAutoReload Off, PHP with validate_timestamps=0): an edit is never
 * seen until the server is told (SIGHUP). `watch`: every worker serves the edit within ms.
 */
import { join } from "node:path";
import * as h from "./harness.js";

const route = (v: number) =>
  `export default { fetch() { return new Response("version ${v}"); } };\n`;

const withGen = (r: h.Reply) => `${r.text} (gen ${r.generation})`;

export async function run(): Promise<boolean> {
  const isNew = (r: h.Reply) => r.text === "version 2";

  h.section(
    "PITFALL",
    "--cache forever loads each route once per worker and never looks at the disk again,\n" +
      "like mod_python with PythonAutoReload Off or PHP's opcache.validate_timestamps=0.",
  );
  let { sites, site } = h.makeSite({ "index.js": route(1) });
  let s = await h.serve(sites, "forever");
  if ((await h.untilAll(s, "/", (r) => r.text === "version 1")) === null) return false;
  h.atomicSave(join(site, "index.js"), route(2));
  h.say(`saved index.js: "version 1" → "version 2"; waiting 1 s, then 10 requests:`);
  await h.sleep(1000);
  const before = await h.fresh(s, "/", 10);
  h.table(["worker", "answers after the edit"], h.perWorker(before, withGen));
  const staleCount = before.filter((r) => r.text === "version 1").length;
  h.say(`${staleCount}/10 answers still come from the old code.`);
  h.say(`kill -HUP ${s.pid}   (re-read every site, then replace the workers one at a time)`);
  const t0 = performance.now();
  process.kill(s.pid, "SIGHUP");
  const hupMs = await h.untilAll(s, "/", isNew, { since: t0, timeoutMs: 15_000 });
  const after = await h.fresh(s, "/", 10);
  h.table(["worker", "answers after SIGHUP"], h.perWorker(after, withGen));
  h.say(`every worker served the new code ${hupMs === null ? "never" : h.ms(hupMs)} after SIGHUP`);
  // The rolling restart: one "recycling worker" line per worker, one at a time.
  for (let i = 0; i < 100 && h.logLines(s, /recycling worker/).length < h.WORKERS; i++)
    await h.sleep(100);
  for (const l of h.logLines(s, /SIGHUP|recycling/)) h.say(`log: ${l}`);
  h.say("SIGHUP works, but someone has to send it, on every server, after every deploy.");
  await s.stop();

  h.section(
    "FIX",
    "--cache watch (the default): the primary watches the files and rolls a new generation\n" +
      "out to every worker as soon as a file changes; nothing to send, nothing restarted.",
  );
  ({ sites, site } = h.makeSite({ "index.js": route(1) }));
  s = await h.serve(sites, "watch");
  if ((await h.untilAll(s, "/", (r) => r.text === "version 1")) === null) return false;
  const t1 = performance.now();
  h.atomicSave(join(site, "index.js"), route(2));
  const watchMs = await h.untilAll(s, "/", isNew, { since: t1 });
  const live = await h.fresh(s, "/", 10);
  h.table(["worker", "answers right after the edit"], h.perWorker(live, withGen));
  h.say(
    `every worker served the new code ${watchMs === null ? "never" : h.ms(watchMs)} after the save`,
  );
  for (const l of h.logLines(s, /generation \d+ live/)) h.say(`log: ${l}`);
  await s.stop();

  const ok =
    staleCount === 10 &&
    hupMs !== null &&
    after.every(isNew) &&
    watchMs !== null &&
    live.every(isNew);
  return h.verdict(
    "stale-code",
    ok,
    `forever: ${staleCount}/10 stale answers until SIGHUP, all new ${hupMs === null ? "never" : h.ms(hupMs)} after it; ` +
      `watch: all workers new ${watchMs === null ? "never" : h.ms(watchMs)} after the save.`,
  );
}
