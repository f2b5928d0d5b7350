import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { symlinkSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeSites, request, startServer, type RunningServer } from "./helpers.js";

const route = (name: string) =>
  `export default { fetch(req) { return new Response(${JSON.stringify(name)} + " " + new URL(req.url).pathname); } };`;

let server: RunningServer;
let outside: string;

beforeAll(async () => {
  const dir = makeSites({
    default: {
      "index.js": route("index"),
      "hello.js": route("hello"),
      "api/time.js": route("api/time"),
      "api/users/index.mjs": route("api/users"),
      "fn.js": `export default (req, env) => new Response("plain function " + env.WHO);`,
      "site.json": JSON.stringify({ vars: { WHO: "ok" } }),
      "_lib/util.js": `export const x = 1; export default () => new Response("private");`,
      "_private/page.js": route("private"),
      "uses-lib.js": `import { x } from "./_lib/util.js"; export default { fetch: () => new Response("lib " + x) };`,
      "public/logo.txt": "static logo",
      "public/hello": "static shadowed by route",
      "README.txt": "not served",
    },
    "example.com": { "index.js": route("example") },
    "spa.test": {
      "app.js": `export default { fetch(req) { return new Response("main " + new URL(req.url).pathname); } };`,
      "site.json": JSON.stringify({ main: "app.js" }),
      "public/app.css": "body{}",
    },
  });
  outside = join(dir, "..", `outside-${process.pid}.js`);
  writeFileSync(outside, route("outside"));
  symlinkSync(outside, join(dir, "default", "linked.js"));
  mkdirSync(join(dir, "default", "public", "sub"));
  symlinkSync("/etc/passwd", join(dir, "default", "public", "sub", "passwd"));
  server = await startServer({ dir });
});
afterAll(() => server?.close());

const get = (path: string, host?: string) =>
  request(server.url, path, { headers: host ? { host } : {} });

describe("file routes", () => {
  it.each([
    ["/", "index /"],
    ["/hello", "hello /hello"],
    ["/hello/", "hello /hello/"],
    ["/api/time", "api/time /api/time"],
    ["/api/users", "api/users /api/users"],
    ["/fn", "plain function ok"],
    ["/uses-lib", "lib 1"],
  ])("%s", async (path, body) => {
    const r = await get(path);
    expect(r.status).toBe(200);
    expect(r.text).toBe(body);
  });

  it("never routes _-prefixed modules, sources or non-modules", async () => {
    for (const p of [
      "/_lib/util",
      "/_lib/util.js",
      "/_private/page",
      "/hello.js",
      "/README.txt",
      "/nope",
    ])
      expect((await get(p)).status, p).toBe(404);
  });

  it("serves public/ files at the URL path, routes first", async () => {
    expect((await get("/logo.txt")).text).toBe("static logo");
    expect((await get("/hello")).text).toBe("hello /hello");
  });
});

describe("virtual hosts", () => {
  it("picks the folder named by Host, port and case ignored", async () => {
    expect((await get("/", "EXAMPLE.com:1234")).text).toBe("example /");
  });
  it("falls back to default", async () => {
    expect((await get("/", "unknown.test")).text).toBe("index /");
  });
  it("routes every path of a main site to main, after public files", async () => {
    expect((await get("/any/path", "spa.test")).text).toBe("main /any/path");
    expect((await get("/app.css", "spa.test")).text).toBe("body{}");
  });
});

describe("containment", () => {
  it.each([
    "/../outside",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2fetc%2fpasswd",
    "/sub/passwd",
    "/linked",
    "/%00",
  ])("%s is a 404", async (path) => {
    const r = await get(path);
    expect(r.status).toBe(404);
    expect(r.text).not.toContain("root:");
    expect(r.text).not.toContain("outside");
  });
});
