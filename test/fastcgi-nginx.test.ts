/**
 * The FastCGI responder behind a real nginx (the guide's FastCGI configuration), before it is
 * wired into the pipeline: a small handler stands where the pipeline will. This checks what only
 * a real web server shows: nginx's params, its keep-alive connection reuse, how it reads the CGI
 * head, streams (buffering on, as nginx defaults), and closes the connection when its client goes away.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Server } from "node:net";
import type { FastCgiRequest, FastCgiResponse } from "../src/fastcgi/exchange.js";
import { createFastCgiServer, RESPONDER_DEFAULTS } from "../src/fastcgi/responder.js";
import { request, sleep, tempDir } from "./helpers.js";
import { guideConfig, NGINX, NO_NGINX, startNginx, type RunningNginx } from "./nginx.js";

let fcgi: Server;
let nginx: RunningNginx;
let connections = 0;
const aborted: string[] = [];
const logs: string[] = [];

async function handle(req: FastCgiRequest, res: FastCgiResponse): Promise<void> {
  const url = new URL(req.target, "http://x");
  switch (url.pathname) {
    case "/echo": {
      const body = await req.readBody(1 << 20);
      const bytes = body === null || body === "too-large" ? Buffer.alloc(0) : Buffer.from(body);
      res.head(200, ["content-type", "application/json", "set-cookie", "a=1", "set-cookie", "b=2"]);
      res.end(
        JSON.stringify({
          method: req.method,
          target: req.target,
          host: req.host,
          scheme: req.scheme,
          remoteAddress: req.remoteAddress,
          httpVersion: req.httpVersion,
          headers: req.rawHeaders,
          length: bytes.length,
          sha256: createHash("sha256").update(bytes).digest("hex"),
        }),
      );
      return;
    }
    case "/teapot":
      res.head(418, ["content-type", "text/plain"]);
      return res.end("short and stout\n");
    case "/stream":
      res.head(200, ["content-type", "text/plain"]);
      for (let i = 0; i < 3; i++) {
        if (i > 0) await sleep(300);
        res.write(`chunk${i}\n`);
      }
      return res.end();
    case "/wait":
      req.signal.addEventListener("abort", () => aborted.push(url.searchParams.get("id")!));
      return;
  }
}

describe.skipIf(NGINX === null)(`the FastCGI responder behind nginx (${NGINX ?? NO_NGINX})`, () => {
  beforeAll(async () => {
    fcgi = createFastCgiServer({ ...RESPONDER_DEFAULTS, log: (m) => logs.push(m) }, (req, res) => {
      void handle(req, res);
    });
    fcgi.on("connection", () => connections++);
    await new Promise<void>((r) => fcgi.listen(0, "127.0.0.1", r));
    const port = (fcgi.address() as AddressInfo).port;
    nginx = await startNginx((listen) =>
      guideConfig("fastcgi", {
        port: listen,
        upstreams: [`127.0.0.1:${port}`],
        sitesDir: tempDir("sitebox-empty-"),
      }),
    );
  });
  afterAll(async () => {
    await nginx?.stop();
    fcgi?.close();
  });

  it("gets nginx's params as the pipeline's request fields", async () => {
    const r = await request(nginx.url, "/echo?a=1&b=%20x", {
      headers: { host: "example.com", "x-custom": "v1", cookie: "c=1" },
    });
    expect(r.status).toBe(200);
    expect(r.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    const seen = JSON.parse(r.text);
    expect(seen).toMatchObject({
      method: "GET",
      target: "/echo?a=1&b=%20x",
      host: "example.com",
      scheme: "http",
      remoteAddress: "127.0.0.1",
      httpVersion: "1.1",
    });
    const headers = Object.fromEntries(
      (seen.headers as string[]).flatMap((v, i, a) => (i % 2 === 0 ? [[v, a[i + 1]]] : [])),
    );
    expect(headers).toMatchObject({ host: "example.com", "x-custom": "v1", cookie: "c=1" });
  });

  it("POST bodies arrive byte for byte, with one content-length", async () => {
    const body = Buffer.alloc(300_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 13) & 255;
    const r = await request(nginx.url, "/echo", {
      method: "POST",
      headers: { host: "example.com", "content-type": "application/octet-stream" },
      body,
    });
    const seen = JSON.parse(r.text);
    expect(seen.length).toBe(body.length);
    expect(seen.sha256).toBe(createHash("sha256").update(body).digest("hex"));
    const lengths = (seen.headers as string[]).filter(
      (h, i) => i % 2 === 0 && h === "content-length",
    );
    expect(lengths).toEqual(["content-length"]);
  });

  it("the Status: line sets the status nginx sends", async () => {
    const r = await request(nginx.url, "/teapot");
    expect([r.status, r.text]).toEqual([418, "short and stout\n"]);
  });

  it("nginx reuses kept-alive connections (FCGI_KEEP_CONN) for requests in sequence", async () => {
    const before = connections;
    for (let i = 0; i < 10; i++) expect((await request(nginx.url, "/teapot")).status).toBe(418);
    expect(connections - before).toBeLessThanOrEqual(1);
  });

  it("streams with nginx's default buffering: chunks arrive as written", async () => {
    const arrivals: number[] = [];
    let text = "";
    await new Promise<void>((resolve, reject) => {
      http
        .get(`${nginx.url}/stream`, (res) => {
          res.on("data", (d: Buffer) => {
            arrivals.push(Date.now());
            text += d;
          });
          res.on("end", resolve);
        })
        .on("error", reject);
    });
    expect(text).toBe("chunk0\nchunk1\nchunk2\n");
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(400);
  });

  it("a client that goes away: nginx closes the connection, the request's signal aborts", async () => {
    const req = http.get(`${nginx.url}/wait?id=w1`);
    req.on("error", () => {});
    await sleep(200);
    req.destroy();
    await expect.poll(() => aborted, { timeout: 5000 }).toContain("w1");
    expect(logs).toEqual([]);
  });
});
