/**
 * Checks the response record a handler's Response became, before any of it reaches a socket.
 * It comes from untrusted code: a bad status, a header name that is not a token, or a value with
 * CR/LF/NUL (response splitting) fails the request with a message for the error log. Pure.
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
const BAD_VALUE = /[\r\n\0]/;
/** One test for the common value: plain ASCII with no CR, LF or NUL. */
const SLOW_VALUE = /[\r\n\0\x80-\uffff]/;
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
 * header names and values. Returns the record and where its body starts, or a sentence.
 */
export function parseOutboxRecord(
  out: string,
  pos: number,
): { meta: ResponseMeta; bodyStart: number; bodyLength: number } | string {
  const fields: string[] = [];
  let at = pos;
  const line = () => {
    const nl = out.indexOf("\n", at);
    if (nl === -1) return null;
    const text = out.slice(at, nl);
    at = nl + 1;
    return text;
  };
  for (let n = 0; n < 4; n++) {
    const f = line();
    if (f === null) return "truncated response record";
    fields.push(f);
  }
  const [id, status, length, count] = fields.map(Number) as [number, number, number, number];
  if (![id, length, count].every(Number.isSafeInteger)) return "malformed response record";
  const h: string[] = [];
  for (let n = 0; n < count * 2; n++) {
    const f = line();
    if (f === null) return "truncated response record";
    h.push(f);
  }
  if (!Number.isInteger(status) || status < 200 || status > 599)
    return `response status ${fields[1]} is not an integer from 200 to 599`;
  const headers = checkHeaders(h);
  if (typeof headers === "string") return headers;
  const meta: ResponseMeta = {
    id,
    status,
    headers: headers.list,
    kind: "text",
    latin1: headers.latin1,
  };
  return { meta, bodyStart: at, bodyLength: length };
}

/** Header list from a handler: tokens for names, no CR/LF/NUL in values, framing dropped. */
function checkHeaders(h: unknown[]): { list: string[]; latin1: boolean } | string {
  const list: string[] = [];
  let latin1 = false;
  for (let n = 0; n < h.length; n += 2) {
    const name = h[n];
    const value = h[n + 1];
    if (typeof name !== "string" || !TOKEN.test(name))
      return `invalid header name ${JSON.stringify(name)}`;
    if (typeof value !== "string") return `invalid value for header ${name}`;
    if (SLOW_VALUE.test(value)) {
      if (BAD_VALUE.test(value))
        return `invalid value for header ${name}: it contains CR, LF or NUL`;
      latin1 = true;
    }
    if (HOP_BY_HOP.has(name.toLowerCase())) continue;
    list.push(name, value);
  }
  return { list, latin1 };
}
