/**
 * TextDecoder for every WHATWG encoding, with fatal, ignoreBOM and streaming, run inside the
 * sandbox. Cases come from the Encoding standard; the bulk comparisons (every byte of each
 * single-byte encoding, random multi-byte input cut at random points) use @exodus/bytes in this
 * process, the implementation of the standard's indexes the host also uses, to check the
 * plumbing: labels, options, stream state across calls, errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TextDecoder as WhatwgDecoder } from "@exodus/bytes/encoding.js";
import { request, startServer, type RunningServer } from "./helpers.js";

interface Case {
  label: string;
  chunks: number[][];
  fatal?: boolean;
  ignoreBOM?: boolean;
}
type Result = { encoding: string; codes: number[] } | { error: string };

const SINGLE_BYTE = [
  "ibm866",
  "iso-8859-2",
  "iso-8859-3",
  "iso-8859-4",
  "iso-8859-5",
  "iso-8859-6",
  "iso-8859-7",
  "iso-8859-8",
  "iso-8859-8-i",
  "iso-8859-10",
  "iso-8859-13",
  "iso-8859-14",
  "iso-8859-15",
  "iso-8859-16",
  "koi8-r",
  "koi8-u",
  "macintosh",
  "windows-874",
  "windows-1250",
  "windows-1251",
  "windows-1252",
  "windows-1253",
  "windows-1254",
  "windows-1255",
  "windows-1256",
  "windows-1257",
  "windows-1258",
  "x-mac-cyrillic",
  "x-user-defined",
];
const MULTI_BYTE = ["gbk", "gb18030", "big5", "euc-jp", "iso-2022-jp", "shift_jis", "euc-kr"];
const ALL_BYTES = Array.from({ length: 256 }, (_, i) => i);

/** A small deterministic generator, so a failure can be reproduced. */
function random(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}

function split(bytes: number[], rnd: () => number): number[][] {
  const chunks: number[][] = [];
  for (let i = 0; i < bytes.length;) {
    const n = 1 + Math.floor(rnd() * 4);
    chunks.push(bytes.slice(i, i + n));
    i += n;
  }
  return chunks;
}

/** What the sandbox should give for a case, by the reference decoder. */
function reference(c: Case): Result {
  try {
    const d = new WhatwgDecoder(c.label, { fatal: c.fatal, ignoreBOM: c.ignoreBOM });
    let text = "";
    for (const chunk of c.chunks) text += d.decode(new Uint8Array(chunk), { stream: true });
    text += d.decode();
    return {
      encoding: d.encoding,
      codes: Array.from({ length: text.length }, (_, i) => text.charCodeAt(i)),
    };
  } catch (e) {
    return { error: (e as Error).name };
  }
}

const bulk: Case[] = [];
for (const label of SINGLE_BYTE) {
  bulk.push({ label, chunks: [ALL_BYTES] });
  bulk.push({ label, chunks: [ALL_BYTES], fatal: true });
}
{
  const rnd = random(7);
  for (const label of [...MULTI_BYTE, "utf-8", "utf-16le", "utf-16be"]) {
    for (let k = 0; k < 2; k++) {
      // Mostly plausible lead/trail bytes, some ASCII and escapes, cut at random points.
      const bytes = Array.from({ length: 160 }, () =>
        rnd() < 0.2
          ? Math.floor(rnd() * 128)
          : rnd() < 0.05
            ? 0x1b
            : 0x80 + Math.floor(rnd() * 128),
      );
      bulk.push({ label, chunks: split(bytes, rnd) });
      bulk.push({ label, chunks: [bytes] });
    }
  }
}

