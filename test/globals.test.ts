/**
 * Every global the sandbox promises, exercised from a real handler on a real server. Each check
 * runs inside QuickJS and reports [name, ok, detail]; the test asserts every one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { request, startServer, type RunningServer, BATCH_ARGS } from "./helpers.js";

const CHECKS = String.raw`
const checks = [];
const check = async (name, fn) => {
  try { const r = await fn(); checks.push([name, r === true, r === true ? "" : String(r)]); }
  catch (e) { checks.push([name, false, String(e && e.stack || e)]); }
};
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

export default {
  async fetch(request, env, ctx) {
    checks.length = 0;
    await check("Request basics", async () => {
      const u = new URL(request.url);
      return request.method === "POST" && u.pathname === "/globals" && u.searchParams.get("q") === "1 2" &&
        request.headers.get("x-test") === "a, b" && (await request.text()) === "body=1&x=%C3%A9" && request.bodyUsed;
    });
    await check("Request formData", async () => {
      const r = new Request("http://x/", { method: "POST", body: "a=1&b=%C3%A9&a=2",
        headers: { "content-type": "application/x-www-form-urlencoded" } });
      const f = await r.formData();
      return f.getAll("a").join() === "1,2" && f.get("b") === "é";
    });
    await check("Request json/arrayBuffer/clone", async () => {
      const r = new Request("http://x/", { method: "PUT", body: JSON.stringify({ a: [1] }) });
      const c = r.clone();
      return (await r.json()).a[0] === 1 && new Uint8Array(await c.arrayBuffer()).length === 9;
    });
    await check("Response", async () => {
      const r = new Response("hi", { status: 201, headers: { "x-a": "1" } });
      const c = r.clone();
      return r.status === 201 && r.ok && (await r.text()) === "hi" && r.bodyUsed && (await c.text()) === "hi";
    });
    await check("Response.json", async () => {
      const r = Response.json({ a: 1 }, { status: 202 });
      return r.status === 202 && r.headers.get("content-type").startsWith("application/json") && (await r.json()).a === 1;
    });
    await check("Response.redirect", () => {
      const r = Response.redirect("http://x/y", 301);
      let threw = false;
      try { Response.redirect("http://x/", 200); } catch { threw = true; }
      return r.status === 301 && r.headers.get("location") === "http://x/y" && threw;
    });
    // A body string is a USVString: a lone surrogate reads back as U+FFFD, every way.
    await check("Response text of a lone surrogate", async () =>
      (await new Response("a\uD800").text()) === "a\uFFFD" &&
      (await new Response(JSON.stringify("\uD800")).json()) === "\uD800" &&
      (await new Request("http://x/", { method: "POST", body: "\uD800" }).text()) === "\uFFFD" &&
      (await new Response("\uD800").clone().text()) === "\uFFFD");
    await check("Response body stream", async () => {
      const r = new Response("abc");
      const reader = r.body.getReader();
      let n = 0;
      for (;;) { const { done, value } = await reader.read(); if (done) break; n += value.length; }
      return n === 3;
    });
    await check("Headers", () => {
      const h = new Headers([["Set-Cookie", "a=1"], ["set-cookie", "b=2"], ["X-B", "1"]]);
      h.append("x-b", "2");
      let threw = false;
      try { h.set("x-c", "a\r\nb"); } catch { threw = true; }
      return h.get("x-b") === "1, 2" && h.getSetCookie().join("|") === "a=1|b=2" && h.has("X-B") && threw;
    });
    await check("ReadableStream", async () => {
      let i = 0;
      const s = new ReadableStream({ pull(c) { i < 3 ? c.enqueue(i++) : c.close(); } });
      const got = [];
      for await (const v of s) got.push(v);
      return got.join() === "0,1,2";
    });
    await check("Blob", async () => {
      const b = new Blob(["ab", new Uint8Array([99])], { type: "text/plain" });
      return b.size === 3 && b.type === "text/plain" && (await b.text()) === "abc" && (await b.slice(1).text()) === "bc";
    });
    await check("FormData", () => {
      const f = new FormData();
      f.append("a", "1"); f.append("a", "2"); f.set("b", "3");
      return f.getAll("a").length === 2 && f.get("b") === "3" && [...f.keys()].join() === "a,a,b";
    });
    await check("AbortController", () => {
      const c = new AbortController();
      let fired = false;
      c.signal.addEventListener("abort", () => (fired = true));
      c.abort("why");
      return c.signal.aborted && c.signal.reason === "why" && fired;
    });
    await check("URL", () => {
      const u = new URL("../b?x=1#h", "https://user@example.com:8443/a/c");
      return u.href === "https://user@example.com:8443/b?x=1#h" && u.port === "8443" && u.origin === "https://example.com:8443";
    });
    await check("URLSearchParams", () => {
      const p = new URLSearchParams("a=1&b=x+y&a=%26");
      p.append("c", "é &");
      return p.getAll("a").join() === "1,&" && p.get("b") === "x y" && p.toString() === "a=1&b=x+y&a=%26&c=%C3%A9+%26";
    });
    await check("TextEncoder/TextDecoder", () => {
      const bytes = new TextEncoder().encode("é€");
      return bytes.length === 5 && new TextDecoder().decode(bytes) === "é€";
    });
    await check("atob/btoa", () => btoa("hello") === "aGVsbG8=" && atob("aGVsbG8=") === "hello");
    await check("crypto.getRandomValues", () => {
      const a = crypto.getRandomValues(new Uint8Array(32));
      return a.some((x) => x !== 0);
    });
    await check("crypto.randomUUID", () => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()));
    await check("crypto.subtle.digest", async () => {
      const d = {};
      for (const alg of ["SHA-1", "SHA-256", "SHA-384", "SHA-512"])
        d[alg] = hex(await crypto.subtle.digest(alg, new TextEncoder().encode("abc")));
      globalThis.__digests = d;
      return true;
    });
    await check("structuredClone", () => {
      const o = { d: new Date(5), m: new Map([[1, { x: 1 }]]), s: new Set([1]) };
      o.self = o;
      const c = structuredClone(o);
      return c !== o && c.self === c && c.d.getTime() === 5 && c.m.get(1).x === 1 && c.s.has(1);
    });
    await check("queueMicrotask", () => new Promise((r) => queueMicrotask(() => r(true))));
    await check("setTimeout/clearTimeout", () => new Promise((r) => {
      const t = setTimeout(() => r("cleared timer fired"), 5);
      clearTimeout(t);
      setTimeout((a, b) => r(a + b === 3), 10, 1, 2);
    }));
    await check("console", () => { console.log("console works", { a: 1 }); return true; });
    await check("env and ctx", () => { ctx.waitUntil(Promise.resolve()); return env.NAME === "globals-site"; });
    return Response.json({ checks, digests: globalThis.__digests });
  },
};
`;

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    args: BATCH_ARGS,
    sites: {
      default: {
        "globals.js": CHECKS,
        "site.json": JSON.stringify({ vars: { NAME: "globals-site" } }),
      },
    },
  });
});
afterAll(() => server?.close());

describe("sandbox globals", () => {
  let result: { checks: [string, boolean, string][]; digests: Record<string, string> };

  beforeAll(async () => {
    const r = await request(server.url, "/globals?q=1%202", {
      method: "POST",
      headers: { "x-test": ["a", "b"], "content-type": "application/x-www-form-urlencoded" },
      body: "body=1&x=%C3%A9",
    });
    expect(r.status).toBe(200);
    result = JSON.parse(r.text);
  });

  it("all checks ran", () => {
    expect(result.checks.length).toBe(25);
  });

  it.each([
    "Request basics",
    "Request formData",
    "Request json/arrayBuffer/clone",
    "Response",
    "Response.json",
    "Response.redirect",
    "Response body stream",
    "Response text of a lone surrogate",
    "Headers",
    "ReadableStream",
    "Blob",
    "FormData",
    "AbortController",
    "URL",
    "URLSearchParams",
    "TextEncoder/TextDecoder",
    "atob/btoa",
    "crypto.getRandomValues",
    "crypto.randomUUID",
    "crypto.subtle.digest",
    "structuredClone",
    "queueMicrotask",
    "setTimeout/clearTimeout",
    "console",
    "env and ctx",
  ])("%s", (name) => {
    const c = result.checks.find((x) => x[0] === name);
    expect(c, name).toBeDefined();
    expect(c![2]).toBe("");
    expect(c![1]).toBe(true);
  });

  it("digests match Node's", () => {
    for (const [alg, node] of [
      ["SHA-1", "sha1"],
      ["SHA-256", "sha256"],
      ["SHA-384", "sha384"],
      ["SHA-512", "sha512"],
    ])
      expect(result.digests[alg!]).toBe(createHash(node!).update("abc").digest("hex"));
  });

  it("console output reaches stderr tagged with site and worker", async () => {
    await server.waitFor(
      /console\.log worker=\d+ site=default route=globals\.js: console works \{ a: 1 \}/,
    );
  });
});
