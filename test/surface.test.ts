/**
 * The rest of the Workers global surface, from one handler on a real server: URLPattern,
 * performance, navigator, self, global EventTarget, MessageChannel, Error.captureStackTrace,
 * queueMicrotask ordering, structuredClone, URL setters (expected values computed with Node's
 * URL here), WebIDL conversions, DOMException constants, fetch refused. And a module that
 * touches a missing global at load: a message naming the API, in the log and on the status page.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, startServer, type RunningServer, BATCH_ARGS } from "./helpers.js";

/** [href, setter, value]: the spec's state-override corners. */
const SETTER_CASES: [string, string, string][] = [
  ["https://example.com/a", "protocol", "http"],
  ["https://example.com/a", "protocol", "mailto"],
  ["http://example.com:8080/", "protocol", "https"],
  ["file:///tmp/x", "protocol", "http"],
  ["https://example.com/", "username", "us er@:"],
  ["https://example.com/", "password", "p@ss"],
  ["mailto:x@y", "username", "u"],
  ["https://example.com/", "host", "example.org:8443"],
  ["https://example.com/", "host", "a b"],
  ["https://example.com:99/", "hostname", "other.test:1"],
  ["https://example.com/", "host", ""],
  ["foo://h/p", "host", ""],
  ["https://example.com/", "port", "8080abc"],
  ["https://example.com/", "port", "443"],
  ["https://example.com/", "port", "99999"],
  ["https://example.com/a/b", "pathname", "c d/../e?#"],
  ["foo:opaque", "pathname", "x"],
  ["https://example.com/", "pathname", "\\back"],
  ["https://example.com/?a", "search", "b c#d"],
  ["https://example.com/?a", "search", ""],
  ["https://example.com/#a", "hash", "b c"],
  ["https://example.com/#a", "hash", ""],
  ["https://EXAMPLE.com/", "hostname", "[::1]"],
  ["https://example.com/", "href", "http://other.test/x?y#z"],
];

