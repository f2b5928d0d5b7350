/**
 * rawHeader against node:http's own req.headers, on a real server: the same answer for every
 * field of requests with repeated, mixed-case and absent headers.
 */
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawHeader } from "../src/front/raw-headers.js";

const NAMES = [
  "host",
  "user-agent",
  "referer",
  "content-length",
  "content-type",
  "cookie",
  "set-cookie",
  "accept",
  "x-custom",
  "if-none-match",
  "if-modified-since",
  "range",
  "transfer-encoding",
  "authorization",
  "absent",
];

const REQUESTS = [
  "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n",
  "GET / HTTP/1.1\r\nHOST: a.example\r\nUser-Agent: one\r\nuser-agent: two\r\nReferer: r1\r\n" +
    "Referer: r2\r\nCookie: a=1\r\ncookie: b=2\r\nAccept: text/html\r\nACCEPT: */*\r\n" +
    "X-Custom: 1\r\nx-custom: 2\r\nX-CUSTOM: 3\r\nSet-Cookie: s=1\r\nset-cookie: t=2\r\n" +
    'If-None-Match: "a"\r\nif-none-match: "b"\r\nIf-Modified-Since: x\r\n' +
    "if-modified-since: y\r\nRange: bytes=0-1\r\nAuthorization: A\r\nauthorization: B\r\n\r\n",
  "POST / HTTP/1.1\r\nHost: b.example\r\nContent-Type: text/plain\r\ncontent-type: x/y\r\n" +
    "Content-Length: 3\r\n\r\nabc",
  "POST / HTTP/1.1\r\nHost: c.example\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
];

const seen: {
  node: Record<string, string | undefined>;
  raw: Record<string, string | undefined>;
}[] = [];
let server: http.Server;
let port = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const node: Record<string, string | undefined> = {};
    const raw: Record<string, string | undefined> = {};
    for (const name of NAMES) {
      const v = req.headers[name];
      node[name] = Array.isArray(v) ? v.join(", ") : v;
      raw[name] = rawHeader(req.rawHeaders, name);
    }
    seen.push({ node, raw });
    req.resume();
    req.on("end", () => res.end("ok"));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server?.close());

function send(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(text));
    s.on("data", (d) => {
      if (d.toString().includes("ok")) {
        s.destroy();
        resolve();
      }
    });
    s.on("error", reject);
  });
}

describe("rawHeader", () => {
  it("answers as req.headers does, for every field", async () => {
    for (const r of REQUESTS) await send(r);
    expect(seen).toHaveLength(REQUESTS.length);
    for (const { node, raw } of seen) expect(raw).toEqual(node);
    // And the cases are really there: first wins, "; " for cookie, ", " for the rest.
    expect(seen[1]!.raw).toMatchObject({
      "user-agent": "one",
      referer: "r1",
      cookie: "a=1; b=2",
      accept: "text/html, */*",
      "x-custom": "1, 2, 3",
      "set-cookie": "s=1, t=2",
      authorization: "A",
    });
  });
});
