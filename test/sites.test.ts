/**
 * The bundled sites/ folder, served by the real CLI: every example a newcomer clicks on works.
 * Served from a copy so the test never touches the repo's files.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT, request, startServer, tempDir, type RunningServer } from "./helpers.js";
import { DEMOS } from "../src/demo/index.js";

let server: RunningServer;
let dir: string;

const HTML = "text/html; charset=utf-8";

beforeAll(async () => {
  dir = tempDir("sitebox-sites-");
  cpSync(join(ROOT, "sites"), dir, { recursive: true });
  // --debug-headers: x-sitebox-worker tells which process answered (for the per-worker counter).
  server = await startServer({ dir, args: ["--debug-headers"] });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (path: string, headers?: Record<string, string>) =>
  request(server.url, path, { headers });

describe("sites/default", () => {
  it("GET / is an HTML index linking every example, the logo and the stylesheet", async () => {
    const res = await get("/");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe(HTML);
    expect(res.text).toMatch(/^<!doctype html>/i);
    expect(res.text).toContain("sitebox");
    for (const link of [
      "/hello",
      "/api/time",
      "/form",
      "/logo.svg",
      "/style.css",
      "/.sitebox/status",
    ])
      expect(res.text, link).toMatch(new RegExp(`href="${link.replace(/\./g, "\\.")}[?"]`));
    expect(res.text).toContain('<link rel="stylesheet" href="/style.css">');
    expect(res.text).toContain('<img src="/logo.svg"');
    expect(res.text).toContain("sitebox demo");
    expect(res.text).toContain("Host: example.com");
  });

  it("GET /hello greets ?name= escaped and shows the time", async () => {
    const res = await get("/hello?name=" + encodeURIComponent(`<script>alert("x")</script>`));
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe(HTML);
    expect(res.text).toContain("Hello, &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;!");
    expect(res.text).not.toContain("<script>");
    expect(res.text).toContain(String(new Date().getUTCFullYear()));
    const plain = await get("/hello");
    expect(plain.text).toContain("Hello, world!");
  });

  it("GET /hello counts visits per worker process", async () => {
    const seen = new Map<string, number[]>();
    for (let i = 0; i < 8; i++) {
      const res = await request(server.url, "/hello", { fresh: true });
      const worker = String(res.headers["x-sitebox-worker"]);
      const count = Number(/<strong>(\d+)<\/strong>/.exec(res.text)?.[1]);
      expect(count).toBeGreaterThan(0);
      seen.set(worker, [...(seen.get(worker) ?? []), count]);
    }
    // Each worker keeps its own counter, rising by one per visit it served.
    for (const counts of seen.values())
      for (let i = 1; i < counts.length; i++) expect(counts[i]).toBe(counts[i - 1]! + 1);
  });

  it("GET /api/time answers JSON from Response.json with a helper from _lib/", async () => {
    const before = Date.now();
    const res = await get("/api/time");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json\b/);
    const body = JSON.parse(res.text) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["iso", "unix", "utc"]);
    expect(body.iso).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const ms = Date.parse(body.iso as string);
    expect(Math.abs(ms - before)).toBeLessThan(60_000);
    expect(body.unix).toBe(Math.floor(ms / 1000));
    expect(body.utc).toBe(new Date(ms).toUTCString());
  });

  it("GET /form shows a form that posts to itself", async () => {
    const res = await get("/form");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe(HTML);
    expect(res.text).toContain('<form method="post" action="/form">');
    expect(res.text).toContain('name="name"');
    expect(res.text).toContain('name="message"');
  });

  it("POST /form reads the urlencoded body and echoes the values escaped", async () => {
    const body = new URLSearchParams({
      name: "<b>Ada</b>",
      message: `1 < 2 & "quotes" + ünïcode`,
    }).toString();
    const res = await request(server.url, "/form", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe(HTML);
    expect(res.text).toContain("Thanks, &lt;b&gt;Ada&lt;/b&gt;!");
    expect(res.text).toContain("1 &lt; 2 &amp; &quot;quotes&quot; + ünïcode");
    expect(res.text).not.toContain("<b>Ada");
  });

  it("POST /form without a name re-shows the form with 422; PUT is 405", async () => {
    const res = await request(server.url, "/form", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "name=&message=kept%20%3Ctext%3E",
    });
    expect(res.status).toBe(422);
    expect(res.text).toContain("Please give a name");
    expect(res.text).toContain("kept &lt;text&gt;</textarea>");
    const put = await request(server.url, "/form", { method: "PUT", body: "x" });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe("GET, HEAD, POST");
  });

  it("serves public/logo.svg and public/style.css with their types", async () => {
    const logo = await get("/logo.svg");
    expect(logo.status).toBe(200);
    expect(logo.headers["content-type"]).toBe("image/svg+xml; charset=utf-8");
    expect(logo.text).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const css = await get("/style.css");
    expect(css.status).toBe(200);
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect(css.text).toContain("body {");
  });

  it("never routes _lib/: /_lib/format and /_lib/format.js are 404", async () => {
    for (const path of ["/_lib/format", "/_lib/format.js", "/_lib/layout", "/_lib"]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(res.text, path).not.toContain("escapeHtml");
    }
    expect((await get("/no-such-page")).status).toBe(404);
  });
});

describe("the index page links the demonstrations", () => {
  it("names every demo in the registry", async () => {
    const r = await request(server.url, "/");
    for (const d of DEMOS) expect(r.text, d.name).toContain(`<code>${d.name}</code>`);
  });
});

describe("sites/example.com", () => {
  it("answers for Host: example.com (any port) with the GREETING var from site.json", async () => {
    for (const host of ["example.com", "example.com:8080", "EXAMPLE.COM"]) {
      const res = await get("/", { host });
      expect(res.status, host).toBe(200);
      expect(res.headers["content-type"], host).toBe("text/plain; charset=utf-8");
      expect(res.text, host).toBe(
        `Hello from example.com!\nYou asked ${host.toLowerCase()} for /.\n`,
      );
    }
  });

  it("leaves other host names to sites/default", async () => {
    const res = await get("/", { host: "other.test" });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe(HTML);
    expect(res.text).not.toContain("Hello from example.com");
  });
});
