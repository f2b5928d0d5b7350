/**
 * FastCGI 1.0 records, pure: the 8-byte header, the bodies of the fixed-size records, name-value
 * pairs, and an incremental parser that turns socket chunks into records. No I/O here; the
 * responder (responder.ts) owns the socket.
 *
 * Everything a peer controls is bounded: a record is at most 8 + 65535 + 255 bytes by its own
 * header, and name-value pairs are parsed against a byte and a count limit. A violation throws a
 * FastCgiProtocolError, which ends that connection.
 */

export const VERSION = 1;
export const HEADER_LEN = 8;
export const MAX_CONTENT = 65535;

export const T = {
  BEGIN_REQUEST: 1,
  ABORT_REQUEST: 2,
  END_REQUEST: 3,
  PARAMS: 4,
  STDIN: 5,
  STDOUT: 6,
  STDERR: 7,
  DATA: 8,
  GET_VALUES: 9,
  GET_VALUES_RESULT: 10,
  UNKNOWN_TYPE: 11,
} as const;

export const ROLE_RESPONDER = 1;
export const FLAG_KEEP_CONN = 1;

export const PROTOCOL_STATUS = {
  REQUEST_COMPLETE: 0,
  CANT_MPX_CONN: 1,
  OVERLOADED: 2,
  UNKNOWN_ROLE: 3,
} as const;

export class FastCgiProtocolError extends Error {
  override name = "FastCgiProtocolError";
}

export interface FcgiRecord {
  type: number;
  requestId: number;
  /** A view into the socket's chunk when the record arrived whole, else a copy. */
  content: Uint8Array;
}

/** The 8-byte header of a record carrying `contentLength` bytes, padded to a multiple of 8. */
export function header(type: number, requestId: number, contentLength: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_LEN);
  h[0] = VERSION;
  h[1] = type;
  h.writeUInt16BE(requestId, 2);
  h.writeUInt16BE(contentLength, 4);
  h[6] = padding(contentLength);
  h[7] = 0;
  return h;
}

/** `header()` written into `out` at `at`, for responses built in one buffer. */
export function writeHeader(
  out: Buffer,
  at: number,
  type: number,
  requestId: number,
  contentLength: number,
): void {
  out[at] = VERSION;
  out[at + 1] = type;
  out.writeUInt16BE(requestId, at + 2);
  out.writeUInt16BE(contentLength, at + 4);
  out[at + 6] = padding(contentLength);
  out[at + 7] = 0;
}

export function padding(contentLength: number): number {
  return (8 - (contentLength & 7)) & 7;
}

const ZEROS = Buffer.alloc(8);

/** One whole record (header, content, padding) as a single buffer. */
export function encodeRecord(type: number, requestId: number, content: Uint8Array): Buffer {
  if (content.byteLength > MAX_CONTENT) throw new RangeError("record content over 65535 bytes");
  const pad = padding(content.byteLength);
  const out = Buffer.allocUnsafe(HEADER_LEN + content.byteLength + pad);
  header(type, requestId, content.byteLength).copy(out, 0);
  out.set(content, HEADER_LEN);
  ZEROS.copy(out, HEADER_LEN + content.byteLength, 0, pad);
  return out;
}

/** The pieces of a byte stream as records of at most 65535 bytes (header, slice, padding). */
export function streamRecords(type: number, requestId: number, data: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let off = 0; off < data.byteLength; off += MAX_CONTENT) {
    const slice = data.subarray(off, Math.min(data.byteLength, off + MAX_CONTENT));
    parts.push(header(type, requestId, slice.byteLength), slice);
    const pad = padding(slice.byteLength);
    if (pad > 0) parts.push(ZEROS.subarray(0, pad));
  }
  return parts;
}

export function endRequest(requestId: number, appStatus: number, protocolStatus: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(appStatus >>> 0, 0);
  body[4] = protocolStatus;
  return encodeRecord(T.END_REQUEST, requestId, body);
}

export function unknownType(type: number): Buffer {
  const body = Buffer.alloc(8);
  body[0] = type;
  return encodeRecord(T.UNKNOWN_TYPE, 0, body);
}

export function beginRequestBody(role: number, flags: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt16BE(role, 0);
  body[2] = flags;
  return body;
}

