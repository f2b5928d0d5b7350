// What each step of a request costs inside QuickJS, in one real sandbox in this process (no HTTP):
//   1. whole dispatches of the bench site's routes and of probes that add one step each, timed
//      from Node, with the time inside quickjs-emscripten's calls split out (its methods wrapped);
//   2. the same steps in a loop inside the interpreter (a probe route times them with Date.now);
//   3. the bare crossing: a string in and out of a do-nothing function in a plain context.
import { QuickJSContext, QuickJSRuntime } from "quickjs-emscripten";
import { printGrid, progress } from "./common.js";
import {
  crossingClass,
  dispatch,
  medianCpuPerCall,
  newDefaultInstance,
  newSandbox,
  siteFiles,
} from "./sandbox-harness.js";
import { ECHO_BODY } from "./workloads.js";

const URL_TEXT = "http://127.0.0.1:8080/api/items?n=10";
/** What wrk sends, and what a browser sends (10 headers). */
const WRK_HEADERS = ["Host", "127.0.0.1:8080"];
const BROWSER_HEADERS = [
  ...WRK_HEADERS,
  ...["User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"],
  ...["Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
  ...["Accept-Language", "en-GB,en;q=0.5", "Accept-Encoding", "gzip, deflate, br, zstd"],
  ...["Connection", "keep-alive", "Cookie", "session=4f2a9c1e7b3d8a6f0e5c2b1a9d8e7f6c"],
  ...["Upgrade-Insecure-Requests", "1", "Sec-Fetch-Dest", "document", "Sec-Fetch-Mode", "navigate"],
];

const HELLO = `new Response("Hello, world!", { headers: { "content-type": "text/plain" } })`;
const PROBES = {
  "probe/bare.js": `export default { fetch() { return new Response("Hello, world!"); } };`,
  "probe/headers.js": `export default { fetch(request) { request.headers.get("user-agent"); return ${HELLO}; } };`,
  "probe/url.js": `export default { fetch(request) { new URL(request.url).searchParams.get("n"); return ${HELLO}; } };`,
  "probe/steps.js": `import { item, pageData } from "../_lib/data.js";
import { renderPage } from "../_lib/template.js";
const URL_TEXT = ${JSON.stringify(URL_TEXT)};
const H10 = ${JSON.stringify(pairs(BROWSER_HEADERS))};
const ITEMS = { items: Array.from({ length: 10 }, (_, i) => item(i)) };
// The template's escape (bench/site/_lib/template.js), and the same with replaceAll.
const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };
const escape = (v) => String(v).replace(/[&<>"]/g, (c) => ESCAPES[c]);
const escape4 = (v) =>
  String(v).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
const STEPS = {
  "empty loop": () => 0,
  "new Headers({1 header})": () => new Headers({ "content-type": "text/plain" }),
  "new Headers(10 headers)": () => new Headers(H10),
  "new Request(url)": () => new Request(URL_TEXT),
  "new Request(url, 10 headers).headers.get": () => new Request(URL_TEXT, { headers: H10 }).headers.get("accept"),
  "new URL(url)": () => new URL(URL_TEXT),
  "new URL(url).searchParams": () => new URL(URL_TEXT).searchParams,
  "new URL(url).searchParams.get": () => new URL(URL_TEXT).searchParams.get("n"),
  "new Response(text)": () => new Response("Hello, world!"),
  "new Response(text, {headers})": () => ${HELLO},
  "Response.json(10 items)": () => Response.json(ITEMS),
  "JSON.stringify(10 items)": () => JSON.stringify(ITEMS),
  "Array.from: 10 items": () => Array.from({ length: 10 }, (_, i) => item(i)),
  "renderPage(pageData()): 5 KB": () => renderPage(pageData()),
  "its escape of one name: String.replace, callback": () => escape("Widget 7 & <Co>"),
  "the same name: 4 replaceAll": () => escape4("Widget 7 & <Co>"),
  "JSON.parse(echo body)": () => JSON.parse(${JSON.stringify(ECHO_BODY)}),
};
export const NAMES = Object.keys(STEPS);
export default {
  fetch(request) {
    const q = request.url.slice(request.url.indexOf("?") + 1).split("&");
    const step = STEPS[decodeURIComponent(q[0])];
    const n = Number(q[1]);
    for (let i = 0; i < n; i++) step();
    return new Response("done");
  },
};`,
};
const STEP_NAMES = /const STEPS = \{([\s\S]*?)\n\};/
  .exec(PROBES["probe/steps.js"])[1]
  .split("\n")
  .map((l) => /^\s*"([^"]+)":/.exec(l)?.[1])
  .filter(Boolean);