const SITE = String.raw`
const CASES = __CASES__;
export default {
  async fetch() {
    const results = CASES.map((c) => {
      try {
        const d = new TextDecoder(c.label, { fatal: c.fatal, ignoreBOM: c.ignoreBOM });
        let text = "";
        for (const chunk of c.chunks) text += d.decode(new Uint8Array(chunk), { stream: true });
        text += d.decode();
        return { encoding: d.encoding, codes: Array.from({ length: text.length }, (_, i) => text.charCodeAt(i)) };
      } catch (e) {
        return { error: e.name };
      }
    });
    const api = [];
    const t = (name, f) => { try { api.push([name, f()]); } catch (e) { api.push([name, "threw " + e.name]); } };
    const codes = (s) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i).toString(16)).join(" ");
    const u8 = (...b) => new Uint8Array(b);
    t("labels", () => [" \t\n\f\rUTF-8\r ", "unicode-1-1-utf-8", "latin1", "ascii", "US-ASCII", "iso_8859-1",
      "utf-16", "ucs-2", "unicode", "csunicode", "gb2312", "chinese", "x-gbk", "big5-hkscs", "x-x-big5",
      "x-sjis", "ms_kanji", "windows-31j", "csiso2022jp", "ks_c_5601-1987", "windows-949", "cp1252",
      "x-cp1250", "l2", "greek", "hebrew", "visual", "logical", "iso-8859-8-i", "koi", "koi8-ru", "mac",
      "x-mac-ukrainian", "dos-874", "tis-620", "iso885915", "iso-8859-16", "x-user-defined"]
      .map((l) => new TextDecoder(l).encoding).join());
    t("bad labels", () => ["replacement", "iso-2022-kr", "hz-gb-2312", "csiso2022kr", "iso-2022-cn",
      "iso-2022-cn-ext", "\u00a0utf-8", "\u212Aoi8-r", "utf-32", "utf-7", "", "unicode-1-1-utf-7"]
      .map((l) => { try { new TextDecoder(l); return "ok"; } catch (e) { return e.name; } }).join());
    t("default", () => { const d = new TextDecoder(); return [d.encoding, d.fatal, d.ignoreBOM].join(); });
    t("option coercion", () => { const d = new TextDecoder("utf-8", { fatal: "yes", ignoreBOM: 1 }); return [d.fatal, d.ignoreBOM].join(); });
    t("options not an object", () => new TextDecoder("utf-8", 5));
    t("decode options not an object", () => new TextDecoder().decode(u8(65), 1));
    t("symbol label", () => new TextDecoder(Symbol("x")));
    t("no input", () => new TextDecoder().decode());
    t("views", () => { const b = new Uint8Array([0, 0x68, 0x69, 0]).buffer;
      return [new TextDecoder().decode(new DataView(b, 1, 2)), new TextDecoder().decode(new Uint8Array(b, 1, 2)),
        new TextDecoder().decode(b).length, new TextDecoder("utf-16le").decode(new Uint16Array([0x41, 0x42]))].join(); });
    t("not a buffer", () => new TextDecoder().decode("abc"));
    t("utf-8 bom", () => [codes(new TextDecoder().decode(u8(0xef, 0xbb, 0xbf, 0x41))),
      codes(new TextDecoder("utf-8", { ignoreBOM: true }).decode(u8(0xef, 0xbb, 0xbf, 0x41))),
      codes(new TextDecoder().decode(u8(0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf)))].join("|"));
    t("utf-8 bom split across chunks", () => { const d = new TextDecoder();
      return codes(d.decode(u8(0xef), { stream: true }) + d.decode(u8(0xbb), { stream: true }) + d.decode(u8(0xbf, 0x41))); });
    t("utf-8 bom only at the start of a stream", () => { const d = new TextDecoder();
      return codes(d.decode(u8(0x41), { stream: true }) + d.decode(u8(0xef, 0xbb, 0xbf))); });
    t("a new stream strips a bom again", () => { const d = new TextDecoder();
      return codes(d.decode(u8(0xef, 0xbb, 0xbf, 0x41)) + d.decode(u8(0xef, 0xbb, 0xbf, 0x42))); });
    t("utf-16 boms", () => [codes(new TextDecoder("utf-16le").decode(u8(0xff, 0xfe, 0x41, 0))),
      codes(new TextDecoder("utf-16be").decode(u8(0xfe, 0xff, 0, 0x41))),
      codes(new TextDecoder("utf-16le").decode(u8(0xfe, 0xff, 0x41, 0))),
      codes(new TextDecoder("utf-16le", { ignoreBOM: true }).decode(u8(0xff, 0xfe, 0x41, 0)))].join("|"));
    t("utf-16 surrogates", () => [codes(new TextDecoder("utf-16le").decode(u8(0x00, 0xd8, 0x41, 0x00))),
      codes(new TextDecoder("utf-16le").decode(u8(0x00, 0xdc, 0x3d, 0xd8, 0x00, 0xde))),
      codes(new TextDecoder("utf-16le").decode(u8(0x41)))].join("|"));
    t("utf-8 fatal", () => [0xff, 0xc0, 0xed].map((b) => { try { new TextDecoder("utf-8", { fatal: true }).decode(u8(b, 0x80)); return "ok"; }
      catch (e) { return e.name + (e instanceof TypeError); } }).join());
    t("utf-8 fatal in a stream throws when the error is seen", () => { const d = new TextDecoder("utf-8", { fatal: true });
      const first = d.decode(u8(0xf0, 0x9f), { stream: true });
      try { d.decode(u8(0x41), { stream: true }); return "no throw"; } catch (e) { return codes(first) + "|" + e.name + "|" + codes(d.decode(u8(0x42))); } });
    t("fatal flush of a truncated sequence", () => { const d = new TextDecoder("utf-8", { fatal: true });
      d.decode(u8(0xe2, 0x82), { stream: true }); try { d.decode(); return "no throw"; } catch (e) { return e.name; } });
    t("lenient flush", () => { const d = new TextDecoder();
      return codes(d.decode(u8(0xe2, 0x82), { stream: true }) + "|" + d.decode()); });
    t("utf-8 maximal subparts", () => codes(new TextDecoder().decode(u8(0xf0, 0x80, 0x80, 0xe0, 0x9f, 0x80, 0xf4, 0x90, 0x80, 0x80, 0xed, 0xa0, 0x80, 0xc2, 0x41))));
    t("single-byte fatal", () => { try { new TextDecoder("windows-874", { fatal: true }).decode(u8(0xdb)); return "ok"; } catch (e) { return e.name; } });
    t("iso-2022-jp escapes split across chunks", () => { const d = new TextDecoder("iso-2022-jp");
      return codes([[0x1b], [0x24, 0x42], [0x30], [0x21, 0x1b, 0x28], [0x42, 0x41]].map((c) => d.decode(new Uint8Array(c), { stream: true })).join("") + d.decode()); });
    t("host decoders are freed when dropped", () => {
      for (let i = 0; i < 4200; i++) new TextDecoder("shift_jis").decode(u8(0x41), { stream: true });
      return "ok";
    });
    t("host decoders alive at once are bounded", () => {
      const keep = [];
      try {
        for (let i = 0; i < 4097; i++) { const d = new TextDecoder("shift_jis"); d.decode(u8(0x41)); keep.push(d); }
        return "no bound";
      } catch (e) { return e.name + " " + keep.length + " " + keep[0].decode(u8(0x42)); }
    });
    return Response.json({ results, api });
  },
};
`;

