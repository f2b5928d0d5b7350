/**
 * A web-standards framework runs unmodified: a Hono app, bundled by esbuild into one ES module
 * and named as the site's "main", answers every route through sitebox.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, request, startServer, tempDir, type RunningServer } from "./helpers.js";

const APP = `
import { Hono } from "hono";

const app = new Hono();

// Middleware: runs around every route, including the 404 handler.
app.use("*", async (c, next) => {
  await next();
  c.res.headers.set("x-framework", "hono");
});

app.get("/", (c) => c.text("Hello from Hono!"));
app.get("/json/:id", (c) => c.json({ id: c.req.param("id"), ok: true }));
app.post("/echo", async (c) => c.json({ received: await c.req.json() }, 201));
app.get("/search", (c) => c.text("q=" + (c.req.query("q") ?? "") + " page=" + (c.req.query("page") ?? "1")));
app.notFound((c) => c.text("no route for " + c.req.method + " " + c.req.path, 404));

export default app;
`;

let server: RunningServer;
let work: string;

beforeAll(async () => {
  work = tempDir("sitebox-hono-");
  const src = join(work, "src");
  const site = join(work, "sites", "default");
  mkdirSync(src, { recursive: true });
  mkdirSync(site, { recursive: true });
  writeFileSync(join(src, "app.js"), APP);
  await build({
    entryPoints: [join(src, "app.js")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    // The app lives in a temp folder; hono is found in the repo's node_modules.
    nodePaths: [join(ROOT, "node_modules")],
    outfile: join(site, "app.js"),
    logLevel: "silent",
  });
  writeFileSync(join(site, "site.json"), JSON.stringify({ main: "app.js" }));
  server = await startServer({ dir: join(work, "sites") });
});

afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("a Hono app bundled with esbuild", () => {
  it("bundles into one self-contained module", () => {
    const out = readFileSync(join(work, "sites/default/app.js"), "utf8");
    expect(out).not.toMatch(/^\s*import\s/m); // hono is inlined: nothing left to resolve
    expect(out).toMatch(/export\s*{[^}]*as default/);
  });

  it("GET / answers text, with the middleware's header", async () => {
    const res = await request(server.url, "/");
    expect(res.status).toBe(200);
    // Hono's fast path is `new Response(text)`: the Fetch default type, spelled without a space.
    expect(res.headers["content-type"]).toBe("text/plain;charset=UTF-8");
    expect(res.headers["x-framework"]).toBe("hono");
    expect(res.text).toBe("Hello from Hono!");
  });

  it("GET /json/:id answers c.json with the path parameter", async () => {
    const res = await request(server.url, "/json/42");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json\b/);
    expect(res.headers["x-framework"]).toBe("hono");
    expect(JSON.parse(res.text)).toEqual({ id: "42", ok: true });
  });

  it("POST /echo reads the JSON body with c.req.json()", async () => {
    const payload = { name: "Ada", tags: ["a", "ü"], n: 1.5, nested: { ok: true } };
    const res = await request(server.url, "/echo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    });
    expect(res.status).toBe(201);
    expect(res.headers["content-type"]).toMatch(/^application\/json\b/);
    expect(JSON.parse(res.text)).toEqual({ received: payload });
  });

  it("GET /search reads c.req.query, decoded", async () => {
    const res = await request(server.url, "/search?q=hello%20world&page=2");
    expect(res.status).toBe(200);
    expect(res.text).toBe("q=hello world page=2");
    const none = await request(server.url, "/search");
    expect(none.text).toBe("q= page=1");
  });

  it("unknown paths and methods reach the app's 404 handler, through the middleware", async () => {
    const res = await request(server.url, "/nope/deeper");
    expect(res.status).toBe(404);
    expect(res.headers["content-type"]).toBe("text/plain; charset=UTF-8");
    expect(res.headers["x-framework"]).toBe("hono");
    expect(res.text).toBe("no route for GET /nope/deeper");
    const wrongMethod = await request(server.url, "/echo");
    expect(wrongMethod.status).toBe(404);
    expect(wrongMethod.text).toBe("no route for GET /echo");
  });

  it("logs no errors", () => {
    expect(server.stderr()).not.toMatch(/error/i);
  });
});
