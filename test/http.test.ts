import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net from "node:net";
import { request, startServer, type RunningServer } from "./helpers.js";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    args: ["--headers-timeout", "500", "--wall-timeout", "1000"],
    sites: { default: { "index.js": "export default () => new Response('ok');" } },
  });
});
afterAll(() => server?.close());

/** Sends raw bytes on a fresh socket; resolves with what came back before the server closed. */
function raw(
  data: string,
  opts: { trickle?: string[]; waitMs?: number } = {},
): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const sock = net.connect(server.port, "127.0.0.1");
    let text = "";
    sock.on("data", (d) => (text += d.toString()));
    sock.on("error", () => {});
    sock.on("close", () => resolve({ text, closedAfterMs: Date.now() - started }));
    sock.write(data);
    if (opts.trickle) {
      let i = 0;
      const t = setInterval(() => {
        if (sock.destroyed || i >= opts.trickle!.length) return clearInterval(t);
        sock.write(opts.trickle![i++]!);
      }, 100);
    }
    setTimeout(() => {
      sock.destroy();
    }, opts.waitMs ?? 5000);
    void reject;
  });
}

describe("HTTP-level protection", () => {
  it("oversized headers get 431", async () => {
    const r = await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20000)}\r\n\r\n`);
    expect(r.text).toMatch(/^HTTP\/1\.1 431/);
  });

  it("a malformed request gets 400", async () => {
    const r = await raw("GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n");
    expect(r.text).toMatch(/^HTTP\/1\.1 400/);
  });

  it("a client trickling its headers is cut off after --headers-timeout, others unaffected", async () => {
    const slow = raw("GET / HTTP/1.1\r\n", {
      trickle: Array(100).fill("X-A: b\r\n"),
      waitMs: 8000,
    });
    const meanwhile = await request(server.url, "/", { fresh: true });
    expect(meanwhile.text).toBe("ok");
    const r = await slow;
    expect(r.closedAfterMs).toBeLessThan(4000);
    expect(r.text).not.toMatch(/200 OK/);
  });

  it("a client trickling its body is cut off too", async () => {
    const r = await raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", {
      trickle: Array(100).fill("x"),
      waitMs: 8000,
    });
    expect(r.closedAfterMs).toBeLessThan(6000);
    expect(r.text).not.toMatch(/200 OK/);
  });

  it("keeps answering", async () => {
    expect((await request(server.url, "/")).text).toBe("ok");
  });
});

describe("access log", () => {
  it("writes Apache combined lines on stdout", async () => {
    await request(server.url, "/?q=1", {
      headers: { "user-agent": 'agent "x"', referer: "http://ref/" },
    });
    const line = await server.waitFor(
      /^127\.0\.0\.1 - - \[.*\] "GET \/\?q=1 HTTP\/1\.1" 200 2 .*$/m,
      "stdout",
    );
    expect(line).toMatch(/\[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\]/);
    expect(line).toContain('"http://ref/" "agent \\x22x\\x22"');
  });
});
