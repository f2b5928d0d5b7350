import { describe, expect, it } from "vitest";
import { requestHead, responseHead } from "../../src/fastcgi/cgi.js";
import {
  encodePairs,
  encodeRecord,
  FastCgiProtocolError,
  parsePairs,
  RecordParser,
  streamRecords,
  T,
} from "../../src/fastcgi/records.js";

const limits = { maxBytes: 1 << 20, maxPairs: 100 };

describe("records", () => {
  it("parses records however the bytes are cut", () => {
    const bytes = Buffer.concat([
      encodeRecord(T.PARAMS, 1, encodePairs([["A", "1"]])),
      encodeRecord(T.STDIN, 1, Buffer.from("hello")),
      encodeRecord(T.STDIN, 1, Buffer.alloc(0)),
    ]);
    for (const step of [1, 3, 7, 8, 9, bytes.length]) {
      const p = new RecordParser();
      const got = [];
      for (let i = 0; i < bytes.length; i += step) got.push(...p.push(bytes.subarray(i, i + step)));
      expect(got.map((r) => [r.type, r.requestId, Buffer.from(r.content).toString()])).toEqual([
        [T.PARAMS, 1, "\x01\x01A1"],
        [T.STDIN, 1, "hello"],
        [T.STDIN, 1, ""],
      ]);
      expect(p.partial).toBe(false);
    }
  });

  it("pads every record to a multiple of 8 and splits streams at 65535 bytes", () => {
    expect(encodeRecord(T.STDOUT, 1, Buffer.from("abc")).length).toBe(16);
    const parts = streamRecords(T.STDOUT, 2, Buffer.alloc(65535 * 2 + 10));
    const p = new RecordParser();
    const recs = p.push(Buffer.concat(parts));
    expect(recs.map((r) => r.content.length)).toEqual([65535, 65535, 10]);
    expect(Buffer.concat(parts).length % 8).toBe(0);
  });

  it("name-value pairs with 1- and 4-byte lengths round-trip", () => {
    const pairs: [string, string][] = [
      ["SHORT", "x"],
      ["LONG", "y".repeat(200)],
      ["N".repeat(130), ""],
    ];
    expect(parsePairs(encodePairs(pairs), limits)).toEqual(pairs);
  });

  it("bounds params by bytes and count, and refuses truncated pairs", () => {
    const many = encodePairs(Array.from({ length: 5 }, (_, i) => [`K${i}`, "v"]));
    expect(() => parsePairs(many, { maxBytes: 1000, maxPairs: 4 })).toThrow(/more than 4 params/);
    expect(() => parsePairs(many, { maxBytes: 10, maxPairs: 100 })).toThrow(/over 10/);
    expect(() => parsePairs(Buffer.from([0x80, 0, 0]), limits)).toThrow(FastCgiProtocolError);
    expect(() => parsePairs(Buffer.from([5, 1, 65]), limits)).toThrow(/longer than its record/);
  });
});

describe("CGI variables", () => {
  const base = { REQUEST_METHOD: "POST", REQUEST_URI: "/a?b=1", HTTP_HOST: "h.example" };
  const head = (extra: Record<string, string>) =>
    requestHead(new Map(Object.entries({ ...base, ...extra })));

  it("scheme from HTTPS or REQUEST_SCHEME", () => {
    expect(head({})).toMatchObject({ scheme: "http" });
    expect(head({ HTTPS: "on" })).toMatchObject({ scheme: "https" });
    expect(head({ HTTPS: "off" })).toMatchObject({ scheme: "http" });
    expect(head({ REQUEST_SCHEME: "https" })).toMatchObject({ scheme: "https" });
  });

  it("one content-length and content-type, no transfer-encoding: the web server framed the body", () => {
    const h = head({
      CONTENT_LENGTH: "3",
      CONTENT_TYPE: "text/plain",
      HTTP_CONTENT_LENGTH: "3",
      HTTP_CONTENT_TYPE: "text/plain",
      HTTP_TRANSFER_ENCODING: "chunked",
    });
    expect(typeof h === "object" && h.rawHeaders).toEqual([
      "host",
      "h.example",
      "content-length",
      "3",
      "content-type",
      "text/plain",
    ]);
  });

  it("the target from SCRIPT_NAME, PATH_INFO and QUERY_STRING when REQUEST_URI is missing", () => {
    const h = requestHead(
      new Map(
        Object.entries({
          REQUEST_METHOD: "GET",
          SCRIPT_NAME: "/app",
          PATH_INFO: "/x",
          QUERY_STRING: "q=1",
        }),
      ),
    );
    expect(typeof h === "object" && h.target).toBe("/app/x?q=1");
  });

  it("refuses what the request record could not carry", () => {
    expect(head({ REQUEST_METHOD: "GE T" })).toMatch(/REQUEST_METHOD/);
    expect(head({ REQUEST_URI: "/a b" })).toMatch(/REQUEST_URI/);
    expect(head({ HTTP_X: "a\nb" })).toMatch(/bad header in HTTP_X/);
    expect(head({ SITEBOX_SITE: "a\0" })).toMatch(/SITEBOX_SITE/);
  });

  it("the response head: Status line, headers, blank line; hop-by-hop headers dropped", () => {
    expect(
      responseHead(404, ["content-type", "text/plain", "connection", "close", "x-a", "1"]),
    ).toBe("Status: 404 Not Found\r\ncontent-type: text/plain\r\nx-a: 1\r\n\r\n");
  });
});
