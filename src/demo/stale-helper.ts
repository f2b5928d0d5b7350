/**
 * mod_python's PythonAutoReload (and mod_wsgi's embedded WSGIScriptReloading) check only the
 * handler's own file: an edited helper it imports stays stale, even when the handler itself is
 * re-imported. `watch` follows the import graph.
 */
import { utimesSync } from "node:fs";
import { join } from "node:path";
import * as h from "./harness.js";

const ROUTE = (tag: string) => `import { price, RULE } from "./_lib/price.js";
let hits = 0; // module state: restarts whenever this module is evaluated again
export default {
  fetch() {
    hits++;
    return new Response(\`route ${tag}: 100 + tax = \${price(100)} (\${RULE}), route hits \${hits}\`);
  },
};
`;
const HELPER = (rate: number) =>
  `export const RULE = "VAT ${rate}%";\nexport const price = (n) => n * ${1 + rate / 100};\n`;

/** One answer per worker, after waiting out legacy's once-a-second check. */
async function answers(s: h.Server): Promise<string[]> {
  await h.sleep(1100);
  const seen = new Map<string, string>();
  for (let i = 0; i < 20 && seen.size < h.WORKERS; i++) {
    const r = await h.get(s, "/");
    if (!seen.has(r.worker)) seen.set(r.worker, `w${r.worker}: ${r.text}`);
  }
  return [...seen.entries()].sort().map(([, t]) => t);
}

export async function run(): Promise<boolean> {
  h.section(
    "PITFALL",
    "--cache legacy behaves like mod_python's PythonAutoReload: each worker checks only the\n" +
      "route file's mtime (at most once a second) and re-imports that one module; the helpers it\n" +
      "imports stay as they were first loaded.",
  );
  let { sites, site } = h.makeSite({ "index.js": ROUTE("v1"), "_lib/price.js": HELPER(20) });
  let s = await h.serve(sites, "legacy");
  const rows: string[][] = [];
  const step = async (what: string, disk: string) => {
    const texts = await answers(s);
    rows.push([what, disk, texts[0] ?? "-"], ...texts.slice(1).map((t) => ["", "", t]));
    return texts;
  };
  await step("start", "VAT 20%");
  h.atomicSave(join(site, "_lib/price.js"), HELPER(25));
  const afterHelper = await step("edit _lib/price.js", "VAT 25%");
  const now = new Date();
  utimesSync(join(site, "index.js"), now, now);
  const afterTouch = await step("touch index.js", "VAT 25%");
  h.atomicSave(join(site, "index.js"), ROUTE("v2"));
  const afterRoute = await step("edit index.js too", "VAT 25%");
  h.table(["step (then wait 1.1 s)", "disk says", "each worker answers"], rows);
  const after = [...afterHelper, ...afterTouch, ...afterRoute];
  const staleN = after.filter((t) => t.includes("VAT 20%")).length;
  const reimported =
    afterTouch.every((t) => t.endsWith("route hits 1")) &&
    afterRoute.every((t) => t.includes("route v2") && t.endsWith("route hits 1"));
  h.say(
    reimported
      ? "the route was re-imported (hits restart at 1, 'route v2' shows) but the helper is still 20%."
      : "unexpected: the route was not re-imported as mod_python would.",
  );
  h.say("Under mod_python the only cure was restarting Apache.");
  await s.stop();

  h.section(
    "FIX",
    "--cache watch records what each sandbox imported; a change to any file in the graph\n" +
      "builds a new generation of the site, on every worker at once.",
  );
  ({ sites, site } = h.makeSite({ "index.js": ROUTE("v1"), "_lib/price.js": HELPER(20) }));
  s = await h.serve(sites, "watch");
  await h.untilAll(s, "/", (r) => r.text.includes("VAT 20%"));
  const t0 = performance.now();
  h.atomicSave(join(site, "_lib/price.js"), HELPER(25));
  const watchMs = await h.untilAll(s, "/", (r) => r.text.includes("VAT 25%"), { since: t0 });
  const live = await h.fresh(s, "/", 4);
  h.table(
    ["worker", "answers after editing only _lib/price.js"],
    h.perWorker(live, (r) => `${r.text.replace(/, route hits \d+/, "")} (gen ${r.generation})`),
  );
  for (const l of h.logLines(s, /generation \d+ live/)) h.say(`log: ${l}`);
  await s.stop();

  const ok = staleN === after.length && reimported && watchMs !== null;
  return h.verdict(
    "stale-helper",
    ok,
    `legacy: helper stale in ${staleN}/${after.length} answers after its edit, even with the ` +
      `route re-imported; watch: helper edit live on every worker in ${watchMs === null ? "never" : h.ms(watchMs)}.`,
  );
}
