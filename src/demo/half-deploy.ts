/**
 * A change that spans two files, copied one file at a time (rsync, scp, a slow CI step): between
 * the two writes the tree on disk is half old, half new. OPcache with timestamps on ("new code
 * files can get mixed with old ones") and mod_python load whatever is on disk at that moment.
 * sitebox's watch policy snapshots the whole site, validates it on every worker, and rejects the
 * half state: requests see the old tree or the new one, never a mix.
 */
import { join } from "node:path";
import * as h from "./harness.js";

const V1 = {
  "index.js": `import { price } from "./_lib/shop.js";
export default { fetch() { return new Response("old: total " + price(100)); } };
`,
  "_lib/shop.js": `export const price = (n) => n;\n`,
};
const V2 = {
  "index.js": `import { price, discount } from "./_lib/shop.js";
export default { fetch() { return new Response("new: total " + discount(price(100))); } };
`,
  "_lib/shop.js": `export const price = (n) => n;\nexport const discount = (n) => n * 0.9;\n`,
};

interface Tally {
  old: number;
  new: number;
  errors: number;
  /** Requests that began after a "new" answer had ended and still got "old". */
  oldAfterNew: number;
}

/** 2 clients on fresh connections for `ms` while `deploy` runs. */
async function traffic(s: h.Server, ms: number, deploy: () => Promise<void>): Promise<Tally> {
  const t: Tally = { old: 0, new: 0, errors: 0, oldAfterNew: 0 };
  let firstNewEnd = Infinity;
  const end = performance.now() + ms;
  const client = async () => {
    while (performance.now() < end) {
      const r = await h.get(s, "/");
      if (r.status !== 200) t.errors++;
      else if (r.text.startsWith("new:")) {
        t.new++;
        firstNewEnd = Math.min(firstNewEnd, r.end);
      } else {
        t.old++;
        if (r.start > firstNewEnd) t.oldAfterNew++;
      }
    }
  };
  await Promise.all([client(), client(), deploy()]);
  return t;
}

/** index.js first, then _lib/shop.js 300 ms later. */
const deploy = (site: string) => async () => {
  await h.sleep(200);
  h.plainWrite(join(site, "index.js"), V2["index.js"]);
  await h.sleep(300);
  h.plainWrite(join(site, "_lib/shop.js"), V2["_lib/shop.js"]);
};

const row = (policy: string, t: Tally) => [policy, t.old, t.new, t.errors, t.oldAfterNew];

export async function run(): Promise<boolean> {
  const head = ["cache", "old answers", "new answers", "errors", "old after new"];
  h.say("the change: index.js starts importing discount() from _lib/shop.js, which gains it.");
  h.say("deploy: write index.js, wait 300 ms, write _lib/shop.js; requests run throughout.");

  h.section(
    "PITFALL",
    "--cache legacy re-imports index.js alone: it needs discount(), but the shop.js loaded in\n" +
      "the worker is the old one (helpers are never reloaded), so every request fails from the\n" +
      "worker's next check on, and keeps failing after the deploy completed.",
  );
  let { sites, site } = h.makeSite(V1);
  let s = await h.serve(sites, "legacy");
  await h.untilAll(s, "/", (r) => r.text.startsWith("old:"));
  const legacy = await traffic(s, 2700, deploy(site));
  const err = h.logLines(s, /discount/)[0];
  await s.stop();
  h.table(head, [row("legacy", legacy)]);
  if (err !== undefined) h.say(`log: ${err.slice(0, 160)}`);

  h.section(
    "FIX",
    "--cache watch: after each burst of writes the whole site is read as one snapshot and built\n" +
      "on every worker before it goes live. The half state fails to load and is rejected;\n" +
      "the complete state goes live everywhere at once.",
  );
  ({ sites, site } = h.makeSite(V1));
  s = await h.serve(sites, "watch");
  await h.untilAll(s, "/", (r) => r.text.startsWith("old:"));
  const watch = await traffic(s, 1500, deploy(site));
  await s.stop();
  h.table(head, [row("legacy", legacy), row("watch", watch)]);
  for (const l of h.logLines(s, /rejected|generation \d+ live/)) h.say(`log: ${l.slice(0, 160)}`);
  const rejected = h.logLines(s, /rejected/).length;

  const ok =
    legacy.errors > 0 &&
    watch.errors === 0 &&
    watch.new > 0 &&
    watch.oldAfterNew === 0 &&
    rejected > 0;
  return h.verdict(
    "half-deploy",
    ok,
    `legacy: ${legacy.errors} errors (${legacy.new} new answers) during a two-file deploy; ` +
      `watch: ${watch.errors} errors, ${watch.old} old then ${watch.new} new, half state rejected ` +
      `${rejected}×.`,
  );
}
