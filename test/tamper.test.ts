/**
 * The server's own code inside the sandbox is tamper-proof: a site that replaces the built-ins
 * (prototype methods, getters, JSON, globals) still gets its response delivered exactly, and a
 * site that tries to make the host frame a different response gets what it asked for, read once,
 * or a clean 500. A healthy site beside it is unaffected.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, startServer, type RunningServer } from "./helpers.js";

/**
 * Replaces every method and getter in `targets` with one that throws, so any use by the
 * prelude fails the request. Originals the handlers need are captured first and exported.
 */
const tamperModule = (targets: string, when: "at load" | "in the handler" = "at load") => `
export const R = Response, RS = ReadableStream, TE = TextEncoder, P = Promise, U8 = Uint8Array;
export const MAP = new Map([[1, "one"]]);
export const BYTES = new Uint8Array([0, 1, 2, 255, 254, 10, 13]);
const dp = Object.defineProperty, gp = Object.getPrototypeOf, keys = Reflect.ownKeys;
const S = String, E = Error;
const boom = (what) => function () { throw new E("tampered " + S(what) + " was used"); };
const TA = gp(Uint8Array.prototype);
const ArrayIterator = gp([][Symbol.iterator]());
let done = false;
export const locked = [];
export function tamper() {
if (done) return;
done = true;
const targets = [${targets}];
for (let t = 0; t < targets.length; t++) {
  const obj = targets[t][0], names = targets[t][1], getters = targets[t][2];
  for (let i = 0; i < names.length; i++) dp(obj, names[i], { value: boom(names[i]), writable: true, configurable: true });
  for (let i = 0; getters && i < getters.length; i++) dp(obj, getters[i], { get: boom(getters[i]), configurable: true });
}
// Locked by the prelude, since every promise reaction looks them up: the attempt fails.
try { Promise.prototype.constructor = 1; } catch { locked[locked.length] = "constructor"; }
try { dp(Promise, Symbol.species, { get: () => 1 }); } catch { locked[locked.length] = "species"; }
globalThis.Response = boom("Response");
globalThis.Headers = boom("Headers");
globalThis.ReadableStream = boom("ReadableStream");
globalThis.Uint8Array = boom("Uint8Array");
globalThis.Map = boom("Map");
globalThis.Promise = boom("Promise");
globalThis.String = boom("String");
globalThis.Symbol = boom("Symbol");
globalThis.TypeError = boom("TypeError");
}
${when === "at load" ? "tamper();" : ""}
`;

/** What the prelude's streams (the vendored reference implementation) leave alone. */
const COMMON = `
  [Array.prototype, ["join", "map", "forEach", "filter", "indexOf", "includes", "concat", "sort", "fill", "splice", "unshift", "pop", Symbol.iterator]],
  [ArrayIterator, ["next"]],
  [String.prototype, ["split", "toLowerCase", "toUpperCase", "slice", "substring", "indexOf", "charCodeAt", "replace", "trim", "toWellFormed", "isWellFormed", "startsWith", "endsWith", "padStart", "toString", Symbol.iterator]],
  [Map.prototype, ["get", "set", "has", "delete", "forEach"], ["size"]],
  [Set.prototype, ["add", "has", "delete"], ["size"]],
  [WeakMap.prototype, ["get", "set", "has", "delete"]],
  [WeakSet.prototype, ["add", "has", "delete"]],
  [Promise.prototype, ["then", "catch", "finally"]],
  [Promise, ["resolve", "reject", "all", "race"]],
  [RegExp.prototype, ["exec", "test", Symbol.replace, Symbol.split, Symbol.match]],
  [TA, ["set", "subarray", "slice"], ["buffer", "byteOffset", "byteLength", "length"]],
  [ArrayBuffer.prototype, ["slice"], ["byteLength"]],
  [ArrayBuffer, ["isView"]],
  [JSON, ["stringify", "parse"]],
  [Error.prototype, ["toString"]],
`;
/** And what they use, so only a site whose responses are not streams may replace it. */
const ALL =
  COMMON +
  `
  [Array.prototype, ["push", "shift", "slice"]],
  [Function.prototype, ["call", "apply", "bind"]],
  [Object.prototype, ["hasOwnProperty", "propertyIsEnumerable", "toString"]],
  [Object, ["defineProperty", "defineProperties", "keys", "freeze", "create", "getPrototypeOf", "setPrototypeOf", "assign", "entries", "hasOwn", "getOwnPropertyDescriptor"]],
  [Reflect, ["ownKeys", "apply"]],
`;

