import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerV8Flags } from "../src/worker-flags.js";
import { request, sleep, startServer, type RunningServer } from "./helpers.js";

const h = (body: string) => `export default { async fetch(request) { ${body} } };`;

let server: RunningServer;

const hog = (name: string, handler: string) => ({
  [name]: { "index.js": handler, "ok.js": h("return new Response('ok');") },
});

beforeAll(async () => {
  server = await startServer({
    args: ["--timeout", "200", "--wall-timeout", "1500", "--memory", "32", "--max-body", "1000"],
    sites: {
      // Each limit-hitting handler has a site of its own: a site whose requests keep hitting
      // limits is refused for a cool-down (contain-sandbox.test.ts), which is not tested here.
      ...hog("loop", h("while (true) {}")),
      ...hog("loop-once", h("while (true) {}")),
      ...hog("async-loop", h("for (;;) { await null; }")),
      ...hog("bomb", h("const a = []; for (;;) a.push(new Array(1000).fill(1));")),
      ...hog(
        "string-bomb",
        h("const keep = []; for (;;) keep.push('x'.repeat(65536) + keep.length);"),
      ),
      default: {
        "recurse.js": h("const f = (n) => f(n + 1) + 1; return new Response(String(f(0)));"),
        "recurse-caught.js": h(`
          const f = (n) => f(n + 1) + 1;
          try { return new Response(String(f(0))); } catch (e) { return new Response(e.name + ": " + e.message); }`),
        "never.js": h("await new Promise(() => {});"),
        "sleep.js": h(
          "await new Promise((r) => setTimeout(r, 60000)); return new Response('late');",
        ),
        "nonresponse.js": h("return { status: 200, body: 'fake' };"),
        "undefined.js": "export default { fetch() {} };",
        "throws.js": h("throw new Error('secret detail 42');"),
        "rejects.js": h("return Promise.reject(new TypeError('secret rejection'));"),
        "crlf.js": h(
          "const r = new Response('x'); return new Response('x', { headers: { 'x-a': 'a\\r\\nset-cookie: evil=1' } });",
        ),
        "escape.js": h(`
          const out = {};
          out.process = typeof process;
          out.require = typeof require;
          out.host = typeof globalThis.__host;
          out.fnProcess = new Function("return typeof process")();
          out.globalThisKeys = Object.getOwnPropertyNames(globalThis).filter((k) => /^(__host|require|process|Buffer|fs|module|exports|global)$/.test(k));
          for (const spec of ["node:fs", "fs", "/etc/passwd", "../other/secret.js", "./../../x.js"]) {
            try { await import(spec); out[spec] = "imported"; } catch (e) { out[spec] = String(e.message); }
          }
          return Response.json(out);`),
        "echo.js": h("return new Response(await request.text());"),
        "ok.js": h("return new Response('ok');"),
      },
      healthy: { "index.js": h("return new Response('healthy');") },
      tampered: {
        "index.js": h(`
          Object.prototype.toJSON = () => "hacked";
          JSON.stringify = () => "{}";
          Array.prototype.push = null;
          Response.prototype.constructor = null;
          globalThis.Response = function () { return { status: 200 } };
          return new Response("tampered");`),
      },
      other: { "secret.js": "export const secret = 'other site secret';" },
      tight: {
        "site.json": JSON.stringify({ limits: { timeout: 20, "max-body": 10 } }),
        "spin.js": h(
          "let x = 0; for (let i = 0; i < 5e7; i++) x += i; return new Response('done ' + x);",
        ),
        "echo.js": h("return new Response(await request.text());"),
      },
    },
  });
});
afterAll(() => server?.close());

const get = (path: string, host?: string, opts: Parameters<typeof request>[2] = {}) =>
  request(server.url, path, {
    ...opts,
    headers: { ...(host ? { host } : {}), ...(opts.headers ?? {}) },
  });

/** Keeps a healthy site busy while `during` runs; every healthy answer must be a 200. */
async function whileHealthy<T>(during: () => Promise<T>): Promise<T> {
  let stop = false;
  const statuses: number[] = [];
  const load = (async () => {
    while (!stop) {
      const r = await get("/", "healthy");
      statuses.push(r.status);
      expect(r.text).toBe("healthy");
    }
  })();
  const loads = [
    load,
    (async () => {
      while (!stop) statuses.push((await get("/ok")).status);
    })(),
  ];
  try {
    return await during();
  } finally {
    while (statuses.length < 4) await sleep(5);
    stop = true;
    await Promise.all(loads);
    expect(statuses.length).toBeGreaterThan(3);
    expect(statuses.every((s) => s === 200)).toBe(true);
  }
}

