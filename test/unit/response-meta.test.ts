import http from "node:http";
import { describe, expect, it } from "vitest";
import { checkResponseMeta, parseOutboxRecord } from "../../src/sandbox/response-meta.js";

const meta = (value: string) =>
  checkResponseMeta(JSON.stringify({ i: 1, s: 200, h: ["x-a", value], k: "bytes" }));

function nodeAccepts(value: string): boolean {
  try {
    http.validateHeaderValue("x-a", value);
    return true;
  } catch {
    return false;
  }
}

describe("response header values", () => {
  it("are refused exactly when Node's writeHead would throw on them", () => {
    for (let c = 0; c < 0x180; c++) {
      const value = `a${String.fromCharCode(c)}b`;
      expect(typeof meta(value) !== "string", `U+${c.toString(16)}`).toBe(nodeAccepts(value));
    }
    expect(meta("a\u{1F600}b")).toMatch(/U\+D83D is not allowed/);
  });
});

describe("outbox records", () => {
  const record = (id: number, headers: string[], body: string) =>
    `${id}\n200\n${body.length}\n${headers.length / 2}\n` +
    headers.map((h) => h + "\n").join("") +
    body;
  it("a bad header fails its own record; the next one still parses", () => {
    const out = record(1, ["x-a", "\x01"], "one") + record(2, ["x-b", "ok"], "two");
    const first = parseOutboxRecord(out, 0);
    if (typeof first === "string") throw new Error(first);
    expect(first.error).toMatch(/invalid value for header x-a/);
    const second = parseOutboxRecord(out, first.bodyStart + first.bodyLength);
    if (typeof second === "string") throw new Error(second);
    expect(second.error).toBeNull();
    expect(second.meta.headers).toEqual(["x-b", "ok"]);
    expect(out.slice(second.bodyStart, second.bodyStart + second.bodyLength)).toBe("two");
  });
  it("drops framing headers and refuses a non-token name, the second time as the first", () => {
    for (let round = 0; round < 2; round++) {
      const ok = parseOutboxRecord(record(1, ["Connection", "x", "x-a", "1"], "b"), 0);
      if (typeof ok === "string") throw new Error(ok);
      expect(ok.meta.headers).toEqual(["x-a", "1"]);
      const bad = parseOutboxRecord(record(2, ["x y", "1"], "b"), 0);
      if (typeof bad === "string") throw new Error(bad);
      expect(bad.error).toMatch(/invalid header name "x y"/);
    }
  });
  it("a status outside 200-599 fails its record", () => {
    const r = parseOutboxRecord("1\n99\n0\n0\n", 0);
    if (typeof r === "string") throw new Error(r);
    expect(r.error).toMatch(/status 99 is not an integer from 200 to 599/);
  });
  it("broken framing is still a sentence", () => {
    expect(parseOutboxRecord("1\n200\n99\n0\nshort", 0)).toMatch(/truncated/);
  });
});