const route = (body: string) =>
  `import { R, RS, TE, P, U8, MAP, BYTES, tamper } from "./_lib/tamper.js";\n${body}`;

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    sites: {
      "tamper.test": {
        "_lib/tamper.js": tamperModule(ALL),
        "text.js": route(
          `export default () => new R("hello\\nworld", { status: 201, headers: { "x-one": "1", "X-Two": "two" } });`,
        ),
        "locked.js": `import { R, locked } from "./_lib/tamper.js";
          export default async () => { await null; return new R(locked[0] + "," + locked[1]); };`,
        "json.js": route(`export default () => R.json({ a: [1, "é"] }, { status: 202 });`),
        "bytes.js": route(
          `export default () => new R(BYTES, { headers: { "content-type": "application/x-test" } });`,
        ),
        "async.js": route(`export default async (req) => {
          await null;
          const body = await req.text();
          const form = await new R("a=1&b=%C3%A9", { headers: { "content-type": "application/x-www-form-urlencoded" } }).formData();
          const q = new URL(req.url).searchParams.get("q");
          return new R(req.method + " " + body + " " + form.get("b") + " " + req.headers.get("X-Test") + " " + q, { headers: { "set-cookie": "a=1" } });
        };`),
        // Timers, a host operation (WebCrypto settles later), waitUntil and the console.
        "ops.js": route(`export default async (req, env, ctx) => {
          console.log("ops log", { a: [1, "x"], m: MAP }, BYTES);
          await new P((r) => setTimeout(r, 5));
          const d = new U8(await crypto.subtle.digest("SHA-256", BYTES));
          ctx.waitUntil(new P((r) => setTimeout(r, 5)));
          return new R("digest " + d[0] + " " + d[31]);
        };`),
        "empty.js": route(`export default () => new R(null, { status: 204 });`),
        // Its streams break (the reference implementation calls what it replaced).
        "stream.js": route(
          `export default () => new R(new RS({ start(c) { c.enqueue("never sent"); c.close(); } }));`,
        ),
        "throws.js": route(`export default () => { throw new Error("plain failure"); };`),
      },
      "stream.test": {
        "_lib/tamper.js": tamperModule(COMMON),
        "stream.js": route(`export default () => {
          let n = 0;
          const body = new RS({
            pull(c) {
              n++;
              if (n === 1) c.enqueue("text chunk\\n");
              else if (n === 2) c.enqueue(BYTES);
              else if (n === 3) c.enqueue(new TE().encode("é"));
              else c.close();
            },
          });
          return new R(body, { headers: { "x-stream": "yes" } });
        };`),
        "big.js": route(`const s = "0123456789abcdef".repeat(8192);
          export default () => new R(s);`),
      },
      "frame.test": {
        // The status is read once: a getter that changes between reads gets its first answer.
        "status.js": `export default () => { let n = 0; return new Response("s", { get status() { return ++n === 1 ? 201 : 999; } }); };`,
        // A Headers subclass whose iterator and get lie: its real list is what is sent.
        "headers.js": `class Liar extends Headers {
            *[Symbol.iterator]() { yield ["transfer-encoding", "chunked"]; yield ["x-evil", "1"]; }
            get() { return "lie"; }
            forEach(f) { f("evil", "x-evil"); }
          }
          export default () => new Response("h", { headers: new Liar({ "x-real": "1" }) });`,
        // A record whose value changes between reads: read once, so the first value is sent.
        "record.js": `export default () => { let k = 0; return new Response("r", { headers: { get "x-a"() { return ++k === 1 ? "ok" : "bad\\r\\nx-evil: 1"; } } }); };`,
        // A header value that smuggles a line break fails that request, nothing else.
        "inject.js": `export default () => new Response("i", { headers: { "x-a": "a\\nx-evil: 1" } });`,
        // A typed array whose own length getters lie: its real bytes are sent.
        "bytes.js": `export default () => {
            const u8 = new Uint8Array([1, 2, 3]);
            Object.defineProperty(u8, "byteLength", { get: () => 1000 });
            Object.defineProperty(u8, "byteOffset", { get: () => 7 });
            Object.defineProperty(u8, "buffer", { get: () => new ArrayBuffer(4096) });
            return new Response(u8);
          };`,
        // A body whose string conversion changes between calls: converted once.
        "tostring.js": `export default () => { let m = 0; return new Response({ toString() { return ++m === 1 ? "short" : "a much longer string"; } }); };`,
        // A thenable that answers twice: the first answer is the one sent.
        "twice.js": `export default () => ({ then(ok) { ok(new Response("first")); ok(new Response("second, longer")); } });`,
        // A stream chunk whose own getters lie about its bytes.
        "chunk.js": `export default () => new Response(new ReadableStream({ start(c) {
            const u8 = new TextEncoder().encode("chunk");
            Object.defineProperty(u8, "byteLength", { get: () => 1 << 20 });
            Object.defineProperty(u8, "buffer", { get: () => new ArrayBuffer(8) });
            c.enqueue(u8); c.close();
          } }));`,
        // URLSearchParams serialisation is the prelude's own, not a replaced toString.
        "params.js": `URLSearchParams.prototype.toString = () => ({ kind: "text", data: { length: 3 }, stream: null, used: false });
          export default () => new Response(new URLSearchParams("a=1&b=2"));`,
        // A promise whose own constructor getter throws: then throws, the request fails.
        "ctor.js": `export default () => {
            const p = Promise.resolve(new Response("c"));
            Object.defineProperty(p, "constructor", { get() { throw new Error("ctor getter"); } });
            return p;
          };`,
        // A thenable whose then is the original, on something that is no promise.
        "borrowed.js": `export default () => ({ then: Promise.prototype.then });`,
        // Not a Response at all, though it looks like one.
        "proxy.js": `export default () => new Proxy(new Response("p"), {});`,
      },
      // Tampers inside its first handler call, after its module and the request are set up.
      "late.test": {
        "_lib/tamper.js": tamperModule(ALL, "in the handler"),
        "index.js": route(`export default async (req) => {
          tamper();
          const text = await req.text();
          return new R("late " + text + " " + new URL(req.url).searchParams.get("q"), { status: 202, headers: { "x-late": "1" } });
        };`),
      },
      // Its own array iteration: a Headers init of pairs goes through it (the spec path, so
      // observably), while the fast path serves the untouched realms.
      "iterator.test": {
        "_lib/iter.js": `export const counts = { iterator: 0, next: 0 };
          const values = Array.prototype[Symbol.iterator];
          Array.prototype[Symbol.iterator] = function* () {
            counts.iterator++;
            for (let i = 0; i < this.length; i++) yield this[i] === "secret" ? "from-site-iterator" : this[i];
          };`,
        "index.js": `import { counts } from "./_lib/iter.js";
          export default (req) => {
            const before = counts.iterator;
            const h = new Headers([["x-a", "secret"], ["x-b", "2"]]);
            const seen = counts.iterator - before;
            return new Response(h.get("x-a") + " " + seen + " " + req.headers.get("x-test"), { headers: [["x-pair", "secret"]] });
          };`,
        "record.js": `import "./_lib/iter.js";
          export default (req) => new Response("record " + req.headers.get("x-test"), { status: 201, headers: { "x-rec": "secret" } });`,
      },
      "next.test": {
        "_lib/next.js": `export const counts = { next: 0 };
          const AIP = Object.getPrototypeOf([][Symbol.iterator]());
          const next = AIP.next;
          AIP.next = function () {
            counts.next++;
            const r = next.call(this);
            if (r.value === "secret") r.value = "from-site-next";
            return r;
          };`,
        "index.js": `import { counts } from "./_lib/next.js";
          export default (req) => {
            const before = counts.next;
            const h = new Headers([["x-a", "secret"], ["x-b", "2"]]);
            const params = new URLSearchParams([["q", "secret"]]);
            const seen = counts.next - before;
            return new Response(h.get("x-a") + " " + params + " " + seen, { headers: [["x-pair", "secret"]] });
          };`,
        // Replaced with one that throws: only this site's own pairs conversion fails.
        "throws.js": `const AIP = Object.getPrototypeOf([][Symbol.iterator]());
          export default () => {
            const next = AIP.next;
            AIP.next = () => { throw new Error("site next"); };
            let msg = "none";
            try { new Headers([["x-a", "1"]]); } catch (e) { msg = e.message; }
            const h = new Headers({ "x-a": "1" });
            AIP.next = next;
            return new Response(msg + ", " + h.get("x-a"), { headers: { "x-rec": "1" } });
          };`,
      },
      "ok.test": {
        "index.js": `export default () => new Response("healthy");`,
        "pairs.js": `export default () => { const h = new Headers([["x-a", "secret"], ["X-B", "2"]]); return new Response(h.get("x-a"), { headers: [["x-pair", "secret"]] }); };`,
      },
    },
  });
});
afterAll(() => server?.close());

