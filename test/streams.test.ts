/**
 * The Streams, Encoding-streams and Compression standards inside the sandbox, checked from one
 * handler on a real server (cases from the specifications: queuing strategies, backpressure,
 * pipes, byte streams, BYOB reads, split surrogates and UTF-8 sequences, zlib formats). Expected
 * compressed bytes are computed with Node's zlib here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gzipSync, deflateSync, deflateRawSync } from "node:zlib";
import { request, startServer, type RunningServer, BATCH_ARGS } from "./helpers.js";

const CHECKS = String.raw`
const checks = [];
const check = async (name, fn) => {
  try { const r = await fn(); checks.push([name, r === true, r === true ? "" : String(r)]); }
  catch (e) { checks.push([name, false, String(e && e.stack || e)]); }
};
const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b) || ("got " + JSON.stringify(a) + " want " + JSON.stringify(b));
const collect = async (readable) => { const out = []; for await (const c of readable) out.push(c); return out; };
const bytes = (chunks) => { const n = chunks.reduce((a, c) => a + c.length, 0); const u = new Uint8Array(n); let o = 0; for (const c of chunks) { u.set(c, o); o += c.length; } return u; };
const throws = (fn, C) => { try { fn(); return "did not throw"; } catch (e) { return e instanceof C || String(e); } };
const rejects = async (p, C) => { try { await p; return "did not reject"; } catch (e) { return e instanceof C || String(e); } };
const tick = () => new Promise((r) => setTimeout(r, 0));

export default {
  async fetch(request) {
    const input = await request.json();
    checks.length = 0;
    await check("globals", () => eq(["ReadableStream", "WritableStream", "TransformStream", "ReadableStreamBYOBReader",
      "ReadableByteStreamController", "ReadableStreamBYOBRequest", "WritableStreamDefaultWriter", "TransformStreamDefaultController",
      "ByteLengthQueuingStrategy", "CountQueuingStrategy", "TextEncoderStream", "TextDecoderStream", "CompressionStream",
      "DecompressionStream"].filter((n) => typeof globalThis[n] !== "function"), []));
    await check("queuing strategies", () => {
      const b = new ByteLengthQueuingStrategy({ highWaterMark: 16 });
      const c = new CountQueuingStrategy({ highWaterMark: 2 });
      return b.highWaterMark === 16 && b.size(new Uint8Array(5)) === 5 && c.size() === 1 && c.highWaterMark === 2 &&
        throws(() => new CountQueuingStrategy(), TypeError) === true;
    });
    await check("readable desiredSize and size()", () => {
      let ctrl;
      new ReadableStream({ start(c) { ctrl = c; } }, { highWaterMark: 10, size: (ch) => ch.length });
      ctrl.enqueue("abcd");
      return ctrl.desiredSize === 6;
    });
    await check("writable backpressure", async () => {
      const log = [];
      let release;
      const ws = new WritableStream({ write(c) { log.push("w" + c); return new Promise((r) => (release = r)); } }, { highWaterMark: 2 });
      const w = ws.getWriter();
      const s0 = w.desiredSize;
      w.write(1); w.write(2); w.write(3);
      const s1 = w.desiredSize;
      await tick();
      release(); await tick(); release(); await tick(); release(); await tick();
      await w.close();
      return eq([s0, s1, log], [2, -1, ["w1", "w2", "w3"]]);
    });
    await check("writer.ready waits for backpressure", async () => {
      let release;
      const ws = new WritableStream({ write() { return new Promise((r) => (release = r)); } }, { highWaterMark: 1 });
      const w = ws.getWriter();
      w.write("a");
      let ready = false;
      w.ready.then(() => (ready = true));
      await tick();
      const before = ready;
      release(); await tick(); await tick();
      return before === false && ready === true;
    });
    await check("writable abort rejects pending writes", async () => {
      const ws = new WritableStream({ write() { return new Promise(() => {}); } });
      const w = ws.getWriter();
      w.write("a");
      const p2 = w.write("b");
      await w.abort(new Error("stop"));
      return (await rejects(p2, Error)) === true;
    });
    await check("TransformStream upper-cases", async () => {
      const ts = new TransformStream({ transform(c, ctl) { ctl.enqueue(c.toUpperCase()); }, flush(ctl) { ctl.enqueue("!"); } });
      const w = ts.writable.getWriter();
      w.write("a"); w.write("b"); w.close();
      return eq(await collect(ts.readable), ["A", "B", "!"]);
    });
    await check("identity TransformStream", async () => {
      const ts = new TransformStream();
      const w = ts.writable.getWriter();
      w.write(1); w.close();
      return eq(await collect(ts.readable), [1]);
    });
    await check("pipeTo", async () => {
      const got = [];
      const rs = ReadableStream.from(["x", "y", "z"]);
      await rs.pipeTo(new WritableStream({ write(c) { got.push(c); } }));
      return eq(got, ["x", "y", "z"]);
    });
    await check("pipeTo preventClose", async () => {
      let closed = false;
      const ws = new WritableStream({ close() { closed = true; } });
      await ReadableStream.from([1]).pipeTo(ws, { preventClose: true });
      return closed === false && ws.locked === false;
    });
    await check("pipeTo with an aborted signal", async () => {
      const c = new AbortController();
      c.abort();
      const r = await rejects(ReadableStream.from([1]).pipeTo(new WritableStream(), { signal: c.signal }), DOMException);
      return r;
    });
    await check("pipeTo propagates a source error", async () => {
      let aborted;
      const rs = new ReadableStream({ start(c) { c.error(new TypeError("boom")); } });
      const r = await rejects(rs.pipeTo(new WritableStream({ abort(e) { aborted = e; } })), TypeError);
      return r === true && aborted instanceof TypeError;
    });
    await check("pipeThrough chain", async () => {
      const double = new TransformStream({ transform(c, ctl) { ctl.enqueue(c * 2); } });
      const plus = new TransformStream({ transform(c, ctl) { ctl.enqueue(c + 1); } });
      return eq(await collect(ReadableStream.from([1, 2, 3]).pipeThrough(double).pipeThrough(plus)), [3, 5, 7]);
    });
    await check("tee", async () => {
      const [a, b] = ReadableStream.from([1, 2]).tee();
      return eq([await collect(a), await collect(b)], [[1, 2], [1, 2]]);
    });
    await check("byte stream with BYOB reader", async () => {
      const rs = new ReadableStream({
        type: "bytes",
        pull(c) {
          const v = c.byobRequest.view;
          v[0] = 7; v[1] = 8;
          c.byobRequest.respond(2);
          c.close();
        },
      });
      const reader = rs.getReader({ mode: "byob" });
      const { value, done } = await reader.read(new Uint8Array(4));
      return eq([Array.from(value), done, value.buffer.byteLength], [[7, 8], false, 4]);
    });
    await check("byte stream autoAllocateChunkSize", async () => {
      let size;
      const rs = new ReadableStream({ type: "bytes", autoAllocateChunkSize: 16,
        pull(c) { size = c.byobRequest.view.byteLength; c.byobRequest.view[0] = 1; c.byobRequest.respond(1); c.close(); } });
      const { value } = await rs.getReader().read();
      return eq([size, Array.from(value)], [16, [1]]);
    });
    await check("BYOB read detaches the given buffer", async () => {
      const rs = new ReadableStream({ type: "bytes", start(c) { c.enqueue(new Uint8Array([1, 2, 3])); c.close(); } });
      const buf = new Uint8Array(8);
      const { value } = await rs.getReader({ mode: "byob" }).read(buf);
      return buf.byteLength === 0 && eq(Array.from(value), [1, 2, 3]);
    });
    await check("BYOB reader on a default stream is a TypeError", () =>
      throws(() => new ReadableStream().getReader({ mode: "byob" }), TypeError));
    await check("Response body is a byte stream (BYOB)", async () => {
      const r = new Response("hello");
      const { value } = await r.body.getReader({ mode: "byob" }).read(new Uint8Array(16));
      return new TextDecoder().decode(value) === "hello";
    });
    await check("request body stream", async () => {
      const r = new Request("http://x/", { method: "POST", body: "abc" });
      const chunks = await collect(r.body);
      return r.bodyUsed && new TextDecoder().decode(bytes(chunks)) === "abc";
    });
    await check("Response from a stream, read twice fails", async () => {
      const r = new Response(ReadableStream.from([new Uint8Array([104, 105])]));
      const t = await r.text();
      return t === "hi" && (await rejects(r.text(), TypeError));
    });
    await check("Response of a locked stream throws", () => {
      const s = new ReadableStream();
      s.getReader();
      return throws(() => new Response(s), TypeError);
    });
    await check("clone() tees a stream body", async () => {
      const r = new Response(ReadableStream.from([new TextEncoder().encode("ab")]));
      const c = r.clone();
      return (await r.text()) === "ab" && (await c.text()) === "ab";
    });
    await check("clone() after .body was read", async () => {
      const r = new Response(new Uint8Array([1, 2]));
      void r.body;
      const c = r.clone();
      return eq([Array.from(await r.bytes()), Array.from(await c.bytes())], [[1, 2], [1, 2]]);
    });
    await check("Blob.stream() is a byte stream", async () => {
      const { value } = await new Blob(["xy"]).stream().getReader({ mode: "byob" }).read(new Uint8Array(4));
      return eq(Array.from(value), [120, 121]);
    });
    await check("async iteration with return() cancels", async () => {
      let cancelled = false;
      const rs = new ReadableStream({ pull(c) { c.enqueue(1); }, cancel() { cancelled = true; } });
      for await (const v of rs) break;
      return cancelled && !rs.locked;
    });
    await check("TextEncoderStream joins split surrogates", async () => {
      const ts = new TextEncoderStream();
      const w = ts.writable.getWriter();
      w.write("a\uD83D"); w.write("\uDE00b"); w.write("\uD800"); w.close();
      return eq(Array.from(bytes(await collect(ts.readable))), [0x61, 0xf0, 0x9f, 0x98, 0x80, 0x62, 0xef, 0xbf, 0xbd]) && ts.encoding === "utf-8";
    });
    await check("TextDecoderStream split sequences and flush", async () => {
      const ts = new TextDecoderStream();
      const w = ts.writable.getWriter();
      w.write(new Uint8Array([0xe2, 0x82])); w.write(new Uint8Array([0xac, 0x41, 0xf0])); w.close();
      return eq((await collect(ts.readable)).join(""), "€A\uFFFD") && ts.encoding === "utf-8" && ts.fatal === false;
    });
    await check("TextDecoderStream fatal errors the stream", async () => {
      const ts = new TextDecoderStream("utf-8", { fatal: true });
      const w = ts.writable.getWriter();
      w.write(new Uint8Array([0xff])).catch(() => {});
      w.close().catch(() => {});
      return rejects(collect(ts.readable), TypeError);
    });
    await check("TextDecoderStream rejects a non-buffer chunk", async () => {
      const ts = new TextDecoderStream();
      const w = ts.writable.getWriter();
      w.write("text").catch(() => {});
      return rejects(collect(ts.readable), TypeError);
    });
    await check("TextDecoderStream bad label", () => throws(() => new TextDecoderStream("nope"), RangeError));
    const hex = (u) => Array.from(u, (b) => b.toString(16).padStart(2, "0")).join("");
    const compress = async (format, chunks) => {
      const cs = new CompressionStream(format);
      const w = cs.writable.getWriter();
      for (const c of chunks) w.write(c);
      w.close();
      return bytes(await collect(cs.readable));
    };
    const decompress = async (format, chunks) => {
      const ds = new DecompressionStream(format);
      const w = ds.writable.getWriter();
      for (const c of chunks) w.write(c).catch(() => {});
      w.close().catch(() => {});
      return bytes(await collect(ds.readable));
    };
    const text = new TextEncoder().encode(input.text);
    for (const format of ["gzip", "deflate", "deflate-raw"]) {
      await check("CompressionStream " + format + " matches Node's zlib", async () =>
        eq(hex(await compress(format, [text.subarray(0, 10), text.subarray(10)])), input.compressed[format]));
      await check("DecompressionStream " + format + " round trip in 1-byte chunks", async () => {
        const c = await compress(format, [text]);
        const parts = Array.from(c, (b) => new Uint8Array([b]));
        return new TextDecoder().decode(await decompress(format, parts)) === input.text;
      });
      await check("DecompressionStream " + format + " truncated input", async () => {
        const c = await compress(format, [text]);
        return rejects(decompress(format, [c.subarray(0, c.length - 4)]), TypeError);
      });
      await check("DecompressionStream " + format + " trailing junk", async () => {
        const c = await compress(format, [text]);
        return rejects(decompress(format, [c, new Uint8Array([1, 2, 3])]), TypeError);
      });
    }
    await check("DecompressionStream corrupt input", () => rejects(decompress("deflate", [new Uint8Array([1, 2, 3, 4])]), TypeError));
    await check("DecompressionStream empty input", () => rejects(decompress("gzip", []), TypeError));
    await check("CompressionStream empty input", async () => {
      const out = await compress("gzip", []);
      return out[0] === 0x1f && out[1] === 0x8b && (await decompress("gzip", [out])).length === 0;
    });
    await check("CompressionStream accepts ArrayBuffer and DataView chunks", async () => {
      const out = await compress("deflate", [new Uint8Array([97]).buffer, new DataView(new Uint8Array([98]).buffer)]);
      return new TextDecoder().decode(await decompress("deflate", [out])) === "ab";
    });
    await check("CompressionStream rejects a string chunk", async () => {
      const cs = new CompressionStream("gzip");
      const w = cs.writable.getWriter();
      w.write("text").catch(() => {});
      return rejects(collect(cs.readable), TypeError);
    });
    await check("CompressionStream bad format", () => throws(() => new CompressionStream("brotli"), TypeError));
    await check("decompression bomb is a TypeError", async () => {
      const bomb = Uint8Array.from(atob(input.bomb), (c) => c.charCodeAt(0));
      return rejects(decompress("gzip", [bomb]), TypeError);
    });
    await check("many unused compression streams cost nothing", () => {
      for (let i = 0; i < 1000; i++) new CompressionStream("gzip");
      return true;
    });
    await check("gzip pipeThrough in a Response", async () => {
      const body = new Response(input.text).body.pipeThrough(new CompressionStream("gzip")).pipeThrough(new DecompressionStream("gzip"));
      return (await new Response(body).text()) === input.text;
    });
    return Response.json({ checks });
  },
};
`;

const SSE = `
export default {
  fetch() {
    const { readable, writable } = new TransformStream();
    const w = writable.getWriter();
    const enc = new TextEncoder();
    (async () => {
      for (let i = 0; i < 3; i++) {
        await w.write(enc.encode("data: " + i + "\\n\\n"));
        await new Promise((r) => setTimeout(r, 5));
      }
      await w.close();
    })();
    return new Response(readable, { headers: { "content-type": "text/event-stream" } });
  },
};
`;

const GZIP = `
export default {
  fetch() {
    const body = new Response("hello ".repeat(1000)).body.pipeThrough(new CompressionStream("gzip"));
    return new Response(body, { headers: { "content-encoding": "gzip" } });
  },
};
`;

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    args: BATCH_ARGS,
    sites: { default: { "streams.js": CHECKS, "sse.js": SSE, "gzip.js": GZIP } },
    workers: 1,
  });
});
afterAll(() => server?.close());

describe("streams", () => {
  let checks: [string, boolean, string][];
  const text = "The quick brown fox jumps over the lazy dog. ".repeat(20);

  beforeAll(async () => {
    const compressed = {
      gzip: gzipSync(text).toString("hex"),
      deflate: deflateSync(text).toString("hex"),
      "deflate-raw": deflateRawSync(text).toString("hex"),
    };
    // 64 MiB of zeros in ~64 KiB: past the 16 MiB a chunk may produce.
    const bomb = gzipSync(Buffer.alloc(64 << 20)).toString("base64");
    const r = await request(server.url, "/streams", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text, compressed, bomb }),
    });
    expect(r.status, r.text).toBe(200);
    checks = JSON.parse(r.text).checks;
    if (process.env.SHOW_CHECKS) console.log(checks.map((c) => c.join(" | ")).join("\n"));
  });

  it("every check passes", () => {
    const failed = checks.filter((c) => !c[1]);
    expect(failed).toEqual([]);
    expect(checks.length).toBeGreaterThan(45);
  });

  it("a TransformStream body is streamed chunk by chunk (server-sent events)", async () => {
    const r = await request(server.url, "/sse");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("text/event-stream");
    expect(r.text).toBe("data: 0\n\ndata: 1\n\ndata: 2\n\n");
  });

  it("a CompressionStream body arrives as gzip", async () => {
    const res = await fetch(server.url + "/gzip");
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(await res.text()).toBe("hello ".repeat(1000));
  });
});
