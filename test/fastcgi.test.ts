/**
 * The FastCGI responder over a real socket, record type by record type, with a raw-record client
 * (fastcgi-client.ts). The handler here stands where the request pipeline will: it echoes what the
 * responder made of the request, so every field and bound is visible.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeSync, openSync, writeFileSync } from "node:fs";
import type { AddressInfo, Server } from "node:net";
import { join } from "node:path";
import { createFastCgiServer, RESPONDER_DEFAULTS } from "../src/fastcgi/responder.js";
import type { FastCgiRequest, FastCgiResponse } from "../src/fastcgi/exchange.js";
import { begin, decodePairs, FcgiConn, pairs, rec, requestBytes, TYPE } from "./fastcgi-client.js";
import { tempDir } from "./helpers.js";

const logs: string[] = [];
const aborted: string[] = [];
const big = { falses: 0, drains: 0 };
let started = 0;
let server: Server;
let port = 0;
const dir = tempDir("sitebox-fcgi-");
const file = join(dir, "f.txt");
writeFileSync(file, "0123456789abcdefghij");

const PARAMS = {
  REQUEST_METHOD: "GET",
  REQUEST_URI: "/echo?q=1",
  HTTP_HOST: "example.com",
  REMOTE_ADDR: "203.0.113.7",
  SERVER_PROTOCOL: "HTTP/1.1",
};

async function handle(req: FastCgiRequest, res: FastCgiResponse): Promise<void> {
  const path = req.target.split("?")[0];
  started++;
  if (path === "/echo") {
    const bodyless = req.bodyless; // as the handler starts, before it asks for the body
    const body = await req.readBody(100_000);
    const info = {
      method: req.method,
      target: req.target,
      host: req.host,
      headers: req.rawHeaders,
      remoteAddress: req.remoteAddress,
      scheme: req.scheme,
      httpVersion: req.httpVersion,
      body: body === null ? null : body === "too-large" ? body : Buffer.from(body).toString("hex"),
      bodyless,
    };
    res.head(200, ["content-type", "application/json", "set-cookie", "a=1", "set-cookie", "b=2"]);
    res.end(JSON.stringify(info));
  } else if (path === "/big") {
    const n = Number(new URL(req.target, "http://x").searchParams.get("n"));
    res.head(200, ["content-type", "application/octet-stream"]);
    const chunk = Buffer.alloc(100_000, 0x61);
    for (let sent = 0; sent < n; sent += chunk.length) {
      if (!res.write(chunk.subarray(0, Math.min(chunk.length, n - sent)))) {
        big.falses++;
        await new Promise<void>((r) => res.onDrain(r));
        big.drains++;
      }
    }
    res.end();
  } else if (path === "/wait") {
    req.signal.addEventListener("abort", () => aborted.push(String(req.signal.reason?.message)));
  } else if (path === "/file") {
    const fd = openSync(file, "r");
    res.head(200, ["content-length", "10"]);
    await res.sendFile(fd, 3, 10);
    closeSync(fd);
    res.end();
  } else if (path === "/throw") {
    throw new Error("boom");
  }
}

beforeAll(async () => {
  server = createFastCgiServer(
    {
      ...RESPONDER_DEFAULTS,
      maxConns: 7,
      maxParamsBytes: 4096,
      maxParams: 40,
      bodyBufferBytes: 64 * 1024,
      headersTimeoutMs: 300,
      bodyTimeoutMs: 600,
      idleTimeoutMs: 1500,
      log: (m) => logs.push(m),
    },
    (req, res) => {
      if (req.target === "/sync-throw") throw new Error("sync boom");
      void handle(req, res).catch((err) => logs.push(`handler: ${err.message}`));
    },
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server?.close());

/** A fresh connection on the responder. */
const conn = () => new FcgiConn(port);

/** Asserts the connection still serves a plain request (nothing got stuck). */
async function stillServes(): Promise<void> {
  const c = conn();
  c.send(requestBytes(1, PARAMS));
  const r = await c.response(1);
  expect(r.head).toMatch(/^Status: 200 OK/);
  c.close();
}