const get = (host: string, path: string, opts: { method?: string; body?: string } = {}) =>
  request(server.url, path, {
    ...opts,
    headers: { host, "x-test": "header value" },
  });

async function healthy() {
  const r = await get("ok.test", "/");
  expect(r.status).toBe(200);
  expect(r.text).toBe("healthy");
}

describe("a site that replaces the built-ins the server relies on", () => {
  it("gets its text response, status and headers delivered exactly", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await get("tamper.test", "/text");
      expect(r.status, r.text).toBe(201);
      expect(r.text).toBe("hello\nworld");
      expect(r.headers["x-one"]).toBe("1");
      expect(r.headers["x-two"]).toBe("two");
      expect(r.headers["content-type"]).toBe("text/plain;charset=UTF-8");
      expect(r.headers["content-length"]).toBe("11");
    }
    await healthy();
  });

  it("cannot replace what every promise reaction looks up", async () => {
    const r = await get("tamper.test", "/locked");
    expect(r.status, server.stderr()).toBe(200);
    expect(r.text).toBe("constructor,species");
  });

  it("gets Response.json, bytes and an empty body delivered exactly", async () => {
    const j = await get("tamper.test", "/json");
    expect(j.status, j.text).toBe(202);
    expect(j.text).toBe('{"a":[1,"é"]}');
    expect(j.headers["content-type"]).toBe("application/json");
    const b = await get("tamper.test", "/bytes");
    expect(b.status, b.text).toBe(200);
    expect([...b.body]).toEqual([0, 1, 2, 255, 254, 10, 13]);
    expect(b.headers["content-type"]).toBe("application/x-test");
    expect(b.headers["content-length"]).toBe("7");
    const e = await get("tamper.test", "/empty");
    expect(e.status).toBe(204);
    expect(e.body.length).toBe(0);
  });

  it("reads its request (body, headers, form data) and answers from an async handler", async () => {
    const r = await get("tamper.test", "/async?q=query", { method: "POST", body: "posted" });
    expect(r.status, server.stderr()).toBe(200);
    expect(r.text).toBe("POST posted é header value query");
    expect(r.headers["set-cookie"]).toEqual(["a=1"]);
  });

  it("has its timers, host operations, waitUntil and console working", async () => {
    const r = await get("tamper.test", "/ops");
    expect(r.status, server.stderr()).toBe(200);
    const d = createHash("sha256")
      .update(Buffer.from([0, 1, 2, 255, 254, 10, 13]))
      .digest();
    expect(r.text).toBe(`digest ${d[0]} ${d[31]}`);
    await server.waitFor(
      /ops log \{ a: \[ 1, 'x' \], m: Map\(1\) \{ 1 => 'one' \} \} Uint8Array\(7\)/,
    );
  });

  it("that it replaces inside its handler, request after request", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await get("late.test", "/?q=" + i, { method: "POST", body: "b" + i });
      expect(r.status, server.stderr()).toBe(202);
      expect(r.text).toBe(`late b${i} ${i}`);
      expect(r.headers["x-late"]).toBe("1");
      expect(r.headers["content-length"]).toBe(String(r.text.length));
    }
    await healthy();
  });

  it("still fails cleanly with its own error when its handler throws", async () => {
    const r = await get("tamper.test", "/throws");
    expect(r.status).toBe(500);
    await server.waitFor(/plain failure/);
    await healthy();
  });

  it("that its streams rely on loses only that streamed body", async () => {
    const outcome = await get("tamper.test", "/stream").then(
      (r) => `status ${r.status}, ${r.body.includes("never sent") ? "sent" : "not sent"}`,
      () => "aborted",
    );
    expect(["aborted", "status 500, not sent"]).toContain(outcome);
    expect((await get("tamper.test", "/text")).status).toBe(201);
    await healthy();
  });

  it("gets a streamed body, text and bytes, delivered exactly", async () => {
    const r = await get("stream.test", "/stream");
    expect(r.status, r.text).toBe(200);
    expect(r.headers["x-stream"]).toBe("yes");
    expect([...r.body]).toEqual([
      ...Buffer.from("text chunk\n"),
      ...[0, 1, 2, 255, 254, 10, 13],
      ...Buffer.from("é"),
    ]);
    const big = await get("stream.test", "/big");
    expect(big.status).toBe(200);
    expect(big.text).toBe("0123456789abcdef".repeat(8192));
    await healthy();
  });
});