let server: RunningServer;
let out: { results: Result[]; api: [string, unknown][] };
const api = (name: string) => out.api.find((a) => a[0] === name)?.[1];
const spec: Case[] = [];
const specIndex = new Map<string, number>();
/** Cases whose expected code units come from the standard itself. */
function specCase(name: string, label: string, bytes: number[], fatal = false) {
  specIndex.set(name, bulk.length + spec.length);
  spec.push({ label, chunks: [bytes], fatal });
}
specCase("windows-1252 0x80 0x81 0x9f", "windows-1252", [0x80, 0x81, 0x9f]);
specCase("latin1 is windows-1252", "latin1", [0x80]);
specCase("iso-8859-16", "iso-8859-16", [0xa1, 0xa4]);
specCase("x-user-defined", "x-user-defined", [0x41, 0x80, 0xff]);
specCase("koi8-u", "koi8-u", [0xae, 0xbe]);
specCase("windows-1255 0xca", "windows-1255", [0xca]);
specCase("windows-874 unassigned", "windows-874", [0xdb]);
specCase("big5 two-code-point pointers", "big5", [0x88, 0x62, 0x88, 0x64, 0x88, 0xa3, 0x88, 0xa5]);
specCase("big5 hkscs and a bad lead", "big5", [0x87, 0x40, 0x80]);
specCase("euc-kr extension", "euc-kr", [0x81, 0x41]);
specCase("shift_jis 0x80 and 0xa0", "shift_jis", [0x80, 0xa0]);
specCase("gbk 0x80", "gbk", [0x80]);
specCase(
  "gb18030 four-byte",
  "gb18030",
  [0x81, 0x30, 0x81, 0x30, 0x84, 0x31, 0xa4, 0x39, 0x90, 0x30, 0x81, 0x30],
);
specCase("euc-jp jis0212", "euc-jp", [0x8f, 0xa2, 0xaf, 0x8e, 0xa1]);

const EXPECTED: Record<string, number[]> = {
  "windows-1252 0x80 0x81 0x9f": [0x20ac, 0x81, 0x178],
  "latin1 is windows-1252": [0x20ac],
  "iso-8859-16": [0x104, 0x20ac],
  "x-user-defined": [0x41, 0xf780, 0xf7ff],
  "koi8-u": [0x45e, 0x40e],
  "windows-1255 0xca": [0x5ba],
  "windows-874 unassigned": [0xfffd],
  "big5 two-code-point pointers": [0xca, 0x304, 0xca, 0x30c, 0xea, 0x304, 0xea, 0x30c],
  "big5 hkscs and a bad lead": [0x43f0, 0xfffd],
  "euc-kr extension": [0xac02],
  "shift_jis 0x80 and 0xa0": [0x80, 0xfffd],
  "gbk 0x80": [0x20ac],
  "gb18030 four-byte": [0x80, 0xffff, 0xd800, 0xdc00],
  "euc-jp jis0212": [0x2d8, 0xff61],
};

