/**
 * Module-level state lives in one worker's sandbox: each worker counts on its own, and a reload
 * silently restarts the count (mod_python 3 reloaded modules in place; users wrote __clone__
 * hooks to carry their globals over). `watch` keeps the state through edits of files the route
 * does not use, and the generation header makes every reset visible.
 */
import { join } from "node:path";
import * as h from "./harness.js";

const COUNTER = (note: string) => `// ${note}
let visits = 0; // module state: one copy per worker sandbox
export default {
  fetch() {
    visits++;
    return new Response("visits: " + visits);
  },
};
`;
const OTHER = (v: number) =>
  `export default { fetch() { return new Response("other page v${v}"); } };\n`;

const count = (r: h.Reply) => Number(/visits: (\d+)/.exec(r.text)?.[1] ?? -1);

/** worker → "1 2 3 (gen 1)" */
function rows(replies: h.Reply[]): string[][] {
  const by = new Map<string, h.Reply[]>();
  for (const r of replies) by.set(r.worker, [...(by.get(r.worker) ?? []), r]);
  return [...by.entries()]
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([w, rs]) => [
      `worker ${w}`,
      [...new Set(rs.map((r) => r.generation))].join(","),
      rs.map(count).join(" "),
    ]);
}

const firstPerWorker = (replies: h.Reply[]) => {
  const seen = new Map<string, number>();
  for (const r of replies) if (!seen.has(r.worker)) seen.set(r.worker, count(r));
  return [...seen.values()];
};

export async function run(): Promise<boolean> {
  const head = ["worker", "generation", "visits: the count each request got, in order"];

  h.section(
    "PITFALL",
    "module-level variables are per worker, and a reload starts them from scratch. Under\n" +
      "--cache legacy (mod_python's in-place reload) nothing in the response says it happened.",
  );
  let { sites, site } = h.makeSite({ "index.js": COUNTER("v1"), "other.js": OTHER(1) });
  let s = await h.serve(sites, "legacy");
  const a = await h.fresh(s, "/", 10);
  h.say("10 requests on fresh connections (the workers take turns):");
  h.table(head, rows(a));
  const maxA = Math.max(...a.map(count));
  h.say(`the site had 10 visits; the highest count any worker reports is ${maxA}.`);
  h.atomicSave(join(site, "index.js"), COUNTER("v2: only this comment changed"));
  await h.sleep(1100);
  const b = await h.fresh(s, "/", 6);
  h.say("edited a comment in index.js, waited 1.1 s, 6 more requests:");
  h.table(head, rows(b));
  const silentReset =
    firstPerWorker(b).every((n) => n === 1) && b.every((r) => r.generation === "1");
  h.say("every counter restarted at 1, and the generation header still says 1: a silent reset.");
  await s.stop();

  h.section(
    "FIX",
    "--cache watch is dependency-aware: an edit to a file the route never loaded keeps its\n" +
      "sandbox (and the counts); an edit to the route builds a new one, and the new generation\n" +
      "number in x-sitebox-generation shows why the counts restarted.",
  );
  ({ sites, site } = h.makeSite({ "index.js": COUNTER("v1"), "other.js": OTHER(1) }));
  s = await h.serve(sites, "watch");
  const c = await h.fresh(s, "/", 10);
  h.say("10 requests:");
  h.table(head, rows(c));
  h.atomicSave(join(site, "other.js"), OTHER(2));
  const gen2 = await s.waitFor(/generation 2 live[^\n]*/);
  const d = await h.fresh(s, "/", 6);
  h.say(`edited other.js (not imported by index.js); log: ${gen2?.[0] ?? "(no generation 2)"}`);
  h.table(head, rows(d));
  const kept = firstPerWorker(d).every((n) => n > 1) && d.every((r) => r.generation === "2");
  h.say(kept ? "the counts went on: the sandbox was kept." : "unexpected: the counts restarted.");
  h.atomicSave(join(site, "index.js"), COUNTER("v2: only this comment changed"));
  const gen3 = await s.waitFor(/generation 3 live[^\n]*/);
  const e = await h.fresh(s, "/", 6);
  h.say(`edited index.js; log: ${gen3?.[0] ?? "(no generation 3)"}`);
  h.table(head, rows(e));
  const visible = firstPerWorker(e).every((n) => n === 1) && e.every((r) => r.generation === "3");
  h.say("the counts restarted, and the generation header moved to 3 at the same moment.");
  await s.stop();

  h.section(
    "NOTE",
    "treat module state as a per-worker cache that may vanish at any reload; keep what must\n" +
      "survive (sessions, counters, carts) outside the sandbox.",
  );
  const ok = maxA < 10 && silentReset && kept && visible;
  return h.verdict(
    "module-state",
    ok,
    `10 visits, highest per-worker count ${maxA}; legacy reset the counts with generation still 1; ` +
      `watch kept them through an unrelated edit (gen 2) and reset them visibly on a route edit (gen 3).`,
  );
}