describe("a site that replaces its own array iteration", () => {
  it("has a Headers init of pairs go through its Array.prototype[Symbol.iterator]", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await get("iterator.test", "/");
      expect(r.status, r.text + server.stderr()).toBe(200);
      // The outer sequence and each of its two pairs: three iterations, all the site's own.
      expect(r.text).toBe("from-site-iterator 3 header value");
      expect(r.headers["x-pair"]).toBe("from-site-iterator");
      expect(r.headers["content-length"]).toBe(String(r.text.length));
    }
    const rec = await get("iterator.test", "/record");
    expect(rec.status, rec.text).toBe(201);
    expect(rec.text).toBe("record header value");
    expect(rec.headers["x-rec"]).toBe("secret");
    await healthy();
  });

  it("has a Headers init of pairs go through its %ArrayIteratorPrototype%.next", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await get("next.test", "/");
      expect(r.status, r.text + server.stderr()).toBe(200);
      // next calls: Headers 3 for the outer (two pairs, then the end) and 3 per pair; the
      // URLSearchParams 2 for the outer and 3 for its pair.
      expect(r.text).toBe("from-site-next q=from-site-next 14");
      expect(r.headers["x-pair"]).toBe("from-site-next");
    }
    const t = await get("next.test", "/throws");
    expect(t.status, t.text).toBe(200);
    expect(t.text).toBe("site next, 1");
    expect(t.headers["x-rec"]).toBe("1");
  });

  it("cannot change another site's pairs", async () => {
    const r = await get("ok.test", "/pairs");
    expect(r.status).toBe(200);
    expect(r.text).toBe("secret");
    expect(r.headers["x-pair"]).toBe("secret");
    await healthy();
  });
});

