// Child process of the memory section (memory.js): builds a sitebox worker's parts one at a time
// and prints, after each, one JSON line with /proc/self/smaps_rollup and process.memoryUsage()
// (after two full GCs) and the time the step took; at the end, a hello dispatch's CPU µs. Run with
// --expose-gc; argv[2] is a QuickJS variant package (default: sitebox's) and argv[3] its entry
// file when it is installed elsewhere.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { ROOT } from "./common.js";
import { dispatch, medianCpuPerCall, newSandbox, siteFiles } from "./sandbox-harness.js";
import { smapsRollup } from "./usage.js";

const dist = (file) => import(pathToFileURL(path.join(ROOT, "dist", file)).href);

let last = performance.now();

/** After a pause: V8 compiles wasm on background threads, and their scratch memory comes back. */
async function reading(step) {
  const ms = performance.now() - last;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  globalThis.gc();
  globalThis.gc();
  const s = smapsRollup(process.pid);
  const m = process.memoryUsage();
  const line = {
    step,
    ms,
    rss: s.Rss,
    pss: s.Pss,
    anonymous: s.Anonymous,
    fileBacked: s.Rss - s.Anonymous,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
  };
  process.stdout.write(JSON.stringify(line) + "\n");
  last = performance.now();
}

const hello = (route = "index.js") => ({
  method: "GET",
  url: "http://127.0.0.1/",
  headers: ["Host", "127.0.0.1"],
  body: null,
  route,
});

await reading("node, nothing loaded");
const qe = await import("quickjs-emscripten");
await dist("pipeline.js");
await dist("front/http.js");
await dist("sites.js");
await dist("worker-generations.js");
await dist("status-endpoint.js");
await reading("+ sitebox's worker modules and quickjs-emscripten (code only)");

const server = http.createServer((_req, res) => res.end("ok"));
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
await reading("+ an HTTP server listening");

const { busyBuffer } = await dist("busy.js");
const worker = new Worker(path.join(ROOT, "dist/watchdog-thread.js"), {
  workerData: {
    buffer: busyBuffer,
    blameFile: path.join(tmpdir(), `memory-probe-${process.pid}.json`),
    watchdogMs: 5000,
    worker: 0,
  },
});
await new Promise((resolve) => worker.once("online", resolve));
await new Promise((resolve) => setTimeout(resolve, 200));
await reading("+ the watchdog thread (a worker_thread; only where /proc/PID/mem is closed)");

const variantPkg = process.argv[2] || "@jitl/quickjs-wasmfile-release-sync";
const req = createRequire(createRequire(import.meta.url).resolve("quickjs-emscripten"));
// The ESM entry, as sitebox's own import (src/sandbox/wasm.ts) and variants.js take: the CJS one
// builds its heap on a memory of its own, not on the wasmMemory given.
const variantPath =
  process.argv[3] ||
  path.join(path.dirname(req.resolve(`${variantPkg}/package.json`)), "dist/index.mjs");
const variant = (await import(pathToFileURL(variantPath).href)).default;
const wasmFile = createRequire(variantPath).resolve(`${variantPkg}/wasm`);
const wasmModule = await WebAssembly.compile(fs.readFileSync(wasmFile));
await reading("+ the QuickJS wasm module compiled (WebAssembly.compile)");

const instance = async () => {
  const memory = new WebAssembly.Memory({ initial: 256, maximum: 1024 });
  const module = await qe.newQuickJSWASMModuleFromVariant(
    qe.newVariant(variant, { wasmModule, wasmMemory: memory }),
  );
  return { module, memory, capBytes: 1024 * 65536 };
};
const inst = await instance();
await reading("+ one wasm instance (16 MiB initial memory, emscripten glue)");

const rt = inst.module.newRuntime();
const ctx = rt.newContext();
await reading("+ a QuickJS runtime and context");

const { preludeSource } = await dist("sandbox/prelude.js");
const { installHost } = await dist("sandbox/host.js");
const noop = () => {};
installHost(ctx, inst.memory, new Proxy({}, { get: () => noop }));
ctx.unwrapResult(ctx.evalCode(preludeSource(), "<sitebox>")).dispose();
rt.executePendingJobs();
await reading("+ the prelude evaluated in it");

const custom = process.argv[2] !== undefined && process.argv[2] !== "";
if (!custom) {
  const { template } = await dist("sandbox/boot.js");
  if ((await template()) === null) throw new Error("no sandbox template");
  await reading("+ the worker's sandbox template (boot.ts: another instance, prelude evaluated)");
}
// With another variant, sandboxes evaluate the prelude themselves (the template is sitebox's).
const first = await newSandbox(siteFiles(), custom ? await instance() : null);
dispatch(first, hello());
await reading("+ the first site's sandbox (from the template, hello route loaded)");

for (let i = 0; i < 20_000; i++) dispatch(first, hello());
await reading("+ 20,000 hello requests through it");

const helloUs = medianCpuPerCall(() => dispatch(first, hello()));
for (let i = 0; i < 9; i++)
  dispatch(await newSandbox(siteFiles(), custom ? await instance() : null), hello());
await reading("+ 9 more sites' sandboxes");
process.stdout.write(JSON.stringify({ helloUs }) + "\n");

server.close();
await worker.terminate();
process.exit(0);