describe("hostile handlers get their status; everyone else keeps being served", () => {
  it.each([
    ["loop", 503],
    ["async-loop", 503],
    ["bomb", 503],
    ["string-bomb", 503],
    ["/never", 504],
    ["/sleep", 504],
    ["/nonresponse", 500],
    ["/undefined", 500],
    ["/throws", 500],
    ["/rejects", 500],
    ["/crlf", 500],
  ])("%s → %i", async (path, status) => {
    const r = await whileHealthy(() => (path.startsWith("/") ? get(path) : get("/", path)));
    expect(r.status).toBe(status);
    expect(r.text).not.toMatch(/secret|at |\.js:\d/);
    expect(r.headers["set-cookie"]).toBeUndefined();
  });

  it("deep recursion is QuickJS's catchable error, and the sandbox survives it", async () => {
    const r = await whileHealthy(() => get("/recurse"));
    // Workers raise V8's stack only where RLIMIT_STACK leaves room (src/worker-flags.ts); with
    // Node's own, V8's limit comes first and costs the sandbox, which must still be clean.
    if (!workerV8Flags([], "").some((f) => f.startsWith("--stack-size="))) {
      expect([500, 503]).toContain(r.status);
      expect((await get("/ok")).status).toBe(200);
      return;
    }
    expect(r.status).toBe(500);
    const caught = await get("/recurse-caught");
    expect(caught.status).toBe(200);
    expect(caught.text).toBe("InternalError: stack overflow");
    expect((await get("/ok")).status).toBe(200);
    // Not V8's stack limit trapping inside the wasm, which aborts the interpreter.
    expect(server.stderr()).not.toMatch(/site=default: (interpreter aborted|sandbox abandoned)/);
    // The log has the runaway frame once, counted, not thousands of times.
    await server.waitFor(
      /route=recurse\.js: handler failed: InternalError: stack overflow\\n {4}at f \(recurse\.js:1:\d+\)\\n {4}\.\.\. the line above \d{3,} more times/,
    );
  });

  it("the error log names site, route and message; the client sees none of it", async () => {
    await get("/throws");
    await server.waitFor(
      /error worker=\d+ site=default route=throws\.js: handler failed: Error: secret detail 42/,
    );
  });

  it("prototype tampering breaks only that sandbox's own responses", async () => {
    const r = await get("/", "tampered");
    expect([200, 500]).toContain(r.status);
    expect((await get("/", "healthy")).text).toBe("healthy");
    expect((await get("/ok")).text).toBe("ok");
  });

  it("nothing outside the sandbox is reachable", async () => {
    const r = await get("/escape");
    expect(r.status).toBe(200);
    const out = JSON.parse(r.text);
    expect(out.process).toBe("undefined");
    expect(out.require).toBe("undefined");
    expect(out.host).toBe("undefined");
    expect(out.fnProcess).toBe("undefined");
    expect(out.globalThisKeys).toEqual([]);
    expect(out["node:fs"]).toMatch(/cannot import "node:fs"/);
    expect(out["fs"]).toMatch(/only relative imports/);
    expect(out["/etc/passwd"]).toMatch(/only relative imports/);
    expect(out["../other/secret.js"]).toMatch(/outside the site/);
    expect(out["./../../x.js"]).toMatch(/outside the site/);
  });

  it("a sandbox stopped at a limit is rebuilt for the next request", async () => {
    expect((await get("/", "loop-once")).status).toBe(503);
    expect((await get("/ok", "loop-once")).status).toBe(200);
  });
});

describe("request bodies", () => {
  it("are delivered intact", async () => {
    const r = await get("/echo", undefined, { method: "POST", body: "héllo wörld" });
    expect(r.text).toBe("héllo wörld");
  });
  it("over --max-body get 413 (declared or chunked)", async () => {
    expect((await get("/echo", undefined, { method: "POST", body: "x".repeat(1001) })).status).toBe(
      413,
    );
    const chunked = await get("/echo", undefined, {
      method: "POST",
      body: "y".repeat(5000),
      headers: { "transfer-encoding": "chunked" },
    });
    expect(chunked.status).toBe(413);
  });
});

describe("site.json limits override the flags for that site only", () => {
  it("a tighter timeout and body limit", async () => {
    expect((await get("/spin", "tight")).status).toBe(503);
    expect((await get("/echo", "tight", { method: "POST", body: "x".repeat(11) })).status).toBe(
      413,
    );
    expect((await get("/echo", undefined, { method: "POST", body: "x".repeat(11) })).status).toBe(
      200,
    );
  });
});

describe("the workers survive all of it", () => {
  it("no worker died", async () => {
    await sleep(100);
    expect(server.stderr()).not.toMatch(/died|exited during start-up/);
  });
});
