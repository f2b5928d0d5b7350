/**
 * A syntax error saved to a live file: mod_python re-imported it and answered errors until the
 * next good save (gunicorn --reload and uWSGI's autoreload could even die on it). sitebox's watch
 * policy validates a new generation on every worker before it goes live: a broken one is
 * rejected, logged with file and line, and the last good generation keeps serving.
 */
import { join } from "node:path";
import * as h from "./harness.js";

const GOOD = (v: number) =>
  `export default {\n  fetch() {\n    return new Response("ok: version ${v}");\n  },\n};\n`;
const BROKEN = `export default {\n  fetch() {\n    return new Response("ok: version 2";\n  },\n};\n`;

interface Tally {
  ok: number;
  errors: number;
  texts: Set<string>;
}

/** Requests on fresh connections for `ms`, counted by outcome. */
async function poll(s: h.Server, ms: number): Promise<Tally> {
  const t: Tally = { ok: 0, errors: 0, texts: new Set() };
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const r = await h.get(s, "/");
    if (r.status === 200) t.ok++;
    else t.errors++;
    t.texts.add(r.status === 200 ? r.text : `${r.status} ${r.text}`);
  }
  return t;
}

const row = (what: string, t: Tally) => [what, t.ok, t.errors, [...t.texts].join(" | ")];

export async function run(): Promise<boolean> {
  const head = ["1.5 s of requests after", "200", "5xx", "answers"];
  const file = "index.js";

  h.section(
    "PITFALL",
    `--cache legacy (mod_python): a save with a syntax error (a missing ")" on line 3) is\n` +
      "re-imported by each worker within a second; every request fails until the next good save.",
  );
  let { sites, site } = h.makeSite({ [file]: GOOD(1) });
  let s = await h.serve(sites, "legacy");
  await h.untilAll(s, "/", (r) => r.text === "ok: version 1");
  h.plainWrite(join(site, file), BROKEN);
  const bad = await poll(s, 1500);
  h.plainWrite(join(site, file), GOOD(3));
  const fixed = await poll(s, 1500);
  h.table(head, [row("the broken save", bad), row("the next good save", fixed)]);
  const logged = h.logLines(s, /SyntaxError/)[0];
  if (logged !== undefined) h.say(`log: ${logged.slice(0, 150)}`);
  await s.stop();

  h.section(
    "FIX",
    "--cache watch: the new generation is built on every worker before it goes live; a load\n" +
      "error rejects it and the last good one keeps serving. The same saves:",
  );
  ({ sites, site } = h.makeSite({ [file]: GOOD(1) }));
  s = await h.serve(sites, "watch");
  await h.untilAll(s, "/", (r) => r.text === "ok: version 1");
  h.plainWrite(join(site, file), BROKEN);
  const rejected = await s.waitFor(/error site=default: new generation \d+ rejected[^\n]*/);
  const kept = await poll(s, 1500);
  const t0 = performance.now();
  h.plainWrite(join(site, file), GOOD(3));
  const goodMs = await h.untilAll(s, "/", (r) => r.text === "ok: version 3", { since: t0 });
  const after = await poll(s, 500);
  h.table(head, [row("the broken save", kept), row("the next good save (0.5 s)", after)]);
  h.say(`log: ${rejected?.[0] ?? "(no rejection logged)"}`);
  h.say(
    `the good save was live on every worker ${goodMs === null ? "never" : h.ms(goodMs)} later.`,
  );
  await s.stop();

  const where = rejected !== null && /index\.js:3(:\d+)?: SyntaxError/.test(rejected[0]);
  const ok =
    bad.errors > 0 &&
    fixed.texts.has("ok: version 3") &&
    kept.errors === 0 &&
    kept.ok > 0 &&
    where &&
    goodMs !== null &&
    after.errors === 0;
  return h.verdict(
    "broken-edit",
    ok,
    `legacy: ${bad.errors} errors in 1.5 s after the broken save; watch: ${kept.errors} errors in ` +
      `${kept.ok + kept.errors} requests, error logged at ${where ? "index.js:3" : "(no file:line)"}, ` +
      `good save live in ${goodMs === null ? "never" : h.ms(goodMs)}.`,
  );
}
