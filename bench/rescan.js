// `node bench/rescan.js [--sites 200] [--runs 20]`: what the primary's periodic re-scan costs
// (`--rescan`, generations.ts `rescan`): CPU per pass, for the bundled sites/ and for N small
// sites (5 modules and a site.json each, in a temp folder), every site served once before. The
// pass is the one the primary runs: a stat per folder and file a snapshot holds, no reads.
// Figures are process CPU (user + system, the thread pool included) per pass, median of --runs.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./common.js";

const { values } = parseArgs({
  options: { sites: { type: "string", default: "200" }, runs: { type: "string", default: "20" } },
});
const { Generations } = await import(path.join(ROOT, "dist/generations.js"));
const quiet = { access() {}, error() {}, console() {}, info() {}, flush() {} };

/** Median CPU µs and wall ms of one re-scan pass over every site in `dir`. */
async function measure(dir, runs) {
  const gens = new Generations(dir, quiet, () => [], 5000);
  const names = fs.readdirSync(dir).filter((n) => !n.startsWith("."));
  for (const name of names) await gens.current(name);
  let stats = 0;
  for (const st of gens.sites.values()) stats += Object.keys(st.seen.stamps).length;
  // Stamps written within the last 2 s are re-read once (racy); measure the settled state.
  await new Promise((r) => setTimeout(r, 2100));
  await gens.rescan();
  const cpu = [];
  const wall = [];
  for (let i = 0; i < runs; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    const refreshed = await gens.rescan();
    wall.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpu.push(d.user + d.system);
    if (refreshed !== 0) throw new Error(`${dir}: ${refreshed} sites looked changed`);
  }
  const mid = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { sites: names.length, stats, cpuUs: mid(cpu), wallMs: mid(wall) };
}

function smallSites(n) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sitebox-rescan-"));
  for (let i = 0; i < n; i++) {
    const site = path.join(dir, `site${i}.example`);
    fs.mkdirSync(path.join(site, "_lib"), { recursive: true });
    fs.writeFileSync(path.join(site, "site.json"), '{"vars":{"N":1}}');
    for (const f of ["index.js", "about.js", "api.js"])
      fs.writeFileSync(path.join(site, f), 'export default () => new Response("hi");');
    for (const f of ["_lib/a.js", "_lib/b.js"])
      fs.writeFileSync(path.join(site, f), "export const a = 1;");
  }
  return dir;
}

const runs = Number(values.runs);
const row = (label, r) =>
  console.log(
    `${label.padEnd(22)} ${String(r.sites).padStart(4)} sites ${String(r.stats).padStart(6)} stats` +
      `  CPU ${(r.cpuUs / 1000).toFixed(2).padStart(6)} ms/pass  wall ${r.wallMs.toFixed(2)} ms`,
  );
row("bundled sites/", await measure(path.join(ROOT, "sites"), runs));
const tmp = smallSites(Number(values.sites));
try {
  row(`${values.sites} small sites`, await measure(tmp, runs));
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
