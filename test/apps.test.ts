/**
 * Real apps from npm, bundled by esbuild the way Workers apps are, served by sitebox and checked
 * end to end: a Hono app with cors, etag, secure-headers, streamSSE and a multipart parseBody,
 * and a React page streamed by renderToReadableStream.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "esbuild";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, request, startServer, tempDir, type RunningServer, BATCH_ARGS } from "./helpers.js";

const HONO = `
import { Hono } from "hono";
import { cors } from "hono/cors";
import { etag } from "hono/etag";
import { secureHeaders } from "hono/secure-headers";
import { streamSSE } from "hono/streaming";

const app = new Hono();
app.use("*", secureHeaders());
app.use("/api/*", cors({ origin: "https://app.example" }));
app.use("/etag/*", etag());
app.get("/api/hello", (c) => c.json({ hello: "world" }));
app.get("/etag/page", (c) => c.text("stable content"));
app.post("/upload", async (c) => {
  const body = await c.req.parseBody();
  const file = body.file;
  return c.json({ title: body.title, name: file.name, type: file.type, size: file.size, text: await file.text() });
});
app.get("/sse", (c) =>
  streamSSE(c, async (stream) => {
    for (let i = 0; i < 3; i++) {
      await stream.writeSSE({ event: "tick", id: String(i), data: "n=" + i });
      await stream.sleep(5);
    }
  }),
);
export default app;
`;

const REACT = `
import { createElement as h, Suspense, use } from "react";
import { renderToReadableStream } from "react-dom/server";

const later = new Promise((r) => setTimeout(() => r("loaded later"), 10));
function Late() { return h("p", { id: "late" }, use(later)); }
function Page({ name }) {
  return h("html", null, h("body", null,
    h("h1", null, "Hello, ", name),
    h("ul", null, ["a", "b"].map((x) => h("li", { key: x }, x))),
    h(Suspense, { fallback: h("p", null, "loading") }, h(Late))));
}

export default {
  async fetch(request) {
    const name = new URL(request.url).searchParams.get("name") ?? "world";
    const stream = await renderToReadableStream(h(Page, { name }));
    return new Response(stream, { headers: { "content-type": "text/html; charset=utf-8" } });
  },
};
`;

let server: RunningServer;
let work: string;

async function bundle(source: string, site: string): Promise<void> {
  const dir = join(work, "sites", site);
  mkdirSync(dir, { recursive: true });
  const entry = join(work, `${site}.src.js`);
  writeFileSync(entry, source);
  await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    define: { "process.env.NODE_ENV": '"production"' },
    nodePaths: [join(ROOT, "node_modules")],
    outfile: join(dir, "app.js"),
    logLevel: "silent",
  });
  writeFileSync(join(dir, "site.json"), JSON.stringify({ main: "app.js" }));
}

beforeAll(async () => {
  work = tempDir("sitebox-apps-");
  await bundle(HONO, "hono.test");
  await bundle(REACT, "react.test");
  server = await startServer({
    args: BATCH_ARGS,
    dir: join(work, "sites"),
    workers: 1,
  });
});

afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

const get = (host: string, path: string, headers: Record<string, string> = {}) =>
  request(server.url, path, { headers: { host, ...headers } });

describe("a Hono app", () => {
  it("cors answers a preflight and tags responses", async () => {
    const pre = await request(server.url, "/api/hello", {
      method: "OPTIONS",
      headers: {
        host: "hono.test",
        origin: "https://app.example",
        "access-control-request-method": "GET",
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers["access-control-allow-origin"]).toBe("https://app.example");
    const r = await get("hono.test", "/api/hello", { origin: "https://app.example" });
    expect(JSON.parse(r.text)).toEqual({ hello: "world" });
    expect(r.headers["access-control-allow-origin"]).toBe("https://app.example");
  });

  it("secure-headers sets its headers", async () => {
    const r = await get("hono.test", "/api/hello");
    expect(r.headers["x-content-type-options"]).toBe("nosniff");
    expect(r.headers["x-frame-options"]).toBe("SAMEORIGIN");
    expect(r.headers["strict-transport-security"]).toMatch(/max-age=/);
  });

  it("etag hashes the body (crypto.subtle.digest) and answers 304", async () => {
    const r = await get("hono.test", "/etag/page");
    const tag = r.headers.etag as string;
    expect(tag).toMatch(/^"[0-9a-f]{40}"$/);
    const again = await get("hono.test", "/etag/page", { "if-none-match": tag });
    expect(again.status).toBe(304);
  });

  it("parseBody reads a multipart upload", async () => {
    const fd = new FormData();
    fd.append("title", "Report ü");
    fd.append("file", new Blob(["file body"], { type: "text/plain" }), "r.txt");
    // Node's FormData makes the bytes; the test client sends them (fetch cannot set Host).
    const prepared = new Response(fd);
    const r = await request(server.url, "/upload", {
      method: "POST",
      headers: { host: "hono.test", "content-type": prepared.headers.get("content-type")! },
      body: Buffer.from(await prepared.arrayBuffer()),
    });
    expect(r.status, r.text).toBe(200);
    expect(JSON.parse(r.text)).toEqual({
      title: "Report ü",
      name: "r.txt",
      type: "text/plain",
      size: 9,
      text: "file body",
    });
  });

  it("streamSSE streams events", async () => {
    const r = await get("hono.test", "/sse");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(r.text).toBe([0, 1, 2].map((i) => `event: tick\ndata: n=${i}\nid: ${i}\n\n`).join(""));
  });
});

describe("a React page", () => {
  it("renderToReadableStream streams the page, suspense boundary included", async () => {
    const r = await get("react.test", "/?name=Ada");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(r.text).toMatch(/^<!DOCTYPE html><html><head>/);
    expect(r.text).toContain("<h1>Hello, <!-- -->Ada</h1>");
    expect(r.text).toContain("<li>a</li><li>b</li>");
    expect(r.text).toContain("loaded later");
  });

  it("logs no errors", () => {
    expect(server.stderr()).not.toMatch(/error/i);
  });
});
