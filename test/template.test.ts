/**
 * Sandboxes booted from a copy of the worker's template (src/sandbox/boot.ts): they must behave
 * exactly as if they had evaluated the prelude themselves, and share nothing per-sandbox.
 */
import { describe, expect, it } from "vitest";
import type { Log } from "../src/log.js";
import { Sandbox, type ResponseSink } from "../src/sandbox/sandbox.js";
import type { SiteboxError } from "../src/errors.js";

const quietLog: Log = {
  access() {},
  error() {},
  console() {},
  info() {},
  flush() {},
};

function sandbox(files: Record<string, string>, memoryMb = 32) {
  return Sandbox.create({
    site: "t",
    generation: 1,
    files,
    settings: {
      main: null,
      vars: { who: "env" },
      limits: { timeoutMs: 500, wallTimeoutMs: 5000, memoryMb, maxBodyBytes: 1000 },
    },
    worker: 0,
    log: quietLog,
  });
}

function run(sb: Sandbox, route: string): Promise<{ status: number; body?: string }> {
  return new Promise((resolve) => {
    const sink: ResponseSink = {
      head: (status, _h, _k, body) =>
        resolve({ status, body: typeof body === "string" ? body : undefined }),
      chunk() {},
      end() {},
      fail: (err: SiteboxError) => resolve({ status: err.status }),
    };
    sb.dispatch({ method: "GET", url: "http://t/x?q=1", headers: [], body: null, route }, sink);
  });
}

const h = (body: string) => `export default { async fetch(request, env) { ${body} } };`;

describe("sandboxes booted from the template", () => {
  it("are copies, and answer as an evaluated prelude would", async () => {
    const files = {
      "a.js": h(`
        const u = new URL(request.url);
        const r = new Response(JSON.stringify({ q: u.searchParams.get("q"), who: env.who,
          enc: [...new TextEncoder().encode("é")], b: btoa("hi"), ev: new Event("x").type }));
        return new Response(await r.text(), { headers: { "x-a": "1" } });`),
    };
    const a = await sandbox(files);
    const b = await sandbox(files, 64);
    expect(a.fromTemplate).toBe(true);
    expect(b.fromTemplate).toBe(true);
    const want = JSON.stringify({ q: "1", who: "env", enc: [195, 169], b: "aGk=", ev: "x" });
    expect(await run(a, "a.js")).toEqual({ status: 200, body: want });
    expect(await run(b, "a.js")).toEqual({ status: 200, body: want });
  });

  it("each draw their own Math.random sequence", async () => {
    const files = { "r.js": h("return new Response(String([Math.random(), Math.random()]));") };
    const bodies = new Set<string | undefined>();
    for (let i = 0; i < 4; i++) bodies.add((await run(await sandbox(files), "r.js")).body);
    expect(bodies.size).toBe(4);
    for (const body of bodies)
      for (const x of body!.split(",").map(Number)) expect(x >= 0 && x < 1).toBe(true);
  });

  it("keep their own memory cap and CPU deadline", async () => {
    const files = {
      "bomb.js": h("const a = []; for (;;) a.push(new Array(1000).fill(1));"),
      "loop.js": h("for (;;) {}"),
      "ok.js": h("return new Response('ok');"),
    };
    const small = await sandbox(files, 16);
    expect(small.fromTemplate).toBe(true);
    expect((await run(small, "bomb.js")).status).toBe(503);
    const spin = await sandbox(files);
    expect((await run(spin, "loop.js")).status).toBe(503);
    expect((await run(await sandbox(files), "ok.js")).body).toBe("ok");
  });
});