function pairs(flat) {
  const out = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

const get = (route, headers = WRK_HEADERS, url = "http://127.0.0.1:8080/") => ({
  method: "GET",
  url,
  headers,
  body: null,
  route,
});

/** The dispatches measured whole: [label, request]. */
export function dispatchCases() {
  const echoBody = new TextEncoder().encode(ECHO_BODY);
  return [
    ["hello (index.js), wrk's 1 header", get("index.js")],
    ["hello, a browser's 10 headers", get("index.js", BROWSER_HEADERS)],
    ["bare new Response(text), 1 header", get("probe/bare.js")],
    ["hello + request.headers.get, 10 headers", get("probe/headers.js", BROWSER_HEADERS)],
    ["hello + new URL(request.url).searchParams", get("probe/url.js", WRK_HEADERS, URL_TEXT)],
    ["JSON API ?n=10 (api/items.js)", get("api/items.js", WRK_HEADERS, URL_TEXT)],
    ["template page 5 KB (page.js)", get("page.js")],
    [
      "POST echo (api/echo.js, await request.json())",
      {
        method: "POST",
        url: "http://127.0.0.1:8080/api/echo",
        headers: [...WRK_HEADERS, "Content-Type", "application/json", "Content-Length", "482"],
        body: echoBody,
        route: "api/echo.js",
      },
    ],
  ];
}

/**
 * Wraps quickjs-emscripten's methods the sandbox calls per request, the crossing's own (strings.ts,
 * which does most strings and calls by hand), and the host functions the sandbox installs (through
 * newFunction), so time inside them can be told from the Node side of a dispatch. Installed before
 * the sandbox is made (the runtime binds some methods at birth); timing only while `on`. A call
 * inside another of its group (a string the crossing makes through the library) counts once.
 */
function wrapQuickJS(Crossing) {
  const w = { on: false, totals: {} };
  const depth = {};
  const timed = (name, orig, group = name) => {
    w.totals[name] = 0;
    depth[group] = 0;
    return function (...args) {
      if (!w.on || depth[group] > 0) return orig.apply(this, args);
      depth[group]++;
      const t0 = process.hrtime.bigint();
      try {
        return orig.apply(this, args);
      } finally {
        w.totals[name] += Number(process.hrtime.bigint() - t0);
        depth[group]--;
      }
    };
  };
  const wrap = (proto, name, group, as = name) => (proto[name] = timed(as, proto[name], group));
  for (const m of ["newString", "getString", "newArrayBuffer"])
    wrap(QuickJSContext.prototype, m, "strings");
  wrap(QuickJSContext.prototype, "callFunction", "calls");
  for (const m of ["make", "read", "buffer"])
    wrap(Crossing.prototype, m, "strings", `crossing.${m}`);
  wrap(Crossing.prototype, "call", "calls", "crossing.call");
  for (const m of ["hasPendingJob", "executePendingJobs"]) wrap(QuickJSRuntime.prototype, m);
  const newFunction = QuickJSContext.prototype.newFunction;
  w.totals.host = 0;
  QuickJSContext.prototype.newFunction = function (name, fn) {
    return newFunction.call(this, name, timed("host", fn));
  };
  return w;
}

const BATCHES = 40;
const BATCH = 100;

/**
 * Whole dispatches from Node (CPU µs each), and how the least-disturbed of BATCHES wrapped
 * batches divides its time: other processes can preempt this one, and the batch with the least
 * wall time is the one they disturbed least.
 */
export async function measureDispatches(sb, w) {
  const rows = [];
  // Warm every path first: JIT on the Node side, the modules and their shapes in QuickJS.
  for (const [, req] of dispatchCases()) for (let i = 0; i < 300; i++) dispatch(sb, req);
  for (const [label, req] of dispatchCases()) {
    const us = medianCpuPerCall(() => dispatch(sb, req));
    w.on = true;
    let best = null;
    for (let b = 0; b < BATCHES; b++) {
      for (const k of Object.keys(w.totals)) w.totals[k] = 0;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < BATCH; i++) dispatch(sb, req);
      const wall = Number(process.hrtime.bigint() - t0);
      if (best === null || wall < best.wall) best = { wall, ...w.totals };
    }
    w.on = false;
    const per = (ns) => ns / BATCH / 1000;
    const host = per(best.host);
    const calls = best.callFunction + best["crossing.call"];
    const quickjs = per(calls + best.hasPendingJob + best.executePendingJobs) - host;
    const made =
      best.newString + best["crossing.make"] + best.newArrayBuffer + best["crossing.buffer"];
    const strings = per(made + best.getString + best["crossing.read"]);
    const wall = per(best.wall);
    rows.push({
      label,
      us,
      wallUs: wall,
      quickjsUs: quickjs,
      hostUs: host,
      stringsUs: strings,
      nodeUs: wall - quickjs - host - strings,
    });
  }
  return rows;
}

/** CPU µs of one dispatch of the steps probe running `name` `n` times. */
function stepCpu(sb, name, n) {
  const req = get("probe/steps.js", WRK_HEADERS, `http://x/?${encodeURIComponent(name)}&${n}`);
  const t0 = process.cpuUsage();
  dispatch(sb, req);
  const d = process.cpuUsage(t0);
  return d.user + d.system;
}

/**
 * Each step in a loop inside QuickJS: µs per iteration, from the CPU time of the dispatch that
 * runs the loop minus that of the same loop doing nothing (the dispatch and loop overhead).
 */
