/**
 * Symlink-flip deploys (capistrano, deployer): sites/app -> releases/v1, then the new release is
 * copied to releases/v2 and the link is replaced atomically. OPcache keys its cache by the
 * resolved real path, so it keeps running releases/v1 ("OPcache is not inode-based"), even after
 * the old release was deleted. sitebox's watch policy re-resolves the link and rolls out v2.
 */
import { mkdirSync, realpathSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { join, relative } from "node:path";
import * as h from "./harness.js";

const release = (v: number) => ({
  "index.js": `export default { fetch() { return new Response("release v${v}"); } };\n`,
});

/** root/sites/app -> root/releases/v1 */
function layout() {
  const root = h.tempRoot();
  h.writeTree(join(root, "releases/v1"), release(1));
  mkdirSync(join(root, "sites"));
  symlinkSync(join(root, "releases/v1"), join(root, "sites/app"));
  return root;
}

/** Deploys releases/v2 and flips the link: a new link under a temp name, renamed over the old. */
function flip(root: string): void {
  h.writeTree(join(root, "releases/v2"), release(2));
  symlinkSync(join(root, "releases/v2"), join(root, "sites/.app-next"));
  renameSync(join(root, "sites/.app-next"), join(root, "sites/app"));
}

const HOST = "app";
const show = (r: h.Reply) => `${r.status === 200 ? r.text : r.status} (gen ${r.generation})`;
const target = (root: string) => relative(root, realpathSync(join(root, "sites/app")));

export async function run(): Promise<boolean> {
  const head = ["worker", "answers (Host: app)"];
  h.say("layout: sites/app -> releases/v1; deploy = copy releases/v2, then");
  h.say("ln -s releases/v2 sites/.app-next && mv -T sites/.app-next sites/app   (atomic flip)");

  h.section(
    "PITFALL",
    "--cache forever, like OPcache keyed by the resolved path: the flip is never noticed, and\n" +
      "the old release keeps answering from memory even after it is deleted from disk.",
  );
  let root = layout();
  let s = await h.serve(join(root, "sites"), "forever");
  await h.untilAll(s, "/", (r) => r.text === "release v1", { host: HOST });
  flip(root);
  await h.sleep(1000);
  const a = await h.fresh(s, "/", 10, HOST);
  h.say(`flipped: sites/app -> ${target(root)}; 1 s later, 10 requests:`);
  h.table(head, h.perWorker(a, show));
  rmSync(join(root, "releases/v1"), { recursive: true });
  const b = await h.fresh(s, "/", 10, HOST);
  h.say("deleted releases/v1 (old releases pruned), 10 requests:");
  h.table(head, h.perWorker(b, show));
  await s.stop();
  const ghost = [...a, ...b].filter((r) => r.text === "release v1").length;

  h.section(
    "FIX",
    "--cache watch re-resolves a site folder that is a symlink; a new target means a new\n" +
      "generation, built from the new release, and the old release's sandboxes are dropped.",
  );
  root = layout();
  s = await h.serve(join(root, "sites"), "watch");
  await h.untilAll(s, "/", (r) => r.text === "release v1", { host: HOST });
  const t0 = performance.now();
  flip(root);
  const flipMs = await h.untilAll(s, "/", (r) => r.text === "release v2", {
    host: HOST,
    since: t0,
  });
  rmSync(join(root, "releases/v1"), { recursive: true });
  const c = await h.fresh(s, "/", 10, HOST);
  h.say(`flipped: every worker served v2 ${flipMs === null ? "never" : h.ms(flipMs)} later;`);
  h.say("deleted releases/v1, 10 requests:");
  h.table(head, h.perWorker(c, show));
  for (const l of h.logLines(s, /generation \d+ live/)) h.say(`log: ${l}`);
  await s.stop();

  const ok =
    ghost === 20 &&
    flipMs !== null &&
    c.every((r) => r.text === "release v2" && r.generation === "2");
  return h.verdict(
    "symlink-flip",
    ok,
    `forever: ${ghost}/20 answers from release v1 after the flip (10 after deleting it); ` +
      `watch: v2 (generation 2) on every worker ${flipMs === null ? "never" : h.ms(flipMs)} after the flip.`,
  );
}
