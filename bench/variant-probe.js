// Child process of the variants section (variants.js): one real sandbox on a given QuickJS build
// variant, the quickjs-steps dispatches timed on it. argv[2]: the variant's entry file.
import { pathToFileURL } from "node:url";
import {
  newQuickJSAsyncWASMModuleFromVariant,
  newQuickJSWASMModuleFromVariant,
  newVariant,
} from "quickjs-emscripten";
import { dispatchCases } from "./quickjs-steps.js";
import { dispatch, medianCpuPerCall, newSandbox, siteFiles } from "./sandbox-harness.js";
import { smapsRollup } from "./usage.js";

const variant = (await import(pathToFileURL(process.argv[2]).href)).default;
const t0 = performance.now();
const memory = new WebAssembly.Memory({ initial: 256, maximum: 1024 });
const make =
  variant.type === "async" ? newQuickJSAsyncWASMModuleFromVariant : newQuickJSWASMModuleFromVariant;
const module = await make(newVariant(variant, { wasmMemory: memory }));
const sb = await newSandbox(siteFiles(), { module, memory, capBytes: 1024 * 65536 });
const cases = dispatchCases().filter(([, req]) => !req.route.startsWith("probe/"));
dispatch(sb, cases[0][1]);
const firstMs = performance.now() - t0;
for (const [, req] of cases) for (let i = 0; i < 300; i++) dispatch(sb, req);
const results = cases.map(([label, req]) => ({
  label,
  us: medianCpuPerCall(() => dispatch(sb, req)),
}));
const rssBytes = smapsRollup(process.pid).Rss;
process.stdout.write(JSON.stringify({ firstMs, results, rssBytes }) + "\n");
process.exit(0);