const CHECKS = String.raw`
const checks = [];
const check = async (name, fn) => {
  try { const r = await fn(); checks.push([name, r === true, r === true ? "" : String(r)]); }
  catch (e) { checks.push([name, false, String(e && e.stack || e)]); }
};
const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b) || ("got " + JSON.stringify(a) + " want " + JSON.stringify(b));
const throws = (fn, C) => { try { fn(); return "did not throw"; } catch (e) { return e instanceof C || String(e); } };

export default {
  async fetch(request) {
    const input = await request.json();
    checks.length = 0;
    await check("URLPattern", () => {
      const p = new URLPattern({ pathname: "/books/:id(\\d+)" });
      const m = p.exec("https://example.com/books/42?x");
      return p.test("https://example.com/books/42") && !p.test("https://example.com/books/x") &&
        m.pathname.groups.id === "42" && typeof Object.getOwnPropertyDescriptor(globalThis, "URLPattern").value === "function";
    });
    await check("URLPattern string with base", () => {
      const p = new URLPattern("/api/*", "https://example.com");
      return p.test("https://example.com/api/v1/x") && !p.test("https://other.com/api/v1") && p.hostname === "example.com";
    });
    await check("performance", () => {
      const a = performance.now();
      let x = 0; for (let i = 0; i < 1e5; i++) x += i;
      const b = performance.now();
      return b >= a && a >= 0 && a < 60000 && Math.abs(performance.timeOrigin + b - Date.now()) < 50 &&
        performance instanceof EventTarget && String(performance) === "[object Performance]";
    });
    await check("navigator and self", () => navigator.userAgent === "sitebox" && self === globalThis &&
      String(navigator) === "[object Navigator]");
    await check("EventTarget on the global", () => {
      let got = null;
      const f = (e) => (got = e.type);
      addEventListener("custom", f);
      const r = globalThis.dispatchEvent(new Event("custom"));
      removeEventListener("custom", f);
      dispatchEvent(new Event("custom-2"));
      return got === "custom" && r === true && typeof globalThis.addEventListener === "function";
    });
    await check("MessageChannel", () => new Promise((resolve) => {
      const { port1, port2 } = new MessageChannel();
      const order = [];
      port2.onmessage = (e) => {
        order.push(e.data.n);
        if (order.length === 2) resolve(eq([order, e instanceof MessageEvent, e.data.d instanceof Date], [[1, 2], true, true]));
      };
      port1.postMessage({ n: 1, d: new Date(0) });
      port1.postMessage({ n: 2, d: new Date(0) });
      setTimeout(() => resolve("timed out: " + JSON.stringify(order)), 500);
    }).then((r) => r));
    await check("MessagePort is a task, after microtasks", () => new Promise((resolve) => {
      const { port1, port2 } = new MessageChannel();
      const order = [];
      port2.onmessage = () => { order.push("message"); resolve(eq(order, ["microtask", "message"])); };
      port1.postMessage(1);
      queueMicrotask(() => order.push("microtask"));
    }));
    await check("MessagePort needs start() for listeners", () => new Promise((resolve) => {
      const { port1, port2 } = new MessageChannel();
      let got = false;
      port2.addEventListener("message", () => (got = true));
      port1.postMessage(1);
      setTimeout(() => {
        const before = got;
        port2.start();
        setTimeout(() => resolve(before === false && got === true), 20);
      }, 20);
    }));
    await check("Error.captureStackTrace", () => {
      function Make() { const o = {}; Error.captureStackTrace(o, Make); return o; }
      const o = Make();
      const plain = {};
      Error.captureStackTrace(plain);
      return typeof o.stack === "string" && !o.stack.includes("at Make") && typeof plain.stack === "string" &&
        !Object.keys(plain).includes("stack") && throws(() => Error.captureStackTrace(1), TypeError);
    });
    await check("queueMicrotask ordering", async () => {
      const log = [];
      Promise.resolve().then(() => log.push(1));
      queueMicrotask(() => log.push(2));
      Promise.resolve().then(() => log.push(3));
      setTimeout(() => log.push("t"), 0);
      queueMicrotask(() => { log.push(4); queueMicrotask(() => log.push(5)); });
      await new Promise((r) => setTimeout(r, 10));
      return eq(log, [1, 2, 3, 4, 5, "t"]);
    });
    await check("structuredClone resizable ArrayBuffer", () => {
      const b = new ArrayBuffer(4, { maxByteLength: 16 });
      new Uint8Array(b)[0] = 9;
      const c = structuredClone(b);
      return c.resizable && c.maxByteLength === 16 && new Uint8Array(c)[0] === 9 && c !== b;
    });
    await check("structuredClone transfer", () => {
      const b = new ArrayBuffer(8, { maxByteLength: 8 });
      const u = new Uint8Array(b); u[1] = 5;
      const c = structuredClone({ u }, { transfer: [b] });
      return b.detached && c.u[1] === 5 && c.u.buffer.resizable && throws(() => structuredClone(b, { transfer: [b] }), DOMException);
    });
    await check("structuredClone errors and cycles", () => {
      const e = new RangeError("r", { cause: 1 });
      const o = { e, list: [] };
      o.list.push(o);
      const c = structuredClone(o);
      return c.e instanceof RangeError && c.e.message === "r" && c.e.cause === 1 && c.list[0] === c &&
        throws(() => structuredClone(() => 1), DOMException) && throws(() => structuredClone(Symbol()), DOMException);
    });
    await check("URL setters match Node's", () => {
      const got = input.setters.map(([href, name, value]) => { const u = new URL(href); try { u[name] = value; } catch (e) { return "threw " + e.name; } return u.href; });
      return eq(got, input.expected);
    });
    await check("URL setters keep searchParams in step", () => {
      const u = new URL("https://x/?a=1");
      const sp = u.searchParams;
      u.search = "?b=2";
      sp.append("c", "3");
      return sp.get("b") === "2" && u.href === "https://x/?b=2&c=3";
    });
    await check("Headers: null throws, record order, custom iterators", () => {
      const seen = [];
      const proxy = new Proxy({ a: "1", b: "2" }, {
        ownKeys(t) { seen.push("ownKeys"); return Reflect.ownKeys(t); },
        getOwnPropertyDescriptor(t, k) { seen.push("gopd:" + k); return Reflect.getOwnPropertyDescriptor(t, k); },
        get(t, k) { seen.push("get:" + String(k)); return Reflect.get(t, k); },
      });
      const h = new Headers(proxy);
      const it = { [Symbol.iterator]: function* () { yield new Set(["x-a", "1"]); } };
      const fromIter = new Headers(it);
      return eq(seen, ["get:Symbol(Symbol.iterator)", "ownKeys", "gopd:a", "get:a", "gopd:b", "get:b"]) &&
        h.get("b") === "2" && fromIter.get("x-a") === "1" && throws(() => new Headers(null), TypeError) &&
        throws(() => new Headers([["a"]]), TypeError) && throws(() => new Response("", { headers: null }), TypeError) &&
        throws(() => new Headers({ [Symbol("s")]: "1" }), TypeError) && throws(() => new Headers({ [Symbol.iterator]: 1 }), TypeError);
    });
    await check("URLSearchParams conversions", () => {
      const it = { [Symbol.iterator]: function* () { yield ["a", "1"]; yield new Set(["b"]).add("2"); } };
      return new URLSearchParams(null).toString() === "null=" && new URLSearchParams(it).toString() === "a=1&b=2" &&
        new URLSearchParams({ z: "1", a: "2" }).toString() === "z=1&a=2" && throws(() => new URLSearchParams([["a"]]), TypeError) &&
        new URLSearchParams(new URLSearchParams("x=1")).toString() === "x=1";
    });
    await check("Blob conversions", async () => {
      const order = [];
      const opts = { get endings() { order.push("endings"); return "native"; }, get type() { order.push("type"); return "A/B"; } };
      const b = new Blob({ [Symbol.iterator]: function* () { order.push("parts"); yield "x\r\n"; } }, opts);
      return eq(order, ["parts", "endings", "type"]) && b.type === "a/b" && (await b.text()) === "x\n" &&
        throws(() => new Blob(null), TypeError) && throws(() => new Blob([], 1), TypeError) && new Blob([], null).size === 0;
    });
    await check("Event conversions", () => {
      const order = [];
      const init = { get composed() { order.push("composed"); return 1; }, get bubbles() { order.push("bubbles"); return 0; }, get cancelable() { order.push("cancelable"); return 1; } };
      const e = new Event("x", init);
      return eq(order, ["bubbles", "cancelable", "composed"]) && e.cancelable && e.composed && !e.bubbles &&
        throws(() => new Event("x", 1), TypeError) && new Event("x", null).bubbles === false &&
        throws(() => new Event(Symbol()), TypeError) && new CustomEvent("c", { detail: 3 }).detail === 3;
    });
    await check("DOMException constants", () =>
      DOMException.INDEX_SIZE_ERR === 1 && DOMException.DOMSTRING_SIZE_ERR === 2 && DOMException.VALIDATION_ERR === 16 &&
      DOMException.DATA_CLONE_ERR === 25 && new DOMException("m", "DataCloneError").code === 25 &&
      new DOMException("m", "NetworkError").NETWORK_ERR === 19 && new DOMException("m", "EncodingError").code === 0);
    await check("fetch is refused with a clear TypeError", async () => {
      try { await fetch("https://example.com/"); return "resolved"; }
      catch (e) { return e instanceof TypeError && /outbound network access is not granted/.test(e.message) || String(e); }
    });
    return Response.json({ checks });
  },
};
`;

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    args: BATCH_ARGS,
    sites: {
      default: { "surface.js": CHECKS },
      // A library that reaches for a global at import time: process.env is Node's.
      "broken.test": {
        "site.json": JSON.stringify({ main: "app.js" }),
        "app.js": `import { mode } from "./_lib/config.js";\nexport default { fetch: () => new Response(mode) };`,
        "_lib/config.js": `export const mode = process.env.NODE_ENV;`,
      },
    },
    workers: 1,
  });
});
afterAll(() => server?.close());

