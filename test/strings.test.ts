/**
 * Strings cross between the sandbox and the host exactly: a NUL, a lone surrogate or an astral
 * character survives every crossing (host-function arguments and results, request and response
 * bodies, headers, URLs, console, env, module sources, errors). Expected values come from Node.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { request, startServer, type RunningServer } from "./helpers.js";

// Raw NUL characters in the module's source text, inside a string and a template literal.
const NUL_MODULE = 'export const s = "x\0y";\nexport const raw = String.raw`p\0q`;\n';

const CHECKS = String.raw`
import { s, raw } from "./_nul.js";
const codes = (t) => Array.from({ length: t.length }, (_, i) => t.charCodeAt(i));
const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
export default {
  async fetch(request, env) {
    const out = {};
    const put = async (name, fn) => {
      try { out[name] = await fn(); } catch (e) { out[name] = "threw " + e.name + ": " + e.message; }
    };
    await put("encode", () => [...new TextEncoder().encode("a\0b\uD800c\uD83D\uDE00\uDC00")]);
    await put("encodeInto", () => {
      const d = new Uint8Array(8);
      const r = new TextEncoder().encodeInto("\0\uD800\0", d);
      return [r.read, r.written, ...d];
    });
    await put("decode", () => codes(new TextDecoder().decode(new Uint8Array([97, 0, 98, 0xf0, 0x9f, 0x98, 0x80, 0]))));
    await put("url", () => new URL("https://x/a\0b?c\0d#e\0f").href);
    await put("urlLone", () => new URL("https://x/\uD800/\uDC00?\uD800#\uDFFF").href);
    await put("urlAstral", () => new URL("https://x/\uD83D\uDE00?q=\uD83D\uDE00").href);
    await put("urlBase", () => new URL("b\0c", "https://x/a\0/").href);
    await put("search", () => new URLSearchParams([["a\0", "\0b"], ["\uD800", "\uD83D\uDE00"]]).toString());
    await put("blob", async () => codes(await new Blob(["a\0b", "\uD800", new Uint8Array([0])]).text()));
    await put("blobSize", () => new Blob(["a\0b\uD800"]).size);
    await put("digest", async () => hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("a\0b"))));
    await put("env", () => [codes(env.NUL), codes(env.LONE), codes(env.ASTRAL)]);
    await put("module", () => [codes(s), codes(raw)]);
    await put("headerLatin1", () => codes(request.headers.get("x-latin")));
    await put("headerNul", () => new Headers({ "x-a": "a\0b" }).get("x-a"));
    await put("headerLong", () => {
      const v = request.headers.get("x-long");
      return [v.length, v === "\u00e9".repeat(6000) + "end"];
    });
    await put("envBig", () => [env.BIG.length, env.BIG === "\u00fc\u20ac\uD83D\uDE00".repeat(30000)]);
    await put("responseText", async () => codes(await new Response("a\0b").text()));
    await put("formData", async () => {
      const r = new Request("http://x/", { method: "POST", body: "k%00=%00v&\0=\0" ,
        headers: { "content-type": "application/x-www-form-urlencoded" } });
      return [...(await r.formData())].map(([k, v]) => [codes(k), codes(v)]);
    });
    console.log("nul-log a\0b \uD800 \uD83D\uDE00 end");
    return Response.json(out);
  },
};
`;

const ECHO = String.raw`
export default {
  async fetch(request) {
    const text = await request.text();
    const codes = Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));
    return new Response(JSON.stringify(codes) + "|a\0b|\uD800|\uD83D\uDE00|" + text, {
      headers: { "x-echo": "caf\u00e9", "content-type": "text/plain; charset=utf-8" },
    });
  },
};
`;

let server: RunningServer;
let checks: Record<string, unknown>;
const codes = (t: string) => Array.from({ length: t.length }, (_, i) => t.charCodeAt(i));

beforeAll(async () => {
  server = await startServer({
    workers: 1,
    sites: {
      default: {
        "checks.js": CHECKS,
        "_nul.js": NUL_MODULE,
        "echo.js": ECHO,
        "long.js": String.raw`export default { fetch() {
          return new Response("\u00fc\u20ac\uD83D\uDE00".repeat(30000), {
            headers: { "x-long": "v".repeat(6000), "content-type": "text/plain; charset=utf-8" } });
        } };`,
        "nulroute.js": 'export default { fetch() { return new Response("route\0source"); } };',
        "broken.js": 'export const a = "\0";\nexport default {;\n',
        "throws.js":
          'export default { fetch() { throw new Error("boom\\0tail \\uD800 \\uD83D\\uDE00"); } };',
        "site.json": JSON.stringify({
          vars: {
            NUL: "a\0b",
            LONE: "x\uD800y\uDC00",
            ASTRAL: "\uD83D\uDE00",
            // Past the crossing's scratch block and its cap: a block of its own.
            BIG: "\u00fc\u20ac\uD83D\uDE00".repeat(30000),
          },
        }),
      },
    },
  });
  // A request meta past the crossing's first scratch block: 6000 latin1 units, 12 KB as UTF-8.
  const headers = { "x-latin": "caf\u00e9", "x-long": "\u00e9".repeat(6000) + "end" };
  const r = await request(server.url, "/checks", { headers });
  expect(r.status).toBe(200);
  checks = JSON.parse(r.text);
});
afterAll(() => server?.close());

describe("strings inside the sandbox, through host functions", () => {
  it("TextEncoder and TextDecoder keep NUL, turn lone surrogates into U+FFFD, keep astral", () => {
    expect(checks.encode).toEqual([...new TextEncoder().encode("a\0b\uD800c\uD83D\uDE00\uDC00")]);
    const d = new Uint8Array(8);
    const r = new TextEncoder().encodeInto("\0\uD800\0", d);
    expect(checks.encodeInto).toEqual([r.read, r.written, ...d]);
    const bytes = new Uint8Array([97, 0, 98, 0xf0, 0x9f, 0x98, 0x80, 0]);
    expect(checks.decode).toEqual(codes(new TextDecoder().decode(bytes)));
  });

  it("URL and URLSearchParams parse NUL, lone surrogates and astral characters as Node does", () => {
    expect(checks.url).toBe(new URL("https://x/a\0b?c\0d#e\0f").href);
    expect(checks.urlLone).toBe(new URL("https://x/\uD800/\uDC00?\uD800#\uDFFF").href);
    expect(checks.urlAstral).toBe(new URL("https://x/\uD83D\uDE00?q=\uD83D\uDE00").href);
    expect(checks.urlBase).toBe(new URL("b\0c", "https://x/a\0/").href);
    const sp = new URLSearchParams([
      ["a\0", "\0b"],
      ["\uD800", "\uD83D\uDE00"],
    ]);
    expect(checks.search).toBe(sp.toString());
  });

  it("Blob, Response.text, formData and digest see every byte", async () => {
    const blob = new Blob(["a\0b", "\uD800", new Uint8Array([0])]);
    expect(checks.blob).toEqual(codes(await blob.text()));
    expect(checks.blobSize).toBe(new Blob(["a\0b\uD800"]).size);
    expect(checks.digest).toBe(createHash("sha256").update("a\0b").digest("hex"));
    expect(checks.responseText).toEqual([97, 0, 98]);
    const form = new URLSearchParams("k%00=%00v&\0=\0");
    expect(checks.formData).toEqual([...form].map(([k, v]) => [codes(k), codes(v)]));
  });

  it("env vars from site.json and a module source with raw NULs arrive whole", () => {
    expect(checks.env).toEqual([codes("a\0b"), codes("x\uD800y\uDC00"), codes("\uD83D\uDE00")]);
    expect(checks.module).toEqual([codes("x\0y"), codes("p\0q")]);
  });

  it("header values cross as latin1; a NUL in a header value is refused", () => {
    expect(checks.headerLatin1).toEqual(codes("caf\u00e9"));
    expect(checks.headerNul).toMatch(/^threw TypeError/);
  });

  it("a long latin1 header value and a 270 KB env var of multi-byte characters arrive whole", () => {
    expect(checks.headerLong).toEqual([6003, true]);
    expect(checks.envBig).toEqual([120000, true]);
  });

  it("console text keeps what follows a NUL", async () => {
    await server.waitFor(/nul-log a.{1,8}b .{1,12} \uD83D\uDE00 end/);
  });
});

describe("strings through the server", () => {
  it("a request body with NUL and astral characters reaches the handler; the text answer comes back whole", async () => {
    const sent = "in\0put \u00e9 \uD83D\uDE00 \0";
    const r = await request(server.url, "/echo", { method: "POST", body: sent });
    expect(r.status).toBe(200);
    expect(r.headers["x-echo"]).toBe(Buffer.from("caf\u00e9", "latin1").toString("latin1"));
    const expected = JSON.stringify(codes(sent)) + "|a\0b|\uFFFD|\uD83D\uDE00|" + sent;
    expect(r.body.equals(Buffer.from(expected))).toBe(true);
  });

  it("a 270 KB multi-byte text answer with a long header comes back whole", async () => {
    const r = await request(server.url, "/long");
    expect(r.status).toBe(200);
    expect(r.headers["x-long"]).toBe("v".repeat(6000));
    expect(r.body.equals(Buffer.from("\u00fc\u20ac\uD83D\uDE00".repeat(30000)))).toBe(true);
  });

  it("a route module whose source holds a raw NUL answers whole", async () => {
    const r = await request(server.url, "/nulroute");
    expect(r.status).toBe(200);
    expect(r.body.equals(Buffer.from("route\0source"))).toBe(true);
  });

  it("a module with a raw NUL and a syntax error fails the load with its file and line", async () => {
    const r = await request(server.url, "/broken");
    expect(r.status).toBe(500);
    await server.waitFor(/module failed to load: SyntaxError: .*\\n\s+at broken\.js:2/);
  });

  it("an error message with NUL, lone surrogate and astral reaches the log whole", async () => {
    const r = await request(server.url, "/throws");
    expect(r.status).toBe(500);
    await server.waitFor(/handler failed: Error: boom.{1,8}tail .{1,12} \uD83D\uDE00/);
  });
});