export function measureSteps(sb) {
  return STEP_NAMES.filter((s) => s !== "empty loop").map((name) => {
    let n = 200;
    while (stepCpu(sb, name, n) < 20_000 && n < 1 << 22) n *= 4;
    const xs = [0, 1, 2].map(() => (stepCpu(sb, name, n) - stepCpu(sb, "empty loop", n)) / n);
    return { step: name, us: Math.max(0, xs.sort((a, b) => a - b)[1]) };
  });
}

/**
 * The crossing alone: a meta string in, a response record out, in a plain context; through the
 * library's calls, then through the sandbox's own crossing (strings.ts).
 */
export async function measureCrossing(instance, Crossing) {
  const rt = instance.module.newRuntime();
  rt.setInterruptHandler(() => false);
  const ctx = rt.newContext();
  const crossing = new Crossing(ctx, instance.memory);
  const json = (name) => ctx.unwrapResult(ctx.evalCode(`JSON.${name}`));
  const [parse, stringify] = [json("parse"), json("stringify")];
  crossing.bind(parse, stringify);
  const record = "1\n200\n13\n1\ncontent-type\ntext/plain\nHello, world!";
  const fn = ctx.unwrapResult(ctx.evalCode(`(meta) => ${JSON.stringify(record)}`));
  const noop = ctx.unwrapResult(ctx.evalCode(`() => undefined`));
  const meta = `1\nGET\nhttp://127.0.0.1:8080/\nindex.js\nHost\n127.0.0.1:8080`;
  const meta10 = `1\nGET\nhttp://127.0.0.1:8080/\nindex.js\n${BROWSER_HEADERS.join("\n")}`;
  const rows = [
    [
      "newString(meta) + callFunction + getString(record) + dispose + hasPendingJob",
      () => {
        const s = ctx.newString(meta);
        const r = ctx.callFunction(fn, ctx.undefined, s);
        ctx.getString(r.value);
        r.value.dispose();
        s.dispose();
        rt.hasPendingJob();
      },
    ],
    [
      "the same through the crossing: make + call + read",
      () => {
        const s = crossing.make(meta);
        const r = crossing.call(fn, [s]);
        crossing.read(r.value);
        r.value.dispose();
        s.dispose();
        rt.hasPendingJob();
      },
    ],
    [
      "callFunction(() => undefined), no arguments",
      () => ctx.callFunction(noop, ctx.undefined).value.dispose(),
    ],
    ["crossing.call(() => undefined)", () => crossing.call(noop, []).value.dispose()],
    ["newString(meta, 60 chars) + dispose", () => ctx.newString(meta).dispose()],
    ["crossing.make(meta, 60 chars) + dispose", () => crossing.make(meta).dispose()],
    [`newString(meta, ${meta10.length} chars) + dispose`, () => ctx.newString(meta10).dispose()],
    [
      `crossing.make(meta, ${meta10.length} chars) + dispose`,
      () => crossing.make(meta10).dispose(),
    ],
    ["hasPendingJob", () => rt.hasPendingJob()],
  ].map(([label, f]) => ({ label, us: medianCpuPerCall(f) }));
  for (const h of [fn, noop, parse, stringify]) h.dispose();
  ctx.dispose();
  rt.dispose();
  return rows;
}

export async function runQuickjsSteps() {
  progress("quickjs-steps: one sandbox in this process, dispatches and steps inside QuickJS ...");
  const Crossing = await crossingClass();
  const w = wrapQuickJS(Crossing);
  const sb = await newSandbox(siteFiles(PROBES));
  const dispatches = await measureDispatches(sb, w);
  const steps = measureSteps(sb);
  const crossing = await measureCrossing(await newDefaultInstance(), Crossing);
  return { dispatches, steps, crossing };
}

const f1 = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);

export function printQuickjsSteps(r) {
  console.log(
    "\nOne request in a real sandbox, in process (no HTTP): CPU µs per dispatch; then how the " +
      "least-preempted of 40 batches of 100 divides its wall time: QuickJS = inside " +
      "callFunction/the crossing's call/executePendingJobs (the interpreter and the glue), " +
      "host = Node functions the prelude calls from inside (URL parsing, UTF-8), strings = " +
      "newString/getString/newArrayBuffer and the crossing's make/read/buffer (strings.ts), " +
      "Node = the rest of Sandbox.dispatch and the sink",
  );
  printGrid(
    ["request", "CPU µs", "batch µs", "QuickJS", "host", "strings", "Node"],
    r.dispatches.map((d) => [
      d.label,
      f1(d.us),
      f1(d.wallUs),
      f1(d.quickjsUs),
      f2(d.hostUs),
      f2(d.stringsUs),
      f1(d.nodeUs),
    ]),
  );
  console.log(
    "\nSteps inside QuickJS, CPU µs each (a loop in site code, minus the same loop empty)",
  );
  printGrid(
    ["step", "µs"],
    r.steps.map((s) => [s.step, f2(s.us)]),
  );
  console.log("\nThe crossing alone (a plain QuickJS context on the same wasm), µs per call");
  printGrid(
    ["call", "µs"],
    r.crossing.map((c) => [c.label, f2(c.us)]),
  );
}