export function parseBeginRequest(content: Uint8Array): { role: number; keepConn: boolean } {
  if (content.byteLength !== 8)
    throw new FastCgiProtocolError(`BEGIN_REQUEST body of ${content.byteLength} bytes, not 8`);
  return {
    role: (content[0]! << 8) | content[1]!,
    keepConn: (content[2]! & FLAG_KEEP_CONN) !== 0,
  };
}

export interface PairLimits {
  maxBytes: number;
  maxPairs: number;
}

/** A pair's length at `at` (1 or 4 bytes); the bytes it took are `lengthSize(buf, at)`. */
function readLength(buf: Uint8Array, at: number): number {
  if (at >= buf.byteLength) throw new FastCgiProtocolError("name-value pair cut short");
  const b0 = buf[at]!;
  if (b0 < 0x80) return b0;
  if (at + 4 > buf.byteLength) throw new FastCgiProtocolError("name-value pair cut short");
  return (((b0 & 0x7f) << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

const lengthSize = (buf: Uint8Array, at: number) => (buf[at]! < 0x80 ? 1 : 4);

/** Name-value pairs (FastCGI 1.0 section 3.4) as [name, value] in order, within `limits`. */
export function parsePairs(buf: Uint8Array, limits: PairLimits): [string, string][] {
  if (buf.byteLength > limits.maxBytes)
    throw new FastCgiProtocolError(`params of ${buf.byteLength} bytes, over ${limits.maxBytes}`);
  const out: [string, string][] = [];
  const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  // latin1: CGI variables are bytes; a header value's bytes pass through unchanged, as node:http
  // gives them. One byte is one character, so the pairs are slices of one decoded string: one
  // native call per request instead of two per pair.
  const text = bytes.toString("latin1");
  let at = 0;
  while (at < bytes.byteLength) {
    if (out.length >= limits.maxPairs)
      throw new FastCgiProtocolError(`more than ${limits.maxPairs} params`);
    const nameLen = readLength(bytes, at);
    const a = at + lengthSize(bytes, at);
    const valueLen = readLength(bytes, a);
    const b = a + lengthSize(bytes, a);
    if (b + nameLen + valueLen > bytes.byteLength)
      throw new FastCgiProtocolError("name-value pair longer than its record");
    out.push([text.slice(b, b + nameLen), text.slice(b + nameLen, b + nameLen + valueLen)]);
    at = b + nameLen + valueLen;
  }
  return out;
}

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE((n | 0x80000000) >>> 0, 0);
  return b;
}

export function encodePairs(pairs: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of pairs) {
    const n = Buffer.from(name, "latin1");
    const v = Buffer.from(value, "latin1");
    parts.push(lengthBytes(n.length), lengthBytes(v.length), n, v);
  }
  return Buffer.concat(parts);
}

const NO_CONTENT = Buffer.alloc(0);

/**
 * Socket chunks in, whole records out. Keeps at most one partial record, so its memory is bounded
 * by the protocol's own record size.
 */
export class RecordParser {
  #pending: Buffer | null = null;

  /** True while a record has started but not fully arrived (a stalled peer shows here). */
  get partial(): boolean {
    return this.#pending !== null;
  }

  /** Every whole record in what has arrived so far; throws on a version other than 1. */
  push(chunk: Buffer): FcgiRecord[] {
    let buf = chunk;
    if (this.#pending !== null) {
      buf = Buffer.concat([this.#pending, chunk]);
      this.#pending = null;
    }
    const out: FcgiRecord[] = [];
    let at = 0;
    while (buf.byteLength - at >= HEADER_LEN) {
      if (buf[at] !== VERSION)
        throw new FastCgiProtocolError(`record version ${buf[at]}, expected 1`);
      const len = buf.readUInt16BE(at + 4);
      const total = HEADER_LEN + len + buf[at + 6]!;
      if (buf.byteLength - at < total) break;
      out.push({
        type: buf[at + 1]!,
        requestId: buf.readUInt16BE(at + 2),
        // Most records of a GET are empty (the ends of PARAMS and STDIN): no view for those.
        content: len === 0 ? NO_CONTENT : buf.subarray(at + HEADER_LEN, at + HEADER_LEN + len),
      });
      at += total;
    }
    // Copy the tail: holding a view would pin the whole chunk it came from.
    if (at < buf.byteLength) this.#pending = Buffer.from(buf.subarray(at));
    return out;
  }
}
