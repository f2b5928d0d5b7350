/**
 * The crossing itself (src/sandbox/host/strings.ts) on a real QuickJS instance: strings written
 * and read straight in the wasm heap stay exact through a scratch block that grows, a string too
 * long for it, a wasm memory that grew (its old buffer detached), and calls go through QTS_Call
 * with the library's result shape. The sandbox-level cases are in strings.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten";
import { Crossing } from "../src/sandbox/host/strings.js";
import { newInstance, type QuickJSInstance } from "../src/sandbox/wasm.js";

const codes = (t: string) => Array.from({ length: t.length }, (_, i) => t.charCodeAt(i));

let instance: QuickJSInstance;
let ctx: QuickJSContext;
let crossing: Crossing;
/** A guest function: the code units of its string argument, as a comma-separated string. */
let unitsOf: QuickJSHandle;

const evalFn = (code: string) => ctx.unwrapResult(ctx.evalCode(code));

beforeAll(async () => {
  instance = await newInstance(256);
  ctx = instance.module.newRuntime().newContext();
  crossing = new Crossing(ctx, instance.memory);
  crossing.bind(evalFn("JSON.parse"), evalFn("JSON.stringify"));
  unitsOf = evalFn(
    "(s) => { const out = []; for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i)); return out.join(','); }",
  );
});
afterAll(() => {
  // Never disposed, as the sandbox's own: the instance goes with its last reference.
});

/** What the guest holds after `make(s)`, seen through the library's own read of ASCII text. */
function guestUnits(s: string): number[] {
  const h = crossing.make(s);
  const r = crossing.call(unitsOf, [h]);
  h.dispose();
  if (r.error) throw new Error(ctx.dump(r.error));
  const text = ctx.getString(r.value);
  r.value.dispose();
  return text === "" ? [] : text.split(",").map(Number);
}

function roundTrip(s: string): string {
  const h = crossing.make(s);
  const out = crossing.read(h);
  h.dispose();
  return out;
}

const SAMPLES = [
  "",
  "plain ascii",
  "caf\u00e9 \u20ac \uD83D\uDE00",
  "\uFEFFleading BOM",
  "a real \uFFFD replacement",
  "nul\0inside\0",
  "lone \uD800 high, \uDC00 low, end\uD83D",
];

describe("the crossing: strings in and out of the wasm heap", () => {
  it("every sample arrives in the guest and comes back exactly", () => {
    for (const s of SAMPLES) {
      expect(guestUnits(s)).toEqual(codes(s));
      expect(codes(roundTrip(s))).toEqual(codes(s));
    }
  });

  it("a string longer than the scratch block grows it; one past its cap gets a block of its own", () => {
    const multi = "\u00fc\u20ac\uD83D\uDE00-".repeat(1500); // 7500 units, 15000 UTF-8 bytes
    const huge = "\u20ac".repeat(100_000) + "\0" + "x"; // 300 KB, and not C-safe: the JSON path
    const wide = "\u20ac".repeat(100_000); // 300 KB, C-safe: a block of its own
    for (const s of [multi, wide, huge, "short after", multi.slice(0, 999)]) {
      expect(guestUnits(s)).toEqual(codes(s));
      expect(roundTrip(s) === s).toBe(true);
    }
  });

  it("strings and calls still cross after the wasm memory grew", () => {
    const before = instance.memory.buffer;
    const big = evalFn("(n) => { globalThis.keep = new Uint8Array(n); return keep.length; }");
    const n = ctx.newNumber(64 * 1024 * 1024);
    const r = crossing.call(big, [n]);
    n.dispose();
    big.dispose();
    expect(r.error).toBeUndefined();
    r.value?.dispose();
    expect(instance.memory.buffer).not.toBe(before);
    expect(before.byteLength).toBe(0); // detached: a view over it would read nothing
    for (const s of SAMPLES) expect(codes(roundTrip(s))).toEqual(codes(s));
    expect(guestUnits("caf\u00e9 after growth")).toEqual(codes("caf\u00e9 after growth"));
  });
});

describe("the crossing: ArrayBuffers", () => {
  it("a buffer arrives as a copy of the view's bytes only, empty ones too", () => {
    const bytesOf = evalFn("(b) => Array.from(new Uint8Array(b)).join(',')");
    const backing = new Uint8Array([9, 9, 1, 2, 0, 255, 9]);
    const views = [backing.subarray(2, 6), new Uint8Array(0), new Uint8Array(70_000).fill(7)];
    for (const view of views) {
      const expected = Array.from(view).join(",");
      const h = crossing.buffer(view);
      view.fill(3); // a copy: the guest does not see later writes
      const r = crossing.call(bytesOf, [h]);
      h.dispose();
      expect(crossing.read(r.value!) === expected).toBe(true);
      r.value!.dispose();
    }
    expect([...backing]).toEqual([9, 9, 3, 3, 3, 3, 9]);
    bytesOf.dispose();
  });
});

describe("the crossing: calls through QTS_Call", () => {
  it("passes arguments in order and returns the value, or the thrown error", () => {
    const join = evalFn("(...a) => a.join('|')");
    const args = Array.from({ length: 20 }, (_, i) => crossing.make(`a${i}`));
    for (const n of [0, 1, 3, 16, 20]) {
      const r = crossing.call(join, args.slice(0, n));
      expect(r.error).toBeUndefined();
      expect(crossing.read(r.value!)).toBe(Array.from({ length: n }, (_, i) => `a${i}`).join("|"));
      r.value!.dispose();
    }
    args.forEach((h) => h.dispose());
    join.dispose();
    const thrower = evalFn("() => { throw new RangeError('no \\u20ac') }");
    const r = crossing.call(thrower, []);
    expect(r.error).toBeDefined();
    expect(ctx.dump(r.error!)).toMatchObject({ name: "RangeError", message: "no \u20ac" });
    r.error!.dispose();
    thrower.dispose();
  });

  it("refuses a disposed handle before running anything", () => {
    const count = evalFn("(() => { let n = 0; return () => ++n; })()");
    const gone = crossing.make("x");
    gone.dispose();
    expect(() => crossing.call(count, [gone])).toThrow(/not alive/);
    const r = crossing.call(count, []);
    expect(ctx.getNumber(r.value!)).toBe(1);
    r.value!.dispose();
    count.dispose();
  });
});

describe("the crossing: start-up check", () => {
  it("a context on another memory is refused with a clear error", async () => {
    const other = await newInstance(64);
    expect(() => new Crossing(ctx, other.memory)).toThrow(/quickjs-emscripten internals changed/);
  });

  it("before it is bound, strings cross through the library", async () => {
    const fresh = await newInstance(64);
    const c2 = fresh.module.newRuntime().newContext();
    const unbound = new Crossing(c2, fresh.memory);
    const h = unbound.make("caf\u00e9");
    expect(unbound.read(h)).toBe("caf\u00e9");
    h.dispose();
  });
});
