import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import { request, sleep, startServer, type RunningServer } from "./helpers.js";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    args: ["--debug-headers"],
    sites: {
      default: {
        "binary.js": `export default () => new Response(new Uint8Array([0, 1, 2, 255, 254]), { headers: { "content-type": "application/octet-stream" } });`,
        "cookies.js": `export default () => { const h = new Headers(); h.append("set-cookie", "a=1; Path=/"); h.append("set-cookie", "b=2; HttpOnly"); return new Response("c", { headers: h }); };`,
        "redirect.js": `export default () => Response.redirect("http://example.com/next", 303);`,
        "empty.js": `export default () => new Response(null, { status: 204 });`,
        "method.js": `export default (req) => new Response(req.method + " handled");`,
        "utf8.js": `export default () => new Response("héllo €");`,
        "async.js": `export default { async fetch() { await new Promise((r) => setTimeout(r, 20)); return new Response("waited"); } };`,
        "sse.js": `export default () => {
          let n = 0, timer;
          const body = new ReadableStream({
            start(c) {
              timer = setInterval(() => {
                c.enqueue("data: tick " + n + "\\n\\n");
                if (++n === 3) { clearInterval(timer); c.close(); }
              }, 150);
            },
            cancel() { clearInterval(timer); },
          });
          return new Response(body, { headers: { "content-type": "text/event-stream" } });
        };`,
        "endless.js": `export let cancelled = 0; let timer;
          export default () => new Response(new ReadableStream({
            start(c) { timer = setInterval(() => c.enqueue("tick\\n"), 20); },
            cancel() { clearInterval(timer); cancelled++; },
          }));`,
        "watch-abort.js": `export let aborts = [];
          export default async (request) => {
            request.signal.addEventListener("abort", () => aborts.push(request.signal.reason.name));
            await new Promise((r) => setTimeout(r, 5000));
            return new Response("late");
          };`,
        "aborts.js": `import { aborts } from "./watch-abort.js"; export default () => new Response(aborts.join(","));`,
        "cancelled.js": `import { cancelled } from "./endless.js"; export default () => new Response(String(cancelled));`,
        "stream-bytes.js": `export default () => new Response(new ReadableStream({ start(c) { c.enqueue(new Uint8Array([104, 105])); c.enqueue("!"); c.close(); } }));`,
        "stream-error.js": `export default () => new Response(new ReadableStream({ start(c) { c.enqueue("partial"); c.error(new Error("boom")); } }));`,
      },
    },
  });
});
afterAll(() => server?.close());

describe("response bodies and headers", () => {
  it("binary bodies round-trip exactly", async () => {
    const r = await request(server.url, "/binary");
    expect([...r.body]).toEqual([0, 1, 2, 255, 254]);
    expect(r.headers["content-length"]).toBe("5");
  });
  it("UTF-8 text gets a byte-exact content-length", async () => {
    const r = await request(server.url, "/utf8");
    expect(r.text).toBe("héllo €");
    expect(r.headers["content-length"]).toBe(String(Buffer.byteLength("héllo €")));
    expect(r.headers["content-type"]).toBe("text/plain;charset=UTF-8");
  });
  it("keeps each Set-Cookie separate", async () => {
    const r = await request(server.url, "/cookies");
    expect(r.headers["set-cookie"]).toEqual(["a=1; Path=/", "b=2; HttpOnly"]);
  });
  it("redirects", async () => {
    const r = await request(server.url, "/redirect");
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe("http://example.com/next");
  });
  it("a null body with 204", async () => {
    const r = await request(server.url, "/empty");
    expect(r.status).toBe(204);
    expect(r.body.length).toBe(0);
  });
  it("HEAD runs the handler and sends headers only", async () => {
    const r = await request(server.url, "/method", { method: "HEAD" });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
    expect(r.headers["content-length"]).toBe(String("HEAD handled".length));
    expect((await request(server.url, "/method", { method: "DELETE" })).text).toBe(
      "DELETE handled",
    );
  });
  it("async handlers that wait on timers", async () => {
    expect((await request(server.url, "/async")).text).toBe("waited");
  });
});

describe("streamed bodies", () => {
  it("arrive chunk by chunk as the handler produces them (server-sent events)", async () => {
    const arrivals: { at: number; text: string }[] = [];
    const start = Date.now();
    await new Promise<void>((resolve, reject) => {
      http.get(`${server.url}/sse`, (res) => {
        expect(res.headers["content-type"]).toBe("text/event-stream");
        expect(res.headers["transfer-encoding"]).toBe("chunked");
        res.on("data", (d: Buffer) =>
          arrivals.push({ at: Date.now() - start, text: d.toString() }),
        );
        res.on("end", resolve);
        res.on("error", reject);
      });
    });
    expect(arrivals.map((a) => a.text).join("")).toBe(
      "data: tick 0\n\ndata: tick 1\n\ndata: tick 2\n\n",
    );
    expect(arrivals.length).toBeGreaterThanOrEqual(3);
    expect(arrivals[arrivals.length - 1]!.at - arrivals[0]!.at).toBeGreaterThan(200);
  });
  it("mix bytes and text", async () => {
    expect((await request(server.url, "/stream-bytes")).text).toBe("hi!");
  });
  it("a stream that errors cuts the response instead of ending it cleanly", async () => {
    await expect(request(server.url, "/stream-error", { fresh: true })).rejects.toThrow();
    expect((await request(server.url, "/utf8")).status).toBe(200);
  });
});

describe("client disconnects", () => {
  it("cancel the handler's stream, so it stops producing", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await new Promise<void>((resolve) => {
      const req = http.get(`${server.url}/endless`, { agent }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", () => {});
    });
    const end = Date.now() + 3000;
    let seen = "0";
    while (seen === "0" && Date.now() < end) {
      // Both routes live in one site sandbox per worker: ask every worker.
      for (let i = 0; i < 4; i++)
        seen = Math.max(
          Number(seen),
          Number((await request(server.url, "/cancelled", { fresh: true })).text),
        ).toString();
    }
    expect(Number(seen)).toBeGreaterThanOrEqual(1);
  });
});

describe("request.signal", () => {
  it("aborts when the client goes away before the response", async () => {
    await new Promise<void>((resolve) => {
      const req = http.get(`${server.url}/watch-abort`, { agent: false });
      req.on("error", () => resolve());
      setTimeout(() => req.destroy(), 200);
    });
    const end = Date.now() + 3000;
    let seen = "";
    while (!seen.includes("AbortError") && Date.now() < end) {
      for (let i = 0; i < 4; i++)
        seen += (await request(server.url, "/aborts", { fresh: true })).text;
      await sleep(20);
    }
    expect(seen).toContain("AbortError");
  });
});

describe("workers", () => {
  it("new connections rotate over the workers; debug headers say who answered", async () => {
    const workers = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const r = await request(server.url, "/utf8", { fresh: true });
      workers.add(String(r.headers["x-sitebox-worker"]));
      expect(r.headers["x-sitebox-generation"]).toBe("1");
    }
    expect(workers.size).toBe(2);
  });
});
