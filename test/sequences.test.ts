/**
 * The WebIDL conversions iterate a genuine Array by index while its iteration is the original
 * (src/sandbox/prelude/15-webidl.js). That fast path must answer exactly as the spec path, which
 * runs through the iterator: every odd input below is converted three ways inside QuickJS, with
 * nothing replaced (fast path), with Array.prototype[Symbol.iterator] wrapped and with
 * %ArrayIteratorPrototype%.next wrapped (both doing the same as the originals, but no longer
 * them, so the spec path runs). The results, errors and what a Proxy or getter saw must agree.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, startServer, type RunningServer } from "./helpers.js";

const SITE = String.raw`
const AIP = Object.getPrototypeOf([][Symbol.iterator]());
const origValues = Array.prototype[Symbol.iterator];
const origNext = AIP.next;
let log = [];
const spy = (target, name) => new Proxy(target, {
  get(t, k, r) { log.push(name + ".get " + String(k)); return Reflect.get(t, k, r); },
  ownKeys(t) { log.push(name + ".ownKeys"); return Reflect.ownKeys(t); },
  getOwnPropertyDescriptor(t, k) { log.push(name + ".gopd " + String(k)); return Reflect.getOwnPropertyDescriptor(t, k); },
});
const withLength = (items, length) => new Proxy(items, {
  get(t, k, r) { log.push("get " + String(k)); return k === "length" ? length : Reflect.get(t, k, r); },
});
const noisy = (s) => ({ toString() { log.push("toString " + s); return s; } });

// Each case builds its input afresh (some change as they are read).
const CASES = {
  "plain pairs": () => [["X-A", "1"], ["x-b", " 2 "], ["x-a", "3"]],
  "non-string items": () => [["x-n", 42], ["x-o", noisy("obj")], ["x-null", null], [7, "seven"], ["x-t", true]],
  "a hole for a name": () => [[, "v"]],
  "a hole for a value": () => [["x-h", ,]],
  "a hole for a pair": () => [, ["a", "b"]],
  "a pair of one": () => [["a", "1"], ["b"]],
  "a pair of three": () => [["a", "1", "x"]],
  "an empty pair": () => [[]],
  "a string for a pair": () => ["ab"],
  "null for a pair": () => [null],
  "a pair whose @@iterator is not callable": () => { const p = ["a", "b"]; p[Symbol.iterator] = 1; return [p]; },
  "a pair whose @@iterator is null": () => { const p = ["a", "b"]; p[Symbol.iterator] = null; return [p]; },
  "a pair with its own iterator": () => { const p = ["a", "b"]; p[Symbol.iterator] = function* () { yield "x-own"; yield "own"; }; return [p]; },
  "a Headers instance": () => new Headers([["x-h", "1"], ["x-g", "2"]]),
  "a Headers instance as a pair": () => [new Headers({ a: "1" })],
  "a Set of pairs": () => new Set([["x-s", "1"]]),
  "a Map": () => new Map([["x-m", "1"]]),
  "a generator": () => (function* () { yield ["x-g", "1"]; yield ["x-g2", "2"]; })(),
  "an Array subclass": () => { class A extends Array {} const a = new A(); a.push(A.from(["x-sub", "1"])); return a; },
  "an outer Array with its own iterator": () => { const a = [["a", "1"]]; a[Symbol.iterator] = function* () { yield ["x-it", "2"]; }; return a; },
  "an array-like with Array.prototype.values": () => ({ length: 1, 0: ["x-like", "1"], [Symbol.iterator]: Array.prototype.values }),
  "a typed array pair with Array.prototype.values": () => { const t = new Uint8Array([65, 66]); t[Symbol.iterator] = Array.prototype.values; return [t]; },
  "a Proxy of the pairs": () => spy([["x-p", "1"], spy(["x-q", "2"], "pair")], "outer"),
  "a Proxy whose length is a string": () => withLength([["x-a", "1"], ["x-b", "2"]], "2"),
  "a Proxy whose length is a fraction": () => withLength([["x-a", "1"], ["x-b", "2"]], 1.5),
  "a Proxy whose length is negative": () => withLength([["x-a", "1"]], -1),
  "a Proxy whose length is 2^32 + 1": () => withLength([["x-a", "1"], ["x-b", "2"]], 2 ** 32 + 1),
  "a Proxy whose length is an object": () => withLength([["x-a", "1"]], { valueOf() { log.push("valueOf"); return 1; } }),
  "a Proxy whose length is a BigInt": () => withLength([["x-a", "1"]], 1n),
  "a Proxy whose length is a Symbol": () => withLength([["x-a", "1"]], Symbol("n")),
  "pairs that grow as they are read": () => {
    const a = [["x-a", "1"]];
    Object.defineProperty(a, 1, { get() { log.push("grow"); a.push(["x-c", "3"]); return ["x-b", "2"]; }, enumerable: true, configurable: true });
    return a;
  },
  "pairs that shrink as they are read": () => {
    const a = [["x-a", "1"], ["x-b", "2"], ["x-c", "3"]];
    Object.defineProperty(a, 0, { get() { log.push("shrink"); a.length = 2; return ["x-a", "1"]; }, enumerable: true, configurable: true });
    return a;
  },
  "a pair that grows as it is read": () => {
    const p = ["x-a"];
    Object.defineProperty(p, 0, { get() { p[1] = "late"; return "x-a"; }, enumerable: true, configurable: true });
    return [p];
  },
  "a value that throws": () => [["x-a", { toString() { throw new RangeError("no string"); } }]],
  "an invalid name": () => [["bad name", "x"]],
  "an invalid value": () => [["x-a", "a\nb"]],
  "a value above U+00FF": () => [["x-a", "é€"]],
  "a record": () => ({ "X-R": "1", b: 2, 3: "three" }),
  "a record with a Symbol key": () => ({ a: "1", [Symbol("s")]: "2" }),
  "a record with a hidden key": () => Object.defineProperty({ a: "1" }, "h", { value: "2", enumerable: false }),
  "a record Proxy": () => spy({ "x-a": "1", "x-b": noisy("2") }, "record"),
  "a record with a getter": () => ({ get "x-a"() { log.push("getter"); return "1"; } }),
};

const describeError = (e) => (e && typeof e === "object" ? e.constructor.name + ": " + e.message : "thrown " + String(e));
async function outcome(make, convert) {
  log = [];
  try {
    return { value: await convert(make()), log };
  } catch (e) {
    return { error: describeError(e), log };
  }
}
const CONVERSIONS = {
  Headers: (init) => [...new Headers(init)],
  URLSearchParams: (init) => String(new URLSearchParams(init)),
  Blob: (init) => new Blob(init).text(),
};
const MODES = {
  fast: () => () => {},
  "wrapped @@iterator": () => {
    Array.prototype[Symbol.iterator] = function values() { return origValues.call(this); };
    return () => { Array.prototype[Symbol.iterator] = origValues; };
  },
  "wrapped next": () => {
    AIP.next = function next() { return origNext.call(this); };
    return () => { AIP.next = origNext; };
  },
};

export default async () => {
  const out = {};
  for (const [mode, enter] of Object.entries(MODES)) {
    const results = (out[mode] = {});
    for (const [name, make] of Object.entries(CASES)) {
      for (const [what, convert] of Object.entries(CONVERSIONS)) {
        // Blob's sequence of strings would take every item of a huge length.
        if (what === "Blob" && name.includes("length is")) continue;
        const leave = enter();
        try { results[what + ": " + name] = await outcome(make, convert); } finally { leave(); }
      }
    }
  }
  return Response.json(out);
};
`;

let server: RunningServer;
type Outcome = { value?: unknown; error?: string; log: string[] };
let results: Record<string, Record<string, Outcome>>;

beforeAll(async () => {
  server = await startServer({ sites: { default: { "index.js": SITE } } });
  const r = await request(server.url, "/");
  expect(r.status, r.text + server.stderr()).toBe(200);
  results = JSON.parse(r.text);
});
afterAll(() => server?.close());

describe("WebIDL sequences: the fast path for a genuine Array", () => {
  it("answers every odd input exactly as the spec path does", () => {
    const fast = results.fast;
    expect(Object.keys(fast).length).toBeGreaterThan(100);
    expect(results["wrapped @@iterator"]).toEqual(fast);
    expect(results["wrapped next"]).toEqual(fast);
  });

  it("gives the answers the spec asks for", () => {
    const f = results.fast;
    expect(f["Headers: plain pairs"].value).toEqual([
      ["x-a", "1, 3"],
      ["x-b", "2"],
    ]);
    expect(f["Headers: non-string items"].value).toEqual([
      ["7", "seven"],
      ["x-n", "42"],
      ["x-null", "null"],
      ["x-o", "obj"],
      ["x-t", "true"],
    ]);
    expect(f["Headers: a hole for a name"].value).toEqual([["undefined", "v"]]);
    expect(f["Headers: a hole for a value"].value).toEqual([["x-h", "undefined"]]);
    for (const name of ["a hole for a pair", "a string for a pair", "null for a pair"])
      expect(f["Headers: " + name].error).toBe(
        "TypeError: Headers: each item must be a [name, value] pair",
      );
    for (const name of ["a pair of one", "a pair of three", "an empty pair"])
      expect(f["Headers: " + name].error).toBe(
        "TypeError: Headers: each pair must have exactly two items",
      );
    expect(f["Headers: a pair whose @@iterator is not callable"].error).toBe(
      "TypeError: Headers: @@iterator is not callable",
    );
    expect(f["Headers: a pair with its own iterator"].value).toEqual([["x-own", "own"]]);
    expect(f["Headers: a Headers instance"].value).toEqual([
      ["x-g", "2"],
      ["x-h", "1"],
    ]);
    expect(f["Headers: a Map"].value).toEqual([["x-m", "1"]]);
    expect(f["Headers: an Array subclass"].value).toEqual([["x-sub", "1"]]);
    expect(f["Headers: an outer Array with its own iterator"].value).toEqual([["x-it", "2"]]);
    expect(f["Headers: a typed array pair with Array.prototype.values"].value).toEqual([
      ["65", "66"],
    ]);
    expect(f["Headers: a Proxy of the pairs"].log).toEqual([
      "outer.get Symbol(Symbol.iterator)",
      "outer.get length",
      "outer.get 0",
      "outer.get length",
      "outer.get 1",
      "pair.get Symbol(Symbol.iterator)",
      "pair.get length",
      "pair.get 0",
      "pair.get length",
      "pair.get 1",
      "pair.get length",
      "outer.get length",
    ]);
    expect(f["Headers: a Proxy whose length is a string"].value).toEqual([
      ["x-a", "1"],
      ["x-b", "2"],
    ]);
    expect(f["Headers: a Proxy whose length is a fraction"].value).toEqual([["x-a", "1"]]);
    expect(f["Headers: a Proxy whose length is a BigInt"].error).toMatch(/^TypeError/);
    // QuickJS's array iterator reads the length with ToUint32: 2^32 + 1 is 1.
    expect(f["Headers: a Proxy whose length is 2^32 + 1"].value).toEqual([["x-a", "1"]]);
    expect(f["Headers: pairs that grow as they are read"].value).toEqual([
      ["x-a", "1"],
      ["x-b", "2"],
      ["x-c", "3"],
    ]);
    expect(f["Headers: pairs that shrink as they are read"].value).toEqual([
      ["x-a", "1"],
      ["x-b", "2"],
    ]);
    expect(f["Headers: a pair that grows as it is read"].value).toEqual([["x-a", "late"]]);
    expect(f["Headers: a value that throws"].error).toBe("RangeError: no string");
    expect(f["Headers: an invalid name"].error).toMatch(/^TypeError: Invalid header name/);
    expect(f["Headers: an invalid value"].error).toMatch(/^TypeError: Invalid header value/);
    expect(f["Headers: a record"].value).toEqual([
      ["3", "three"],
      ["b", "2"],
      ["x-r", "1"],
    ]);
    expect(f["Headers: a record with a Symbol key"].error).toBe(
      "TypeError: Headers: a key is a Symbol",
    );
    expect(f["Headers: a record with a hidden key"].value).toEqual([["a", "1"]]);
    expect(f["Headers: a record Proxy"].log).toEqual([
      "record.get Symbol(Symbol.iterator)",
      "record.ownKeys",
      "record.gopd x-a",
      "record.get x-a",
      "record.gopd x-b",
      "record.get x-b",
      "toString 2",
    ]);
    expect(f["URLSearchParams: non-string items"].value).toBe(
      "x-n=42&x-o=obj&x-null=null&7=seven&x-t=true",
    );
    expect(f["URLSearchParams: a value above U+00FF"].value).toBe("x-a=%C3%A9%E2%82%AC");
    expect(f["Blob: a hole for a pair"].value).toBe("undefineda,b");
  });
});
