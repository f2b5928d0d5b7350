/** The pure parts of containment: the timer queue, request scopes, the breaker, log rate, escaping. */
import { describe, expect, it } from "vitest";
import { Breaker, COOL_DOWN_MS } from "../../src/breaker.js";
import { LogRate } from "../../src/log-rate.js";
import { oneLine } from "../../src/log.js";
import { Scopes, WAIT_UNTIL_MS } from "../../src/sandbox/scopes.js";
import { TimerQueue } from "../../src/sandbox/timers.js";

describe("TimerQueue", () => {
  it("takes due timers in due order, then arming order; re-arms intervals unless cleared", () => {
    const q = new TimerQueue();
    q.add(1, 7, 10, false, 0);
    q.add(2, 7, 5, true, 0);
    q.add(3, 8, 5, false, 0);
    expect(q.nextDue()).toBe(5);
    const due = q.takeDue(10, 100);
    expect(due).toEqual([
      { id: 2, owner: 7 },
      { id: 3, owner: 8 },
      { id: 1, owner: 7 },
    ]);
    q.fired([2, 3, 1], 10);
    expect(q.size).toBe(1);
    expect(q.nextDue()).toBe(15);
    q.takeDue(15, 100);
    q.delete(2); // cleared inside its own callback
    q.fired([2], 15);
    expect(q.size).toBe(0);
    expect(q.nextDue()).toBe(Infinity);
  });

  it("counts and drops timers by owner, and stays small when timers are cleared", () => {
    const q = new TimerQueue();
    for (let i = 1; i <= 1000; i++) q.add(i, i % 2, 60_000, false, 0);
    expect(q.countOf(0)).toBe(500);
    expect(q.dropOwner(1)).toHaveLength(500);
    expect(q.countOf(1)).toBe(0);
    for (let i = 2; i <= 1000; i += 2) q.delete(i);
    expect(q.size).toBe(0);
    expect(q.takeDue(Infinity, 10)).toEqual([]);
  });

  it("limits a batch", () => {
    const q = new TimerQueue();
    for (let i = 1; i <= 10; i++) q.add(i, 1, 1, false, 0);
    expect(q.takeDue(1, 4)).toHaveLength(4);
    expect(q.nextDue()).toBe(1);
  });
});

describe("Scopes", () => {
  it("a scope ends with its answer, or when its waitUntil promises settle, or after 30 s", () => {
    const s = new Scopes();
    const a = s.open(1, "a.js");
    expect(s.answer(a, 0)).toBe(true);
    const b = s.open(2, "b.js");
    s.wait(b, 1);
    expect(s.answer(b, 100)).toBe(false);
    expect(s.wait(b, -1)).toBe(true);
    s.delete(b); // the sandbox ends it
    const c = s.open(3, "c.js");
    s.wait(c, 1);
    s.answer(c, 200);
    expect(s.nextDeadline()).toBe(200 + WAIT_UNTIL_MS);
    expect(s.expired(200 + WAIT_UNTIL_MS - 1)).toEqual([]);
    expect(s.expired(200 + WAIT_UNTIL_MS)).toEqual([c]);
  });

  it("a request's log budget: 100 lines or 64 KiB, then counted as dropped", () => {
    const s = new Scopes();
    const a = s.open(1, "a.js");
    let allowed = 0;
    for (let i = 0; i < 150; i++) if (s.allowLog(a, 10)) allowed++;
    expect(allowed).toBe(100);
    expect(a.droppedLines).toBe(50);
    const b = s.open(2, "b.js");
    expect(s.allowLog(b, 60 * 1024)).toBe(true);
    expect(s.allowLog(b, 8 * 1024)).toBe(false);
  });
});

describe("Breaker", () => {
  it("trips after hits in a row cost 2 x --timeout; an answer breaks the streak", () => {
    const b = new Breaker();
    expect(b.kill(300, 300, 0)).toBeNull();
    b.answer();
    expect(b.kill(100, 300, 10)).toBeNull();
    expect(b.kill(300, 300, 20)).toBeNull();
    const trip = b.kill(300, 300, 30);
    expect(trip?.reason).toMatch(/^3 requests in a row hit a limit \(700 ms of site code\)/);
    expect(trip?.coolDownMs).toBe(COOL_DOWN_MS);
    expect(b.refusing(31)).toBe(COOL_DOWN_MS - 1);
    expect(b.refusing(30 + COOL_DOWN_MS)).toBe(0);
  });

  it("a hit soon after a cool-down trips it again, for twice as long", () => {
    const b = new Breaker();
    for (let i = 0; i < 2; i++) b.kill(1000, 1000, 0);
    const again = b.kill(10, 1000, COOL_DOWN_MS + 1000);
    expect(again?.coolDownMs).toBe(2 * COOL_DOWN_MS);
  });

  it("trips when hits take half the last 10 s, even between answers", () => {
    const b = new Breaker();
    let trip = null;
    for (let t = 0; t < 10_000 && trip === null; t += 1000) {
      b.answer();
      trip = b.kill(600, 1000, t);
    }
    expect(trip?.reason).toMatch(/limit hits took \d+ ms of the last 10 s/);
  });
});

describe("LogRate", () => {
  it("lets a site write its lines a second, drops the rest and reports them once", () => {
    const r = new LogRate(10, 1000);
    let ok = 0;
    for (let i = 0; i < 30; i++) if (r.take("s", 10, 0)) ok++;
    expect(ok).toBe(10);
    expect(r.take("other", 10, 0)).toBe(true);
    expect(r.drained(500)).toEqual([{ key: "s", lines: 20, bytes: 200, overMs: 500 }]);
    expect(r.drained(600)).toEqual([]);
    expect(r.take("s", 10, 1000)).toBe(true); // refilled
  });
});

describe("oneLine", () => {
  it("escapes every line break and control character, and backslashes", () => {
    expect(oneLine("a\nb\r\tc\x1b[31m\u2028\\")).toBe("a\\nb\\r\\tc\\x1b[31m\\u2028\\\\");
    expect(oneLine("plain text")).toBe("plain text");
    expect(oneLine("x".repeat(20), 5)).toBe("xxxxx... (15 more characters)");
  });
});
