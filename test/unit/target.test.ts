import { describe, expect, it } from "vitest";
import { isInside } from "../../src/contained-open.js";
import {
  ALWAYS_ADMITTED_BYTES,
  ResponseBudget,
  SITE_RESPONSE_BYTES,
  WORKER_RESPONSE_BYTES,
} from "../../src/response-budget.js";
import { parseTarget } from "../../src/target.js";

describe("parseTarget (RFC 9112 §3.2)", () => {
  it("origin form takes the Host header", () => {
    expect(parseTarget("/a?b=1", "example.com")).toEqual({
      host: "example.com",
      path: "/a?b=1",
      absolute: false,
    });
    expect(parseTarget("/", undefined)).toEqual({ host: undefined, path: "/", absolute: false });
  });
  it("absolute form takes the target's authority over any Host header", () => {
    expect(parseTarget("http://site.test:8080/p?q=1", "other")).toEqual({
      host: "site.test:8080",
      path: "/p?q=1",
      absolute: true,
    });
    expect(parseTarget("HTTPS://Site.Test", "other")?.path).toBe("/");
    expect(parseTarget("http://h?x=1", undefined)?.path).toBe("/?x=1");
    expect(parseTarget("http://user:pw@h/p", undefined)?.host).toBe("h");
    expect(parseTarget("http://[::1]:80/", undefined)?.host).toBe("[::1]:80");
  });
  it("other forms and schemes name no resource here", () => {
    expect(parseTarget("*", "h")).toBeNull();
    expect(parseTarget("h:443", "h")).toBeNull();
    expect(parseTarget("ftp://h/p", "h")).toBeNull();
    expect(parseTarget("http:///p", "h")).toBeNull();
  });
});

describe("isInside", () => {
  it("needs the separator", () => {
    expect(isInside("/s/public", "/s/public/a.txt")).toBe(true);
    expect(isInside("/s/public", "/s/public")).toBe(true);
    expect(isInside("/s/public", "/s/public-evil/a.txt")).toBe(false);
    expect(isInside("/s/public", "/s/other")).toBe(false);
  });
});

describe("ResponseBudget", () => {
  const big = 16 * 1024 * 1024;
  it("admits a lone body of any size, then refuses past the site's bound", () => {
    const b = new ResponseBudget();
    expect(b.refusal("a", 3 * SITE_RESPONSE_BYTES)).toBeNull();
    b.move("a", big);
    expect(b.refusal("a", big)).toBeNull();
    b.move("a", big);
    expect(b.refusal("a", big)).toMatch(/per site/);
    expect(b.refusal("a", ALWAYS_ADMITTED_BYTES)).toBeNull();
    // Another site still has room, until the worker's bound.
    expect(b.refusal("b", big)).toBeNull();
    b.move("b", WORKER_RESPONSE_BYTES - 2 * big);
    expect(b.refusal("c", big)).toMatch(/per worker/);
  });
  it("gives back what was released", () => {
    const b = new ResponseBudget();
    b.move("a", big);
    b.move("a", -big);
    expect(b.held()).toBe(0);
    expect(b.held("a")).toBe(0);
  });
});