describe("a site that tries to make the host frame a different response", () => {
  it("has its status read once", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await get("frame.test", "/status");
      expect(r.status).toBe(201);
      expect(r.text).toBe("s");
    }
  });

  it("sends the real header list of a Headers subclass that lies", async () => {
    const r = await get("frame.test", "/headers");
    expect(r.status, r.text).toBe(200);
    expect(r.headers["x-real"]).toBe("1");
    expect(r.headers["x-evil"]).toBeUndefined();
    expect(r.headers["transfer-encoding"]).toBeUndefined();
    expect(r.headers["content-length"]).toBe("1");
  });

  it("has a header record's values read once", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await get("frame.test", "/record");
      expect(r.status, r.text).toBe(200);
      expect(r.headers["x-a"]).toBe("ok");
      expect(r.headers["x-evil"]).toBeUndefined();
    }
  });

  it("fails a header value with a line break with a clean 500", async () => {
    const r = await get("frame.test", "/inject");
    expect(r.status).toBe(500);
    expect(r.headers["x-evil"]).toBeUndefined();
  });

  it("sends a typed array's real bytes whatever its own getters say", async () => {
    const r = await get("frame.test", "/bytes");
    expect(r.status, r.text).toBe(200);
    expect([...r.body]).toEqual([1, 2, 3]);
    expect(r.headers["content-length"]).toBe("3");
    const c = await get("frame.test", "/chunk");
    expect(c.status).toBe(200);
    expect(c.text).toBe("chunk");
  });

  it("converts a body to a string once", async () => {
    const r = await get("frame.test", "/tostring");
    expect(r.status).toBe(200);
    expect(r.text).toBe("short");
    expect(r.headers["content-length"]).toBe("5");
  });

  it("sends the first of two answers from a thenable", async () => {
    const r = await get("frame.test", "/twice");
    expect(r.status).toBe(200);
    expect(r.text).toBe("first");
    expect(r.headers["content-length"]).toBe("5");
  });

  it("serializes URLSearchParams itself", async () => {
    const r = await get("frame.test", "/params");
    expect(r.status, r.text).toBe(200);
    expect(r.text).toBe("a=1&b=2");
    expect(r.headers["content-type"]).toBe("application/x-www-form-urlencoded;charset=UTF-8");
  });

  it("fails a promise whose then throws, or a borrowed then, with a clean 500", async () => {
    for (const path of ["/ctor", "/borrowed"]) {
      const r = await get("frame.test", path);
      expect(r.status, path).toBe(500);
    }
    await server.waitFor(/ctor getter/);
    await healthy();
  });

  it("answers a Proxy of a Response with a clean 500", async () => {
    const r = await get("frame.test", "/proxy");
    expect(r.status).toBe(500);
  });

  it("leaves the worker and the other sites serving", async () => {
    for (let i = 0; i < 4; i++) await healthy();
    const r = await get("tamper.test", "/text");
    expect(r.status).toBe(201);
    expect(server.stderr()).not.toMatch(/bad response record|worker .* exited|interpreter aborted/);
  });
});
