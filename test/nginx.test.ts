/**
 * sitebox behind a real nginx, configured as docs/operations.md shows. The same cases run for each
 * front end nginx can use: HTTP (proxy_pass) and FastCGI (fastcgi_pass, `serve --fastcgi`), one
 * request pipeline behind both.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import http from "node:http";
import {
  checkConfig,
  guideConfig,
  NGINX,
  NO_NGINX,
  pickPort,
  startNginx,
  type RunningNginx,
} from "./nginx.js";
import { request, startServer, type RunningServer } from "./helpers.js";

const SITES = {
  default: { "index.js": "export default { fetch: () => new Response('default site') };" },
  "example.com": {
    "index.js": "export default { fetch: () => new Response('example home') };",
    "echo.js": `export default { fetch(request) {
      return Response.json({ method: request.method, url: request.url,
        headers: Object.fromEntries(request.headers) });
    } };`,
    "body.js": `export default { async fetch(request) {
      const bytes = new Uint8Array(await request.arrayBuffer());
      const hash = await crypto.subtle.digest("SHA-256", bytes);
      const hex = [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join("");
      return Response.json({ length: bytes.length, sha256: hex,
        type: request.headers.get("content-type") });
    } };`,
    "cookies.js": `export default { fetch() {
      const h = new Headers({ "content-type": "text/plain" });
      h.append("set-cookie", "a=1; Path=/");
      h.append("set-cookie", "b=2; HttpOnly");
      return new Response("two cookies", { headers: h });
    } };`,
    "status.js": `export default { fetch(request) {
      const code = Number(new URL(request.url).searchParams.get("code"));
      if (code === 301) return Response.redirect("http://example.com/elsewhere", 301);
      return new Response("status " + code, { status: code });
    } };`,
    "throw.js": "export default { fetch() { throw new Error('boom'); } };",
    "stream.js": `export default { fetch() {
      let n = 0;
      const body = new ReadableStream({ async pull(c) {
        if (n > 0) await new Promise((r) => setTimeout(r, 300));
        if (n === 3) return c.close();
        c.enqueue(new TextEncoder().encode("chunk" + n++ + "\\n"));
      } });
      return new Response(body, { headers: { "content-type": "text/plain" } });
    } };`,
    "wait.js": `export default { fetch(request) {
      const id = new URL(request.url).searchParams.get("id");
      console.log("waiting " + id);
      request.signal.addEventListener("abort", () => console.log("client went away " + id));
      return new Promise(() => {});
    } };`,
    "page.js": "export default { fetch: () => new Response('page script') };",
    "public/static.txt": "served from disk\n",
  },
};

type Front = "http" | "fastcgi";
const FRONTS: Front[] = ["http", "fastcgi"];

function cases(front: Front): void {
  let sitebox: RunningServer;
  let nginx: RunningNginx;
  const ex = { host: "example.com" };

  beforeAll(async () => {
    // Over FastCGI, sitebox opens no HTTP listener: everything below comes through fastcgi_pass.
    const fcgiPort = front === "fastcgi" ? await pickPort() : 0;
    sitebox = await startServer({
      sites: SITES,
      args: front === "fastcgi" ? ["--fastcgi", `127.0.0.1:${fcgiPort}`, "--port", "none"] : [],
    });
    nginx = await startNginx((port) =>
      guideConfig(front, {
        port,
        upstreams: [`127.0.0.1:${front === "fastcgi" ? fcgiPort : sitebox.port}`],
        sitesDir: sitebox.dir,
      }),
    );
  });
  afterAll(async () => {
    await nginx?.stop();
    await sitebox?.close();
  });

  it("routes and vhosts", async () => {
    expect((await request(nginx.url, "/", { headers: ex })).text).toBe("example home");
    expect((await request(nginx.url, "/", { headers: { host: "other.test" } })).text).toBe(
      "default site",
    );
    const r = await request(nginx.url, "/nope", { headers: ex });
    expect([r.status, r.text]).toEqual([404, "Not Found\n"]);
  });

  it("query strings and headers reach the handler as sent", async () => {
    const r = await request(nginx.url, "/echo?a=1&b=%20x&c=%E2%82%AC", {
      headers: { ...ex, "x-custom": "v1" },
    });
    const seen = JSON.parse(r.text);
    expect(seen.url).toBe("http://example.com/echo?a=1&b=%20x&c=%E2%82%AC");
    expect(seen.method).toBe("GET");
    expect(seen.headers["x-custom"]).toBe("v1");
    // Over FastCGI, nginx says who the client is in REMOTE_ADDR, not in a header.
    if (front === "http") expect(seen.headers["x-forwarded-for"]).toBe("127.0.0.1");
    else expect(seen.headers["x-forwarded-for"]).toBeUndefined();
  });

  it("POST and multipart bodies arrive byte for byte", async () => {
    const bin = Buffer.alloc(200_000);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 31 + 7) & 255;
    const boundary = "----sitebox" + "x".repeat(20);
    const multipart = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="field"\r\n\r\nvalue\r\n`),
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n` +
          `Content-Type: application/octet-stream\r\n\r\n`,
      ),
      bin,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    for (const [body, type] of [
      [Buffer.from("a=1&b=2"), "application/x-www-form-urlencoded"],
      [bin, "application/octet-stream"],
      [multipart, `multipart/form-data; boundary=${boundary}`],
    ] as const) {
      const r = await request(nginx.url, "/body", {
        method: "POST",
        headers: { ...ex, "content-type": type },
        body,
      });
      expect(JSON.parse(r.text)).toEqual({ length: body.length, sha256: sha(body), type });
    }
  });

  it("several Set-Cookie headers stay separate", async () => {
    const r = await request(nginx.url, "/cookies", { headers: ex });
    expect(r.headers["set-cookie"]).toEqual(["a=1; Path=/", "b=2; HttpOnly"]);
  });

  it("status codes and sitebox's error pages pass through", async () => {
    const teapot = await request(nginx.url, "/status?code=418", { headers: ex });
    expect([teapot.status, teapot.text]).toEqual([418, "status 418"]);
    const moved = await request(nginx.url, "/status?code=301", { headers: ex });
    expect([moved.status, moved.headers.location]).toEqual([301, "http://example.com/elsewhere"]);
    const unavailable = await request(nginx.url, "/status?code=503", { headers: ex });
    expect(unavailable.status).toBe(503);
    const broken = await request(nginx.url, "/throw", { headers: ex });
    expect([broken.status, broken.text]).toEqual([500, "Internal Server Error\n"]);
  });

  it("a streamed response arrives chunk by chunk", async () => {
    const arrivals: { at: number; text: string }[] = [];
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      http
        .get(`${nginx.url}/stream`, { headers: ex }, (res) => {
          res.on("data", (d: Buffer) =>
            arrivals.push({ at: Date.now() - started, text: String(d) }),
          );
          res.on("end", resolve);
        })
        .on("error", reject);
    });
    expect(arrivals.map((a) => a.text).join("")).toBe("chunk0\nchunk1\nchunk2\n");
    expect(arrivals.length).toBeGreaterThanOrEqual(3);
    // The first chunk came well before the last: nothing buffered the whole body.
    expect(arrivals.at(-1)!.at - arrivals[0]!.at).toBeGreaterThan(400);
  });

  it("a client that goes away aborts the handler's request.signal", async () => {
    const id = String(Math.random()).slice(2);
    const req = http.get(`${nginx.url}/wait?id=${id}`, { headers: ex });
    req.on("error", () => {});
    await sitebox.waitFor(new RegExp(`waiting ${id}`));
    req.destroy();
    await sitebox.waitFor(new RegExp(`client went away ${id}`));
  });

  it("the status page is closed to other clients at nginx; health stays open", async () => {
    // 127.0.0.2 is loopback to the kernel but not 127.0.0.1 to nginx: it stands for a remote client.
    const from = (addr: string, path: string) =>
      new Promise<number>((resolve, reject) =>
        http
          .get(`${nginx.url}${path}`, { localAddress: addr, agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on("error", reject),
      );
    expect(await from("127.0.0.2", "/.sitebox/status")).toBe(403);
    expect(await from("127.0.0.2", "/.sitebox/status.json")).toBe(403);
    expect(await from("127.0.0.1", "/.sitebox/status.json")).toBe(200);
    expect(await from("127.0.0.2", "/.sitebox/health")).toBe(200);
  });

  it("nginx serves public/ from disk itself; scripts still go to sitebox", async () => {
    const file = await request(nginx.url, "/static.txt", { headers: ex });
    expect([file.status, file.text]).toEqual([200, "served from disk\n"]);
    expect((await request(nginx.url, "/page", { headers: ex })).text).toBe("page script");
    await sitebox.waitFor(/"GET \/page HTTP\/1\.1" 200/, "stdout");
    expect(sitebox.stdout()).not.toContain("/static.txt");
  });
}

describe.skipIf(NGINX === null)("nginx (" + (NGINX ?? NO_NGINX) + ")", () => {
  for (const front of FRONTS) describe(`over ${front}`, () => cases(front));

  it("the guide's FastCGI configuration passes nginx -t", () => {
    const conf = guideConfig("fastcgi", {
      port: 8081,
      upstreams: ["127.0.0.1:9000"],
      sitesDir: "/tmp",
    });
    expect(checkConfig(conf)).toMatch(/syntax is ok/);
  });
});