beforeAll(async () => {
  const site = SITE.replace("__CASES__", JSON.stringify([...bulk, ...spec]));
  server = await startServer({
    workers: 1,
    args: ["--timeout", "20000", "--watchdog", "60000"],
    sites: { default: { "decode.js": site } },
  });
  const r = await request(server.url, "/decode");
  expect(r.status, r.text + server.stderr()).toBe(200);
  out = JSON.parse(r.text);
});
afterAll(() => server?.close());

describe("TextDecoder encodings", () => {
  it("decodes what the standard says where Node's ICU differs", () => {
    for (const [name, codes] of Object.entries(EXPECTED)) {
      expect(out.results[specIndex.get(name)!], name).toMatchObject({ codes });
    }
  });

  it("every byte of every single-byte encoding, lenient and fatal", () => {
    for (let i = 0; i < SINGLE_BYTE.length * 2; i++)
      expect(out.results[i], JSON.stringify(bulk[i]!.label)).toEqual(reference(bulk[i]!));
  });

  it("multi-byte and UTF encodings, whole and streamed in random chunks", () => {
    for (let i = SINGLE_BYTE.length * 2; i < bulk.length; i++)
      expect(out.results[i], bulk[i]!.label).toEqual(reference(bulk[i]!));
  });
});

describe("TextDecoder API", () => {
  it("labels map to names as the standard's table says; replacement and unknown labels throw", () => {
    expect(api("labels")).toBe(
      "utf-8,utf-8,windows-1252,windows-1252,windows-1252,windows-1252,utf-16le,utf-16le," +
        "utf-16le,utf-16le,gbk,gbk,gbk,big5,big5,shift_jis,shift_jis,shift_jis,iso-2022-jp," +
        "euc-kr,euc-kr,windows-1252,windows-1250,iso-8859-2,iso-8859-7,iso-8859-8,iso-8859-8," +
        "iso-8859-8-i,iso-8859-8-i,koi8-r,koi8-u,macintosh,x-mac-cyrillic,windows-874," +
        "windows-874,iso-8859-15,iso-8859-16,x-user-defined",
    );
    expect(api("bad labels")).toBe(Array(12).fill("RangeError").join());
  });

  it("converts arguments as WebIDL does", () => {
    expect(api("default")).toBe("utf-8,false,false");
    expect(api("option coercion")).toBe("true,true");
    expect(api("options not an object")).toBe("threw TypeError");
    expect(api("decode options not an object")).toBe("threw TypeError");
    expect(api("symbol label")).toBe("threw TypeError");
    expect(api("no input")).toBe("");
    expect(api("views")).toBe("hi,hi,4,AB");
    expect(api("not a buffer")).toBe("threw TypeError");
  });

  it("byte order marks", () => {
    expect(api("utf-8 bom")).toBe("41|feff 41|feff");
    expect(api("utf-8 bom split across chunks")).toBe("41");
    expect(api("utf-8 bom only at the start of a stream")).toBe("41 feff");
    expect(api("a new stream strips a bom again")).toBe("41 42");
    expect(api("utf-16 boms")).toBe("41|41|fffe 41|feff 41");
  });

  it("UTF-16 surrogates and odd lengths", () => {
    expect(api("utf-16 surrogates")).toBe("fffd 41|fffd d83d de00|fffd");
  });

  it("fatal mode throws TypeError where the error is, also in a stream and at its end", () => {
    expect(api("utf-8 fatal")).toBe("TypeErrortrue,TypeErrortrue,TypeErrortrue");
    expect(api("utf-8 fatal in a stream throws when the error is seen")).toBe("|TypeError|42");
    expect(api("fatal flush of a truncated sequence")).toBe("TypeError");
    expect(api("lenient flush")).toBe("7c fffd");
    expect(api("single-byte fatal")).toBe("TypeError");
  });

  it("replaces maximal subparts of bad UTF-8 one U+FFFD each", () => {
    const bad = [0xf0, 0x80, 0x80, 0xe0, 0x9f, 0x80, 0xf4, 0x90, 0x80, 0x80, 0xed, 0xa0, 0x80];
    const text = new TextDecoder().decode(new Uint8Array([...bad, 0xc2, 0x41]));
    expect(api("utf-8 maximal subparts")).toBe(
      Array.from({ length: text.length }, (_, i) => text.charCodeAt(i).toString(16)).join(" "),
    );
  });

  it("host decoders are freed with their TextDecoder, and bounded while alive", () => {
    expect(api("host decoders are freed when dropped")).toBe("ok");
    expect(api("host decoders alive at once are bounded")).toBe("RangeError 4096 B");
  });

  it("keeps iso-2022-jp state across chunks cut inside an escape", () => {
    expect(api("iso-2022-jp escapes split across chunks")).toBe("4e9c 41");
  });
});