describe("BEGIN_REQUEST, PARAMS, STDIN, STDOUT, END_REQUEST", () => {
  it("answers with a CGI head (Status:) and the body, then END_REQUEST complete", async () => {
    const c = conn();
    c.send(requestBytes(1, { ...PARAMS, CONTENT_TYPE: "", CONTENT_LENGTH: "" }));
    const r = await c.response(1);
    expect(r.head).toBe(
      "Status: 200 OK\r\ncontent-type: application/json\r\nset-cookie: a=1\r\nset-cookie: b=2",
    );
    const info = JSON.parse(r.body.toString());
    expect(info).toEqual({
      method: "GET",
      target: "/echo?q=1",
      host: "example.com",
      headers: ["host", "example.com"],
      remoteAddress: "203.0.113.7",
      scheme: "http",
      httpVersion: "1.1",
      body: null,
      bodyless: true,
    });
    expect(r.protocolStatus).toBe(0);
    expect(r.appStatus).toBe(0);
    // The end of STDOUT is an empty STDOUT record before END_REQUEST.
    const types = r.records.map((x) => [x.type, x.content.length]);
    expect(types.at(-2)).toEqual([TYPE.STDOUT, 0]);
    for (const x of r.records) expect((x.content.length + x.padding) % 8).toBe(0);
    c.close();
  });

  it("with FCGI_KEEP_CONN serves several requests in sequence on one connection", async () => {
    const c = conn();
    for (const id of [1, 2, 3]) {
      c.send(requestBytes(id, { ...PARAMS, REQUEST_URI: `/echo?n=${id}` }));
      const r = await c.response(id);
      expect(JSON.parse(r.body.toString()).target).toBe(`/echo?n=${id}`);
    }
    expect(c.closed).toBe(false);
    c.close();
  });

  it("without FCGI_KEEP_CONN closes the connection after END_REQUEST", async () => {
    const c = conn();
    c.send(requestBytes(1, PARAMS, "", false));
    await c.response(1);
    await c.closedPromise();
  });

  it("reads params split across records, with 4-byte lengths, and HTTPS / SITEBOX_SITE", async () => {
    const c = conn();
    const long = "v".repeat(300);
    const p = pairs({
      ...PARAMS,
      HTTPS: "on",
      SITEBOX_SITE: "blog",
      HTTP_X_LONG: long,
      CONTENT_TYPE: "text/plain",
      CONTENT_LENGTH: "5",
      HTTP_CONTENT_LENGTH: "5",
    });
    const cut = 200; // inside the long value
    c.send(Buffer.concat([begin(1, true), rec(TYPE.PARAMS, 1, p.subarray(0, cut))]));
    c.send(rec(TYPE.PARAMS, 1, p.subarray(cut)));
    c.send(
      Buffer.concat([rec(TYPE.PARAMS, 1), rec(TYPE.STDIN, 1, "he"), rec(TYPE.STDIN, 1, "llo")]),
    );
    c.send(rec(TYPE.STDIN, 1));
    const info = JSON.parse((await c.response(1)).body.toString());
    expect(info.host).toBe("blog");
    expect(info.scheme).toBe("https");
    expect(info.headers).toEqual([
      "host",
      "example.com",
      "x-long",
      long,
      "content-type",
      "text/plain",
      "content-length",
      "5",
    ]);
    expect(Buffer.from(info.body, "hex").toString()).toBe("hello");
    c.close();
  });

  it("passes binary STDIN bytes intact across records, and bounds the body", async () => {
    const body = Buffer.alloc(70_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 255;
    const c = conn();
    c.send(requestBytes(1, { ...PARAMS, REQUEST_METHOD: "POST" }, body));
    expect(JSON.parse((await c.response(1)).body.toString()).body).toBe(body.toString("hex"));
    c.send(requestBytes(2, { ...PARAMS, REQUEST_METHOD: "POST" }, Buffer.alloc(100_001)));
    expect(JSON.parse((await c.response(2)).body.toString()).body).toBe("too-large");
    c.close();
  });

  it("splits a large body into records of at most 65535 bytes and follows backpressure", async () => {
    const n = 8 * 1024 * 1024;
    const c = conn();
    c.socket.pause(); // a slow reader: the handler must wait on onDrain
    c.send(requestBytes(1, { ...PARAMS, REQUEST_URI: `/big?n=${n}` }));
    await new Promise((r) => setTimeout(r, 300));
    expect(big.falses).toBeGreaterThan(0);
    const waitingBefore = big.falses - big.drains;
    expect(waitingBefore).toBe(1); // stopped, waiting for the socket
    c.socket.resume();
    const r = await c.response(1, 15_000);
    expect(r.body.length).toBe(n);
    expect(r.body.every((b) => b === 0x61)).toBe(true);
    for (const x of r.records) expect(x.content.length).toBeLessThanOrEqual(65535);
    expect(big.drains).toBe(big.falses);
    c.close();
  });

  it("sends a file range from an fd", async () => {
    const c = conn();
    c.send(requestBytes(1, { ...PARAMS, REQUEST_URI: "/file" }));
    const r = await c.response(1);
    expect(r.body.toString()).toBe("3456789abc");
    c.close();
  });
});

describe("a request whose params end inside a read", () => {
  it("is bodyless when its empty STDIN came in the same read; else it waits for its body", async () => {
    const c = conn();
    c.send(requestBytes(1, PARAMS));
    expect(JSON.parse((await c.response(1)).body.toString()).bodyless).toBe(true);
    c.send(
      Buffer.concat([begin(2, true), rec(TYPE.PARAMS, 2, pairs(PARAMS)), rec(TYPE.PARAMS, 2)]),
    );
    await new Promise((r) => setTimeout(r, 50));
    c.send(Buffer.concat([rec(TYPE.STDIN, 2, "abc"), rec(TYPE.STDIN, 2)]));
    const info = JSON.parse((await c.response(2)).body.toString());
    expect(info).toMatchObject({ bodyless: false, body: "616263" });
    // A body in the same read as the params: not bodyless, and read whole.
    c.send(requestBytes(3, { ...PARAMS, REQUEST_METHOD: "POST" }, "xyz"));
    expect(JSON.parse((await c.response(3)).body.toString())).toMatchObject({
      bodyless: false,
      body: "78797a",
    });
    c.close();
  });

  it("aborted in that same read: END_REQUEST, and its handler never runs", async () => {
    const before = started;
    const c = conn();
    c.send(
      Buffer.concat([
        begin(4, true),
        rec(TYPE.PARAMS, 4, pairs({ ...PARAMS, REQUEST_URI: "/wait" })),
        rec(TYPE.PARAMS, 4),
        rec(TYPE.ABORT_REQUEST, 4),
      ]),
    );
    const r = await c.response(4);
    expect(r.protocolStatus).toBe(0);
    expect(started).toBe(before);
    c.send(requestBytes(5, PARAMS));
    expect((await c.response(5)).head).toMatch(/^Status: 200/);
    expect(started).toBe(before + 1);
    c.close();
  });
});

describe("ABORT_REQUEST and a web server that goes away", () => {
  it("ABORT_REQUEST aborts the request's signal and gets END_REQUEST", async () => {
    const c = conn();
    c.send(requestBytes(5, { ...PARAMS, REQUEST_URI: "/wait" }));
    await new Promise((r) => setTimeout(r, 50));
    c.send(rec(TYPE.ABORT_REQUEST, 5));
    const r = await c.response(5);
    expect(r.protocolStatus).toBe(0);
    expect(aborted).toContain("FastCGI ABORT_REQUEST");
    // The connection (KEEP_CONN) takes the next request.
    c.send(requestBytes(6, PARAMS));
    expect((await c.response(6)).head).toMatch(/^Status: 200/);
    c.close();
  });

  it("a connection closed mid-request aborts the signal", async () => {
    const before = aborted.length;
    const c = conn();
    c.send(requestBytes(1, { ...PARAMS, REQUEST_URI: "/wait" }));
    await new Promise((r) => setTimeout(r, 50));
    c.close();
    await expect.poll(() => aborted.length).toBe(before + 1);
    expect(aborted.at(-1)).toMatch(/connection closed/);
  });
});

describe("management records", () => {
  it("GET_VALUES answers what was asked, truthfully", async () => {
    const c = conn();
    c.send(
      rec(
        TYPE.GET_VALUES,
        0,
        pairs({ FCGI_MAX_CONNS: "", FCGI_MPXS_CONNS: "", FCGI_MAX_REQS: "", X: "" }),
      ),
    );
    await c.until(() => c.records.length === 1);
    const [r] = c.records;
    expect(r!.type).toBe(TYPE.GET_VALUES_RESULT);
    expect(r!.id).toBe(0);
    expect(decodePairs(r!.content)).toEqual({
      FCGI_MAX_CONNS: "7",
      FCGI_MAX_REQS: "7",
      FCGI_MPXS_CONNS: "0",
    });
    c.close();
  });

  it("an unknown management record gets UNKNOWN_TYPE", async () => {
    const c = conn();
    c.send(rec(42, 0, "xx"));
    await c.until(() => c.records.length === 1);
    expect(c.records[0]!.type).toBe(TYPE.UNKNOWN_TYPE);
    expect(c.records[0]!.content[0]).toBe(42);
    c.close();
  });

  it("a second BEGIN_REQUEST while one is open gets CANT_MPX_CONN; the first completes", async () => {
    const c = conn();
    c.send(Buffer.concat([begin(1, true), rec(TYPE.PARAMS, 1, pairs(PARAMS))]));
    c.send(requestBytes(2, PARAMS));
    const second = await c.response(2);
    expect(second.protocolStatus).toBe(1);
    expect(second.stdout.length).toBe(0);
    c.send(Buffer.concat([rec(TYPE.PARAMS, 1), rec(TYPE.STDIN, 1)]));
    expect((await c.response(1)).protocolStatus).toBe(0);
    c.close();
  });

  it("a role other than responder gets UNKNOWN_ROLE", async () => {
    const c = conn();
    c.send(begin(1, false, 2));
    expect((await c.response(1)).protocolStatus).toBe(3);
    await c.closedPromise();
  });
});

describe("bad input gets a bounded, logged end", () => {
  async function rejected(bytes: Buffer, log: RegExp): Promise<void> {
    const c = conn();
    c.send(bytes);
    await c.closedPromise(3000);
    expect(c.records.filter((r) => r.type === TYPE.STDOUT)).toEqual([]);
    expect(logs.join("\n")).toMatch(log);
  }

  it("a record of another version", async () => {
    const bad = begin(1, true);
    bad[0] = 2;
    await rejected(bad, /record version 2/);
  });

  it("a BEGIN_REQUEST of the wrong size", async () => {
    await rejected(rec(TYPE.BEGIN_REQUEST, 1, "1234"), /BEGIN_REQUEST body of 4 bytes/);
  });

  it("params over the byte bound", async () => {
    const p = pairs({ ...PARAMS, HTTP_X: "x".repeat(5000) });
    await rejected(
      Buffer.concat([
        begin(1, true),
        rec(TYPE.PARAMS, 1, p.subarray(0, 3000)),
        rec(TYPE.PARAMS, 1, p.subarray(3000)),
      ]),
      /params over 4096 bytes/,
    );
  });

  it("params over the count bound", async () => {
    const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`HTTP_X${i}`, "1"]));
    await rejected(requestBytes(1, { ...PARAMS, ...many }), /more than 40 params/);
  });

  it("a name-value pair longer than its record", async () => {
    const p = Buffer.concat([Buffer.from([4, 100]), Buffer.from("HOSTabc")]);
    await rejected(
      Buffer.concat([begin(1, true), rec(TYPE.PARAMS, 1, p), rec(TYPE.PARAMS, 1)]),
      /longer than its record/,
    );
  });

  it("a record type the web server never sends", async () => {
    await rejected(
      Buffer.concat([begin(1, true), rec(TYPE.STDOUT, 1, "x")]),
      /unexpected record type 6/,
    );
  });

  it("a header value with a newline gets 400 and a line on STDERR", async () => {
    const c = conn();
    c.send(requestBytes(1, { ...PARAMS, HTTP_X_EVIL: "a\r\nx-injected: 1" }));
    const r = await c.response(1);
    expect(r.head).toMatch(/^Status: 400/);
    expect(r.stderr).toMatch(/bad header in HTTP_X_EVIL/);
    c.close();
  });

  it("a handler that throws costs its connection only", async () => {
    const c = conn();
    c.send(requestBytes(1, { ...PARAMS, REQUEST_URI: "/sync-throw" }));
    await c.closedPromise();
    expect(logs.join("\n")).toMatch(/handler threw: sync boom/);
    await stillServes();
  });
});

