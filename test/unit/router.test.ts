import { describe, expect, it } from "vitest";
import {
  buildRouteIndex,
  decodePath,
  isRouteFile,
  matchRoute,
  routePath,
  siteForHost,
} from "../../src/router.js";

describe("decodePath", () => {
  it("splits and decodes", () => {
    expect(decodePath("/a/b%20c?x=1")).toEqual(["a", "b c"]);
    expect(decodePath("/")).toEqual([]);
    expect(decodePath("//a///b/")).toEqual(["a", "b"]);
  });
  it("refuses climbing out, however spelled", () => {
    for (const p of [
      "/../x",
      "/a/../../x",
      "/%2e%2e/x",
      "/a/%2E%2E/b",
      "/.%2e/x",
      "/a%2f..%2f..%2fetc",
    ])
      expect(decodePath(p), p).toBeNull();
  });
  it("refuses malformed encodings, NUL and backslashes", () => {
    expect(decodePath("/%zz")).toBeNull();
    expect(decodePath("/a%00b")).toBeNull();
    expect(decodePath("/a%5c..%5cb")).toBeNull();
    expect(decodePath("relative")).toBeNull();
  });
});

describe("routes", () => {
  it("knows route files", () => {
    expect(isRouteFile("hello.js")).toBe(true);
    expect(isRouteFile("api/time.mjs")).toBe(true);
    expect(isRouteFile("_lib/x.js")).toBe(false);
    expect(isRouteFile("api/_x.js")).toBe(false);
    expect(isRouteFile("public/app.js")).toBe(false);
    expect(isRouteFile("readme.txt")).toBe(false);
  });
  it("maps files to paths", () => {
    expect(routePath("index.js")).toBe("/");
    expect(routePath("hello.js")).toBe("/hello");
    expect(routePath("api/time/index.mjs")).toBe("/api/time");
  });
  it("resolves conflicts deterministically", () => {
    const idx = buildRouteIndex(["a/index.js", "a.mjs", "a.js", "b/index.mjs", "b/index.js"], null);
    expect(matchRoute(idx, ["a"])).toBe("a.js");
    expect(matchRoute(idx, ["b"])).toBe("b/index.js");
    expect(matchRoute(idx, ["c"])).toBeNull();
  });
  it("sends everything to main when set", () => {
    const idx = buildRouteIndex(["app.js", "x.js"], "app.js");
    expect(matchRoute(idx, ["x"])).toBe("app.js");
    expect(matchRoute(idx, [])).toBe("app.js");
  });
});

describe("siteForHost", () => {
  const sites = new Set(["default", "example.com"]);
  it("matches case-insensitively and ignores the port", () => {
    expect(siteForHost("Example.COM:8080", sites)).toBe("example.com");
    expect(siteForHost("example.com.", sites)).toBe("example.com");
  });
  it("falls back to default", () => {
    expect(siteForHost("other.org", sites)).toBe("default");
    expect(siteForHost(undefined, sites)).toBe("default");
    expect(siteForHost("..", sites)).toBe("default");
    expect(siteForHost("[::1]:80", sites)).toBe("default");
    expect(siteForHost("x.org", new Set(["example.com"]))).toBeNull();
  });
});