describe("the Workers surface", () => {
  let checks: [string, boolean, string][];

  beforeAll(async () => {
    const expected = SETTER_CASES.map(([href, name, value]) => {
      const u = new URL(href);
      try {
        (u as unknown as Record<string, string>)[name] = value;
      } catch (e) {
        return "threw " + (e as Error).name;
      }
      return u.href;
    });
    const r = await request(server.url, "/surface", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ setters: SETTER_CASES, expected }),
    });
    expect(r.status, r.text).toBe(200);
    checks = JSON.parse(r.text).checks;
  });

  it("every check passes", () => {
    expect(checks.filter((c) => !c[1])).toEqual([]);
    expect(checks.length).toBe(21);
  });
});

describe("a module that touches a missing global at load", () => {
  it("fails with a message naming the file and the API, shown on the status page", async () => {
    const r = await request(server.url, "/", { headers: { host: "broken.test" } });
    expect(r.status).toBe(500);
    await server.waitFor(/_lib\/config\.js: uses `process`, which this sandbox does not provide/);
    const status = await request(server.url, "/.sitebox/status.json");
    const site = JSON.parse(status.text).sites.find(
      (s: { site: string }) => s.site === "broken.test",
    );
    expect(site.loadError).toMatch(/_lib\/config\.js: uses `process`/);
    const html = await request(server.url, "/.sitebox/status");
    expect(html.text).toMatch(/load error: (ReferenceError: )?_lib\/config\.js: uses `process`/);
  });
});
