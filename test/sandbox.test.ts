/**
 * The sandbox in process, without HTTP: the quickjs-emscripten hazards our design relies on, and
 * that an abandoned sandbox really gives its memory back.
 */
import { describe, expect, it } from "vitest";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC } from "quickjs-emscripten";
import type { Sandbox, ResponseSink } from "../src/sandbox/sandbox.js";
import type { SiteboxError } from "../src/errors.js";
import { newSandbox, TEST_LIMITS, TestLog } from "./in-process.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const limits = TEST_LIMITS;
const sandbox = (files: Record<string, string>, log = new TestLog()) => newSandbox(files, { log });

/** Dispatches one GET and resolves with the status (or the error's status). */
function run(sb: Sandbox, route: string): Promise<{ status: number; body?: string }> {
  return new Promise((resolve) => {
    const sink: ResponseSink = {
      head: (status, _h, _k, body) =>
        resolve({ status, body: typeof body === "string" ? body : undefined }),
      chunk: () => true,
      end() {},
      fail: (err: SiteboxError) => resolve({ status: err.status }),
    };
    sb.dispatch({ method: "GET", url: "http://t/", headers: [], body: null, route }, sink);
  });
}

describe("quickjs-emscripten 0.32 hazard (why sandboxes are abandoned, never disposed)", () => {
  it("disposing a runtime after out-of-memory in a promise job still aborts the wasm module", async () => {
    const q = await newQuickJSWASMModuleFromVariant(
      newVariant(RELEASE_SYNC, {
        wasmMemory: new WebAssembly.Memory({ initial: 256, maximum: 512 }),
      }),
    );
    const rt = q.newRuntime();
    const ctx = rt.newContext();
    ctx
      .unwrapResult(
        ctx.evalCode(
          "Promise.resolve().then(() => { const a = []; for (;;) a.push(new Array(1000).fill(1)); })",
        ),
      )
      .dispose();
    rt.executePendingJobs().error?.dispose();
    // If this stops throwing, upstream fixed #257/#269/#235 and disposal could be used again.
    expect(() => {
      ctx.dispose();
      rt.dispose();
    }).toThrow(/list_empty|Aborted/);
  });
});

describe("Sandbox", () => {
  it("a bomb inside a promise job is stopped, the sandbox abandoned, and others keep working", async () => {
    const bomb = await sandbox({
      "b.js":
        "export default async () => { await null; const a = []; for (;;) a.push(new Array(1000).fill(1)); };",
    });
    const fine = await sandbox({ "ok.js": "export default () => new Response('ok');" });
    expect((await run(bomb, "b.js")).status).toBe(503);
    expect(bomb.deadReason).toMatch(/memory/);
    expect(await run(fine, "ok.js")).toEqual({ status: 200, body: "ok" });
  });

  it("abandoned sandboxes give their memory back", async () => {
    const files = {
      "b.js":
        "export default () => { const a = []; for (;;) a.push('x'.repeat(4096) + a.length); };",
    };
    gc();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 20; i++) {
      const sb = await sandbox(files);
      expect((await run(sb, "b.js")).status).toBe(503);
      gc();
    }
    await new Promise((r) => setTimeout(r, 50));
    gc();
    const grownMb = (process.memoryUsage().rss - before) / 1048576;
    // 20 sandboxes each filled to their 32 MB limit: 640 MB if nothing were freed.
    expect(grownMb).toBeLessThan(200);
  }, 60_000);

  it("an interrupted sandbox is abandoned; the deadline is per run of site code", async () => {
    const sb = await sandbox({ "l.js": "export default () => { for (;;) {} };" });
    const t = Date.now();
    const cpu = process.cpuUsage();
    expect((await run(sb, "l.js")).status).toBe(503);
    // CPU time: the wall clock stretches on a loaded machine, up to 10x.
    const used = process.cpuUsage(cpu);
    expect((used.user + used.system) / 1000).toBeLessThan(limits.timeoutMs + 1000);
    expect(Date.now() - t).toBeLessThan(10 * limits.timeoutMs + 1000);
    expect(sb.deadReason).toMatch(/CPU time limit/);
  });

  it("records the modules it loaded (the import graph)", async () => {
    const sb = await sandbox({
      "a.js": "import { x } from './_l/x.js'; export default () => new Response(String(x));",
      "_l/x.js": "import { y } from './y.js'; export const x = y + 1;",
      "_l/y.js": "export const y = 1;",
      "unused.js": "export default () => new Response('u');",
    });
    expect((await run(sb, "a.js")).body).toBe("2");
    expect([...sb.loaded].sort()).toEqual(["_l/x.js", "_l/y.js", "a.js"]);
  });
});
