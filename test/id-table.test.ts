import { describe, expect, it } from "vitest";
import { IdTable } from "../src/sandbox/id-table.js";

/** A small deterministic generator, so a failure reproduces. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x80000000;
  };
}

describe("IdTable", () => {
  it("sets, gets, overwrites and deletes", () => {
    const t = new IdTable<string>();
    expect(t.get(1)).toBeUndefined();
    t.set(1, "a");
    t.set(9, "b"); // same home slot as 1 in 8 slots
    t.set(1, "c");
    expect([t.get(1), t.get(9), t.size]).toEqual(["c", "b", 2]);
    expect(t.delete(1)).toBe(true);
    expect(t.delete(1)).toBe(false);
    expect([t.get(1), t.get(9), t.size]).toEqual([undefined, "b", 1]);
    expect(t.any()).toBe("b");
    t.clear();
    expect([t.size, t.any(), t.get(9)]).toEqual([0, undefined, undefined]);
  });

  it("agrees with a Map through 100,000 random operations on colliding ids", () => {
    const next = random(7);
    const t = new IdTable<number>();
    const m = new Map<number, number>();
    let id = 0;
    for (let step = 0; step < 100_000; step++) {
      const r = next();
      if (r < 0.45 || m.size === 0) {
        // mostly fresh increasing ids, as a sandbox hands them out; some far apart, some huge
        id += next() < 0.9 ? 1 : Math.floor(next() * 64);
        const key = next() < 0.01 ? id + 2 ** 40 : id;
        t.set(key, step);
        m.set(key, step);
      } else {
        const keys = [...m.keys()];
        const key = next() < 0.1 ? id + 1 : keys[Math.floor(next() * keys.length)]!;
        expect(t.delete(key)).toBe(m.delete(key));
      }
      if (step % 97 === 0) for (const [k, v] of m) expect(t.get(k)).toBe(v);
      expect(t.size).toBe(m.size);
    }
    expect(new Map(t.entries())).toEqual(m);
    expect(t.values().sort((a, b) => a - b)).toEqual([...m.values()].sort((a, b) => a - b));
  });

  it("keeps an old entry findable while many later ones come and go", () => {
    const t = new IdTable<string>();
    t.set(5, "stream"); // an SSE request that stays while thousands pass
    for (let id = 6; id < 50_000; id++) {
      t.set(id, "hello");
      t.delete(id);
    }
    expect([t.get(5), t.size]).toEqual(["stream", 1]);
  });
});
