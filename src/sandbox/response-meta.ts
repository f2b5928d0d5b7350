/**
 * Checks the response record a handler's Response became, before any of it reaches a socket.
 * It comes from untrusted code: a bad status, a header name that is not a token, or a value Node
 * would refuse to write fails that one request with a message for the error log. Pure.
 */
export type BodyKind = "none" | "text" | "bytes" | "stream";

export interface ResponseMeta {
  id: number;
  status: number;
  headers: string[];
  kind: BodyKind;
  /** A header value holds a byte above 0x7F (see Sandbox's #answer). */
  latin1: boolean;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * RFC 9110 field-value as Node enforces it (checkInvalidHeaderChar in lib/_http_common.js): tab,
 * visible ASCII, space and obs-text (0x80-0xFF); anything else (CR, LF, NUL, the other controls,
 * DEL, a code point above 0xFF) would make writeHead throw, so it must never get that far.
 */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** One test for the common value: tab and visible ASCII only. */
const SLOW_VALUE = /[^\t\x20-\x7e]/;
/** Framing is the server's job: a handler cannot set these. */
const HOP_BY_HOP = new Set([
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
]);
const KINDS = new Set(["none", "text", "bytes", "stream"]);

/** The checked record, or a sentence saying what was wrong. */
export function checkResponseMeta(text: string): ResponseMeta | string {
  let raw: { i?: unknown; s?: unknown; h?: unknown; k?: unknown };
  try {
    raw = JSON.parse(text);
  } catch {
    return "response record is not JSON";
  }
  const { i, s, h, k } = raw;
  if (typeof i !== "number") return "response record has no request id";
  if (typeof s !== "number" || !Number.isInteger(s) || s < 200 || s > 599)
    return `response status ${String(s)} is not an integer from 200 to 599`;
  if (!Array.isArray(h) || h.length % 2 !== 0) return "response headers are malformed";
  if (typeof k !== "string" || !KINDS.has(k)) return "response body kind is malformed";
  const headers = checkHeaders(h);
  if (typeof headers === "string") return headers;
  return { id: i, status: s, headers: headers.list, kind: k as BodyKind, latin1: headers.latin1 };
}

/**
 * A text response record from the outbox (90-dispatch.js), lines split at "\n" (which no status,
 * header name or header value can contain): id, status, body length, header count, then the
 * header names and values. Returns the record and where its body starts, or a sentence when the
 * framing itself is broken. A bad status or header is that one response's `error`: the records
 * after it are still sound.
 */
export function parseOutboxRecord(
  out: string,
  pos: number,
): { meta: ResponseMeta; bodyStart: number; bodyLength: number; error: string | null } | string {
  // Plain index arithmetic, no closures or field arrays: this runs once per response.
  const e0 = out.indexOf("\n", pos);
  const e1 = e0 === -1 ? -1 : out.indexOf("\n", e0 + 1);
  const e2 = e1 === -1 ? -1 : out.indexOf("\n", e1 + 1);
  const e3 = e2 === -1 ? -1 : out.indexOf("\n", e2 + 1);
  if (e3 === -1) return "truncated response record";
  const id = Number(out.slice(pos, e0));
  const statusText = out.slice(e0 + 1, e1);
  const status = Number(statusText);
  const length = Number(out.slice(e1 + 1, e2));
  const count = Number(out.slice(e2 + 1, e3));
  if (!Number.isSafeInteger(id) || !Number.isSafeInteger(length) || !Number.isSafeInteger(count))
    return "malformed response record";
  const h: string[] = [];
  let at = e3 + 1;
  for (let n = 0; n < count * 2; n++) {
    const nl = out.indexOf("\n", at);
    if (nl === -1) return "truncated response record";
    h.push(out.slice(at, nl));
    at = nl + 1;
  }
  if (at + length > out.length) return "truncated response record";
  let headers: { list: string[]; latin1: boolean } | string;
  if (!Number.isInteger(status) || status < 200 || status > 599)
    headers = `response status ${statusText} is not an integer from 200 to 599`;
  else headers = checkHeaders(h);
  const error = typeof headers === "string" ? headers : null;
  const checked = typeof headers === "string" ? { list: [], latin1: false } : headers;
  return {
    meta: { id, status, headers: checked.list, kind: "text", latin1: checked.latin1 },
    bodyStart: at,
    bodyLength: length,
    error,
  };
}

/**
 * Header names already checked: true for a token that is not hop-by-hop, false for a hop-by-hop
 * one. Bounded, so a site inventing names cannot grow it without limit.
 */
const NAMES = new Map<string, boolean>();
const MAX_NAMES = 1024;

/** true: a token a handler may set; false: a token the server sets itself; null: no token. */
function nameKind(name: string): boolean | null {
  const known = NAMES.get(name);
  if (known !== undefined) return known;
  if (!TOKEN.test(name)) return null;
  const ok = !HOP_BY_HOP.has(name.toLowerCase());
  if (NAMES.size < MAX_NAMES) NAMES.set(name, ok);
  return ok;
}

/** Header list from a handler: tokens for names, field-values Node accepts, framing dropped. */
function checkHeaders(h: unknown[]): { list: string[]; latin1: boolean } | string {
  const list: string[] = [];
  let latin1 = false;
  for (let n = 0; n < h.length; n += 2) {
    const name = h[n];
    const value = h[n + 1];
    const kind = typeof name === "string" ? nameKind(name) : null;
    if (kind === null) return `invalid header name ${JSON.stringify(name)}`;
    if (typeof value !== "string") return `invalid value for header ${name}: not a string`;
    if (SLOW_VALUE.test(value)) {
      const bad = BAD_VALUE.exec(value);
      if (bad !== null)
        return (
          `invalid value for header ${name}: character U+` +
          `${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")} is not allowed`
        );
      latin1 = true;
    }
    if (kind) list.push(name as string, value);
  }
  return { list, latin1 };
}
