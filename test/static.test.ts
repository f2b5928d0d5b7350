import { describe, it, expect, beforeAll, afterAll, vi } from "vitest";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createHttpFront } from "../src/front/http.js";
import { contentType, serveStatic } from "../src/static.js";

let tmp: string;
let publicRoot: string;
let server: http.Server;
let base: string;
const binary = crypto.randomBytes(300_000);
const BIG_SIZE = 32 * 1024 * 1024;
const MTIME = new Date("2024-01-02T03:04:05.678Z");
const HELLO = "hello, static world\n"; // 20 bytes

function write(rel: string, content: string | Buffer): void {
  const file = path.join(publicRoot, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  fs.utimesSync(file, MTIME, MTIME);
}

beforeAll(async () => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "sitebox-static-")));
  publicRoot = path.join(tmp, "public");
  fs.mkdirSync(publicRoot);
  write("index.html", "<h1>root</h1>");
  write("hello.txt", HELLO);
  write("style.css", "body{}");
  write("app.js", "export {}");
  write("data.json", "{}");
  write("logo.PNG", "png");
  write("font.woff2", "woff2");
  write("blob.unknownext", "x");
  write("bin/data.bin", binary);
  write("big.bin", Buffer.alloc(BIG_SIZE, 7));
  write("docs/index.html", "<h1>docs</h1>");
  write("empty-dir/readme.txt", "no index here");
  write(".env", "SECRET=1");
  write(".git/config", "[core]");
  write("empty.txt", "");
  fs.writeFileSync(path.join(tmp, "secret.txt"), "outside");
  fs.mkdirSync(path.join(tmp, "public-evil"));
  fs.writeFileSync(path.join(tmp, "public-evil", "evil.txt"), "evil");
  fs.symlinkSync(path.join(tmp, "secret.txt"), path.join(publicRoot, "escape.txt"));
  fs.symlinkSync(path.join(tmp, "public-evil"), path.join(publicRoot, "evil"));
  fs.symlinkSync("hello.txt", path.join(publicRoot, "alias.txt"));
  fs.symlinkSync(".env", path.join(publicRoot, "env-alias.txt"));

  // The HTTP front end over a pipeline that only serves static files.
  server = createHttpFront(
    { headersTimeoutMs: 10_000, wallTimeoutMs: 30_000 },
    {
      handle(req, out) {
        req.onClose(() => {});
        const relPath = decodeURIComponent(new URL(req.target, "http://x").pathname).slice(1);
        let answered: boolean;
        try {
          answered = serveStatic(req, out, publicRoot, relPath);
        } catch {
          out.head(500, ["content-length", "0"]);
          out.end();
          return;
        }
        if (!answered) {
          out.head(404, ["content-length", "19"]);
          out.end("not found by static");
        }
      },
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** node:http, so HEAD bodies and headers arrive exactly as sent. */
function raw(
  urlPath: string,
  method = "GET",
  headers: http.OutgoingHttpHeaders = {},
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${urlPath}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("contentType", () => {
  it("maps common web types, with a charset for text", () => {
    expect(contentType("a/index.html")).toBe("text/html; charset=utf-8");
    expect(contentType("a.mjs")).toBe("text/javascript; charset=utf-8");
    expect(contentType("a.svg")).toBe("image/svg+xml; charset=utf-8");
    expect(contentType("a.JPEG")).toBe("image/jpeg");
    expect(contentType("a.wasm")).toBe("application/wasm");
    expect(contentType("a.woff2")).toBe("font/woff2");
    expect(contentType("a.mp3")).toBe("audio/mpeg");
  });

  it("falls back to octet-stream, also for names that look like Object properties", () => {
    expect(contentType("a.exe")).toBe("application/octet-stream");
    expect(contentType("Makefile")).toBe("application/octet-stream");
    expect(contentType("a.constructor")).toBe("application/octet-stream");
    expect(contentType("a.__proto__")).toBe("application/octet-stream");
  });
});

describe("serveStatic over a real socket", () => {
  it("serves files with the content-type of their extension", async () => {
    const cases: [string, string][] = [
      ["/hello.txt", "text/plain; charset=utf-8"],
      ["/style.css", "text/css; charset=utf-8"],
      ["/app.js", "text/javascript; charset=utf-8"],
      ["/data.json", "application/json; charset=utf-8"],
      ["/logo.PNG", "image/png"],
      ["/font.woff2", "font/woff2"],
      ["/blob.unknownext", "application/octet-stream"],
    ];
    for (const [url, type] of cases) {
      const res = await fetch(base + url);
      expect(res.status, url).toBe(200);
      expect(res.headers.get("content-type"), url).toBe(type);
    }
    const res = await fetch(base + "/hello.txt");
    expect(await res.text()).toBe(HELLO);
    expect(res.headers.get("content-length")).toBe(String(HELLO.length));
    expect(res.headers.get("accept-ranges")).toBe("bytes");
  });

  it("serves index.html for / and for a directory, without redirecting", async () => {
    const root = await fetch(base + "/", { redirect: "manual" });
    expect(root.status).toBe(200);
    expect(root.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await root.text()).toBe("<h1>root</h1>");
    for (const url of ["/docs", "/docs/"]) {
      const res = await fetch(base + url, { redirect: "manual" });
      expect(res.status, url).toBe(200);
      expect(await res.text()).toBe("<h1>docs</h1>");
    }
  });

  it("treats a directory without index.html and a missing file as not found", async () => {
    expect((await raw("/empty-dir")).status).toBe(404);
    const missing = await raw("/nope.txt");
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).toBe("not found by static");
    expect((await raw("/hello.txt/more")).status).toBe(404);
  });

  it("sends ETag and Last-Modified built from size and mtime", async () => {
    const res = await raw("/hello.txt");
    expect(res.headers["last-modified"]).toBe("Tue, 02 Jan 2024 03:04:05 GMT");
    const mtimeMs = Math.floor(fs.statSync(path.join(publicRoot, "hello.txt")).mtimeMs);
    expect(res.headers.etag).toBe(`W/"${HELLO.length.toString(16)}-${mtimeMs.toString(16)}"`);
  });

  it("answers 304 to a matching If-None-Match (list, weak comparison, *)", async () => {
    const { headers } = await raw("/hello.txt");
    const etag = headers.etag!;
    for (const inm of [etag, etag.slice(2), `"zzz", ${etag}`, "*"]) {
      const res = await raw("/hello.txt", "GET", { "if-none-match": inm });
      expect(res.status, inm).toBe(304);
      expect(res.body.length).toBe(0);
      expect(res.headers.etag).toBe(etag);
      expect(res.headers["last-modified"]).toBe(headers["last-modified"]);
    }
  });

  it("answers 200 to a non-matching If-None-Match, even when If-Modified-Since matches", async () => {
    const { headers } = await raw("/hello.txt");
    const res = await raw("/hello.txt", "GET", {
      "if-none-match": 'W/"other"',
      "if-modified-since": headers["last-modified"],
    });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(HELLO);
  });

  it("answers If-Modified-Since at second granularity", async () => {
    const same = await raw("/hello.txt", "GET", {
      "if-modified-since": "Tue, 02 Jan 2024 03:04:05 GMT",
    });
    expect(same.status).toBe(304);
    expect(same.body.length).toBe(0);
    const earlier = await raw("/hello.txt", "GET", {
      "if-modified-since": "Tue, 02 Jan 2024 03:04:04 GMT",
    });
    expect(earlier.status).toBe(200);
    const garbage = await raw("/hello.txt", "GET", { "if-modified-since": "yesterday" });
    expect(garbage.status).toBe(200);
  });

  it("answers HEAD with the GET headers and no body", async () => {
    const get = await raw("/hello.txt");
    const head = await raw("/hello.txt", "HEAD");
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    for (const h of ["content-type", "content-length", "etag", "last-modified", "accept-ranges"]) {
      expect(head.headers[h], h).toBe(get.headers[h]);
    }
    expect(head.headers["content-length"]).toBe(String(HELLO.length));
  });

  it("serves each single-range form with 206 and Content-Range", async () => {
    const cases: [string, string, string][] = [
      ["bytes=0-4", "bytes 0-4/20", HELLO.slice(0, 5)],
      ["bytes=7-", "bytes 7-19/20", HELLO.slice(7)],
      ["bytes=-7", "bytes 13-19/20", HELLO.slice(13)],
      ["bytes=15-999", "bytes 15-19/20", HELLO.slice(15)],
      ["bytes=-999", "bytes 0-19/20", HELLO],
    ];
    for (const [range, contentRange, body] of cases) {
      const res = await raw("/hello.txt", "GET", { range });
      expect(res.status, range).toBe(206);
      expect(res.headers["content-range"], range).toBe(contentRange);
      expect(res.headers["content-length"], range).toBe(String(body.length));
      expect(res.body.toString(), range).toBe(body);
    }
  });

  it("answers HEAD with a range like GET, without a body", async () => {
    const res = await raw("/hello.txt", "HEAD", { range: "bytes=0-4" });
    expect(res.status).toBe(206);
    expect(res.headers["content-range"]).toBe("bytes 0-4/20");
    expect(res.body.length).toBe(0);
  });

  it("answers 416 with bytes */size to an unsatisfiable range", async () => {
    for (const range of ["bytes=20-", "bytes=100-200", "bytes=-0"]) {
      const res = await raw("/hello.txt", "GET", { range });
      expect(res.status, range).toBe(416);
      expect(res.headers["content-range"], range).toBe("bytes */20");
      expect(res.body.length, range).toBe(0);
    }
  });

  it("ignores invalid and multiple ranges: 200 with the full file", async () => {
    for (const range of [
      "bytes=0-1,3-4",
      "bytes=abc",
      "bytes=5-2",
      "items=0-1",
      "bytes=-",
      "0-4",
    ]) {
      const res = await raw("/hello.txt", "GET", { range });
      expect(res.status, range).toBe(200);
      expect(res.headers["content-range"], range).toBeUndefined();
      expect(res.body.toString(), range).toBe(HELLO);
    }
  });

  it("honours If-Range: a match gives 206, a mismatch the full file", async () => {
    const { headers } = await raw("/hello.txt");
    const byEtag = await raw("/hello.txt", "GET", { range: "bytes=0-4", "if-range": headers.etag });
    expect(byEtag.status).toBe(206);
    const byDate = await raw("/hello.txt", "GET", {
      range: "bytes=0-4",
      "if-range": headers["last-modified"],
    });
    expect(byDate.status).toBe(206);
    for (const ifRange of ['W/"stale"', '"stale"', "Mon, 01 Jan 2024 00:00:00 GMT"]) {
      const res = await raw("/hello.txt", "GET", { range: "bytes=0-4", "if-range": ifRange });
      expect(res.status, ifRange).toBe(200);
      expect(res.body.toString(), ifRange).toBe(HELLO);
    }
  });

  it("serves an empty file with content-length 0, ignoring a range", async () => {
    const res = await raw("/empty.txt", "GET", { range: "bytes=0-" });
    expect(res.status).toBe(200);
    expect(res.headers["content-length"]).toBe("0");
    expect(res.body.length).toBe(0);
  });

  it("follows a symlink that stays inside the public folder", async () => {
    const res = await raw("/alias.txt");
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(HELLO);
  });

  it("does not serve a symlink to a file outside the public folder", async () => {
    const res = await raw("/escape.txt");
    expect(res.status).toBe(404);
    expect(res.body.toString()).not.toContain("outside");
  });

  it("does not reach a sibling folder whose name starts with the public folder's name", async () => {
    // public/evil -> ../public-evil: its real path starts with publicRoot, but not publicRoot + "/".
    expect(fs.existsSync(path.join(publicRoot, "evil", "evil.txt"))).toBe(true);
    const res = await raw("/evil/evil.txt");
    expect(res.status).toBe(404);
    expect(res.body.toString()).not.toContain("evil");
  });

  it("does not serve dot-files, directly or through a symlink", async () => {
    for (const url of ["/.env", "/.git/config", "/env-alias.txt"]) {
      const res = await raw(url);
      expect(res.status, url).toBe(404);
      expect(res.body.toString(), url).not.toContain("SECRET");
    }
  });

  it("leaves other methods to the caller (false → 404 here)", async () => {
    for (const method of ["POST", "PUT", "DELETE"]) {
      const res = await raw("/hello.txt", method);
      expect(res.status, method).toBe(404);
      expect(res.body.toString(), method).toBe("not found by static");
    }
  });

  it("round-trips a binary file byte for byte, whole and by range", async () => {
    const whole = await fetch(base + "/bin/data.bin");
    expect(whole.headers.get("content-type")).toBe("application/octet-stream");
    expect(Buffer.from(await whole.arrayBuffer()).equals(binary)).toBe(true);
    const part = await raw("/bin/data.bin", "GET", { range: "bytes=1000-70999" });
    expect(part.status).toBe(206);
    expect(part.body.equals(binary.subarray(1000, 71000))).toBe(true);
  });

  it("treats a file that vanishes before its open as not found", async () => {
    // Simulate the race: the router saw hello.txt, the open finds nothing. (Every file is
    // judged on its open descriptor: contained-open.ts.)
    const real = fs.openSync;
    const spy = vi
      .spyOn(fs, "openSync")
      .mockImplementation((_p, flags) => real(path.join(tmp, "gone.txt"), flags));
    try {
      const res = await raw("/hello.txt");
      expect(spy).toHaveBeenCalledOnce();
      expect(res.status).toBe(404);
      expect(res.body.toString()).toBe("not found by static");
    } finally {
      spy.mockRestore();
    }
  });

  it.runIf(process.platform === "linux")(
    "closes the file when the client disconnects mid-download",
    async () => {
      const bigPath = path.join(publicRoot, "big.bin");
      const openFds = () =>
        fs.readdirSync("/proc/self/fd").filter((fd) => {
          try {
            return fs.readlinkSync(`/proc/self/fd/${fd}`) === bigPath;
          } catch {
            return false;
          }
        }).length;

      let openDuring = 0;
      await new Promise<void>((resolve, reject) => {
        const req = http.get(`${base}/big.bin`, (res) => {
          res.once("data", () => {
            openDuring = openFds();
            req.destroy();
            resolve();
          });
        });
        req.on("error", (err) => (req.destroyed ? undefined : reject(err)));
      });
      expect(openDuring).toBe(1);

      const deadline = Date.now() + 3000;
      while (openFds() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(openFds()).toBe(0);
    },
  );
});
