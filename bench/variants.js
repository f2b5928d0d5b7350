// QuickJS build variants from npm against sitebox's default (@jitl/quickjs-wasmfile-release-sync):
// each in a child process (variant-probe.js) running one real sandbox with the quickjs-steps
// dispatches, in turn, for ROUNDS rounds; the medians are compared. Measured, not adopted: the
// packages go to a cache folder under the system's temp folder, never into package.json.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { BenchError, ROOT, printGrid, progress } from "./common.js";
import { exited, track } from "./proc.js";

const VERSION = "0.32.0"; // quickjs-emscripten's, which the variants must match
const CACHE = path.join(os.tmpdir(), "sitebox-bench-variants");
const ROUNDS = 3;

/** [label, package]; every release variant on npm that runs in Node (all are built with -Oz). */
export const VARIANTS = [
  ["default: quickjs, wasm file, sync", "@jitl/quickjs-wasmfile-release-sync"],
  ["quickjs-ng, wasm file, sync", "@jitl/quickjs-ng-wasmfile-release-sync"],
  ["quickjs, single file (mjs), sync", "@jitl/quickjs-singlefile-mjs-release-sync"],
  ["quickjs, wasm file, asyncify", "@jitl/quickjs-wasmfile-release-asyncify"],
  ["quickjs-ng, wasm file, asyncify", "@jitl/quickjs-ng-wasmfile-release-asyncify"],
];

/** The variant's ESM entry: from the repo's node_modules if there, else installed in CACHE. */
function entryOf(pkg) {
  for (const base of [path.join(ROOT, "package.json"), path.join(CACHE, "package.json")]) {
    try {
      const dir = path.dirname(createRequire(base).resolve(`${pkg}/package.json`));
      return path.join(dir, "dist/index.mjs");
    } catch {
      // not installed there
    }
  }
  return null;
}

function install(pkgs) {
  fs.mkdirSync(CACHE, { recursive: true });
  if (!fs.existsSync(path.join(CACHE, "package.json")))
    fs.writeFileSync(path.join(CACHE, "package.json"), '{ "private": true }\n');
  const specs = pkgs.map((p) => `${p}@${VERSION}`);
  progress(`variants: npm install ${specs.join(" ")} (into ${CACHE}) ...`);
  const r = spawnSync(
    "npm",
    [
      "install",
      "--no-save",
      "--no-package-lock",
      "--no-audit",
      "--no-fund",
      "--prefix",
      CACHE,
      ...specs,
    ],
    { stdio: "inherit" },
  );
  if (r.status !== 0) throw new BenchError(`npm install of ${specs.join(" ")} failed`);
}

async function probe(entry) {
  const child = track(
    spawn(process.execPath, [path.join(ROOT, "bench/variant-probe.js"), entry], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await exited(child);
  if (code !== 0) return { error: err.trim().split("\n").slice(-3).join(" ") };
  return JSON.parse(out.trim().split("\n").at(-1));
}

export async function runVariants() {
  const missing = VARIANTS.map(([, p]) => p).filter((p) => entryOf(p) === null);
  if (missing.length) install(missing);
  const runs = new Map(VARIANTS.map(([label]) => [label, []]));
  for (let round = 0; round < ROUNDS; round++)
    for (const [label, pkg] of VARIANTS) {
      progress(`variants: round ${round + 1}/${ROUNDS}, ${label} ...`);
      runs.get(label).push(await probe(entryOf(pkg)));
    }
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  return VARIANTS.map(([label, pkg]) => {
    const ok = runs.get(label).filter((r) => !r.error);
    if (ok.length === 0) return { label, pkg, error: runs.get(label)[0].error };
    return {
      label,
      pkg,
      firstMs: median(ok.map((r) => r.firstMs)),
      rssBytes: median(ok.map((r) => r.rssBytes)),
      results: ok[0].results.map((c, i) => ({
        label: c.label,
        us: median(ok.map((r) => r.results[i].us)),
      })),
    };
  });
}

export function printVariants(variants) {
  console.log(
    `\nQuickJS build variants (npm, ${VERSION}): CPU µs per dispatch in one sandbox (median of ` +
      `${ROUNDS} rounds), and the ratio to the default`,
  );
  const ok = variants.filter((v) => !v.error);
  const base = ok[0];
  const head = ["request", ...ok.flatMap((v) => [v.label, "x"])];
  const rows = base.results.map((c, i) => [
    c.label,
    ...ok.flatMap((v) => [v.results[i].us.toFixed(1), (v.results[i].us / c.us).toFixed(2)]),
  ]);
  rows.push([
    "first request (load + instance + prelude), ms",
    ...ok.flatMap((v) => [v.firstMs.toFixed(0), ""]),
  ]);
  rows.push([
    "process RSS after, MiB",
    ...ok.flatMap((v) => [(v.rssBytes / 2 ** 20).toFixed(1), ""]),
  ]);
  printGrid(head, rows);
  for (const v of variants.filter((x) => x.error)) console.log(`  ${v.label}: failed: ${v.error}`);
}