describe("a stalled peer is cut off, others keep being served", () => {
  it("stopping mid-record", async () => {
    const c = conn();
    const started = Date.now();
    c.send(begin(1, true).subarray(0, 5));
    await stillServes();
    await c.closedPromise(3000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(logs.join("\n")).toMatch(/record not complete within 300 ms/);
  });

  it("trickling params past the head bound", async () => {
    const c = conn();
    c.send(begin(1, true));
    const p = pairs(PARAMS);
    let i = 0;
    const t = setInterval(() => !c.closed && c.send(rec(TYPE.PARAMS, 1, p.subarray(i, ++i))), 50);
    await c.closedPromise(3000);
    clearInterval(t);
    expect(logs.join("\n")).toMatch(/request params not complete within 300 ms/);
  });

  it("a body that never ends", async () => {
    const c = conn();
    c.send(
      Buffer.concat([begin(1, true), rec(TYPE.PARAMS, 1, pairs(PARAMS)), rec(TYPE.PARAMS, 1)]),
    );
    c.send(rec(TYPE.STDIN, 1, "partial"));
    await c.closedPromise(3000);
    expect(logs.join("\n")).toMatch(/request body not complete within 600 ms/);
  });

  it("an idle connection is closed after the idle bound", async () => {
    const c = conn();
    await c.opened;
    await c.closedPromise(4000);
  });
});
