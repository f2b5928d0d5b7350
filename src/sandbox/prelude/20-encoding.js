// TextEncoder, TextDecoder, atob, btoa, and the urlencoded/percent-encoding helpers.

class TextEncoder {
  get encoding() {
    return "utf-8";
  }
  encode(input = "") {
    return utf8Encode(String(input));
  }
  // Writes whole code points only, as the spec requires; lone surrogates become U+FFFD.
  encodeInto(source, destination) {
    if (!(destination instanceof Uint8Array)) {
      throw new TypeError("TextEncoder.encodeInto: destination must be a Uint8Array");
    }
    const s = String(source);
    const n = s.length;
    const cap = destination.length;
    if (n * 3 <= cap) {
      const all = utf8Encode(s); // fits for sure: let the host do it
      TypedArrayPrototypeSet(destination, all);
      return { read: n, written: all.length };
    }
    let read = 0;
    let written = 0;
    while (read < n) {
      let c = StringPrototypeCharCodeAt(s, read);
      let units = 1;
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = read + 1 < n ? StringPrototypeCharCodeAt(s, read + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          units = 2;
        } else {
          c = 0xfffd;
        }
      }
      if (c < 0x80) {
        if (written + 1 > cap) break;
        destination[written++] = c;
      } else if (c < 0x800) {
        if (written + 2 > cap) break;
        destination[written++] = 0xc0 | (c >> 6);
        destination[written++] = 0x80 | (c & 63);
      } else if (c < 0x10000) {
        if (written + 3 > cap) break;
        destination[written++] = 0xe0 | (c >> 12);
        destination[written++] = 0x80 | ((c >> 6) & 63);
        destination[written++] = 0x80 | (c & 63);
      } else {
        if (written + 4 > cap) break;
        destination[written++] = 0xf0 | (c >> 18);
        destination[written++] = 0x80 | ((c >> 12) & 63);
        destination[written++] = 0x80 | ((c >> 6) & 63);
        destination[written++] = 0x80 | (c & 63);
      }
      read += units;
    }
    return { read, written };
  }
}
setToStringTag(TextEncoder, "TextEncoder");
defineGlobal("TextEncoder", TextEncoder);

const UTF8_LABELS = [
  "utf-8",
  "utf8",
  "unicode-1-1-utf-8",
  "unicode11utf8",
  "unicode20utf8",
  "x-unicode20utf8",
];

// WebIDL DOMString (a Symbol throws) and dictionary (a primitive other than null throws).
function toDOMString(v) {
  return typeof v === "string" ? v : `${v}`;
}

function dictionary(v, what) {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new TypeError(`${what} must be an object`);
  return v;
}

// The Encoding standard's label matching: ASCII whitespace trimmed, ASCII lower case only.
function encodingLabel(label) {
  return label
    .replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, "")
    .replace(/[A-Z]+/g, (c) => c.toLowerCase());
}

// UTF-8 without streaming decodes in the fast path; every other encoding, and a stream in
// progress, uses a decoder on the host (host/encoding.ts), which holds the stream's state.
class TextDecoder {
  #encoding;
  #fatal;
  #ignoreBOM;
  #host = null;
  #streaming = false;
  constructor(label = "utf-8", options = undefined) {
    const l = encodingLabel(toDOMString(label));
    const o = dictionary(options, "TextDecoder: options");
    this.#fatal = !!o?.fatal;
    this.#ignoreBOM = !!o?.ignoreBOM;
    const name = UTF8_LABELS.includes(l) ? "utf-8" : host.decoderLabel(l);
    if (name === "") throw new RangeError(`TextDecoder: the "${label}" encoding is not supported`);
    this.#encoding = name;
  }
  get encoding() {
    return this.#encoding;
  }
  get fatal() {
    return this.#fatal;
  }
  get ignoreBOM() {
    return this.#ignoreBOM;
  }
  decode(input = undefined, options = undefined) {
    let u8;
    if (input === undefined) u8 = new Uint8Array(0);
    else {
      u8 = bytesOf(input);
      if (!u8) throw new TypeError("TextDecoder.decode: input must be a BufferSource");
    }
    const stream = !!dictionary(options, "TextDecoder.decode: options")?.stream;
    if (this.#encoding === "utf-8" && !stream && !this.#streaming) {
      return utf8Decode(u8, this.#fatal, this.#ignoreBOM);
    }
    this.#host ??= host.decoderNew(this.#encoding, this.#fatal, this.#ignoreBOM);
    this.#streaming = stream;
    try {
      return host.decoderDecode(this.#host, bufferOf(u8), stream);
    } catch {
      this.#streaming = false;
      throw new TypeError(`The encoded data is not valid ${this.#encoding}`);
    }
  }
}
setToStringTag(TextDecoder, "TextDecoder");
defineGlobal("TextDecoder", TextDecoder);

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[StringPrototypeCharCodeAt(B64, i)] = i;

function invalidCharacter(message) {
  return new DOMException(message, "InvalidCharacterError");
}

function btoa(data) {
  if (arguments.length === 0) throw new TypeError("btoa: 1 argument required");
  const s = String(data);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (StringPrototypeCharCodeAt(s, i) > 0xff)
      throw invalidCharacter("btoa: string contains characters > 0xFF");
  }
  let out = "";
  let chunk = [];
  for (let i = 0; i < n; i += 3) {
    const a = StringPrototypeCharCodeAt(s, i);
    const b = i + 1 < n ? StringPrototypeCharCodeAt(s, i + 1) : 0;
    const c = i + 2 < n ? StringPrototypeCharCodeAt(s, i + 2) : 0;
    ArrayPrototypePush(
      chunk,
      StringPrototypeCharCodeAt(B64, a >> 2),
      StringPrototypeCharCodeAt(B64, ((a & 3) << 4) | (b >> 4)),
      i + 1 < n ? StringPrototypeCharCodeAt(B64, ((b & 15) << 2) | (c >> 6)) : 61,
      i + 2 < n ? StringPrototypeCharCodeAt(B64, c & 63) : 61,
    );
    if (chunk.length >= 8192) {
      out += ReflectApply(StringFromCharCode, null, chunk);
      chunk = [];
    }
  }
  return out + ReflectApply(StringFromCharCode, null, chunk);
}

// Forgiving-base64 decode (HTML spec).
function atob(data) {
  if (arguments.length === 0) throw new TypeError("atob: 1 argument required");
  let s = String(data);
  if (/[\t\n\f\r ]/.test(s)) s = s.replace(/[\t\n\f\r ]+/g, "");
  let n = s.length;
  if (n % 4 === 0 && n > 0 && StringPrototypeCharCodeAt(s, n - 1) === 61) {
    n -= StringPrototypeCharCodeAt(s, n - 2) === 61 ? 2 : 1;
  }
  if (n % 4 === 1)
    throw invalidCharacter("atob: the string to be decoded is not correctly encoded");
  let out = "";
  let chunk = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < n; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    const v = c < 128 ? B64_INDEX[c] : -1;
    if (v < 0) throw invalidCharacter("atob: the string to be decoded is not correctly encoded");
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      ArrayPrototypePush(chunk, (acc >> bits) & 0xff);
      if (chunk.length >= 8192) {
        out += ReflectApply(StringFromCharCode, null, chunk);
        chunk = [];
      }
    }
  }
  return out + ReflectApply(StringFromCharCode, null, chunk);
}
defineGlobal("btoa", btoa);
defineGlobal("atob", atob);

const HEX_BYTE = [];
for (let i = 0; i < 256; i++)
  ArrayPrototypePush(HEX_BYTE, "%" + (i < 16 ? "0" : "") + i.toString(16).toUpperCase());

// application/x-www-form-urlencoded: bytes left as they are (space becomes '+').
const FORM_SAFE = new Uint8Array(128);
for (const c of "*-._0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  FORM_SAFE[StringPrototypeCharCodeAt(c, 0)] = 1;
}
// Userinfo percent-encode set, for the username and password setters.
const USERINFO_SAFE = new Uint8Array(128);
for (let c = 0x21; c < 0x7f; c++) {
  if (!' "#<>?`{}/:;=@[\\]^|'.includes(StringFromCharCode(c))) USERINFO_SAFE[c] = 1;
}
USERINFO_SAFE[37] = 1; // '%' stays, as the spec leaves it

// Code point at s[i] (lone surrogates become U+FFFD).
function codePointAt(s, i, n) {
  const c = StringPrototypeCharCodeAt(s, i);
  if (c < 0xd800 || c > 0xdfff) return c;
  const d = i + 1 < n ? StringPrototypeCharCodeAt(s, i + 1) : 0;
  if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff)
    return 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
  return 0xfffd;
}

function percentEncodeCodePoint(c) {
  if (c < 0x800) return HEX_BYTE[0xc0 | (c >> 6)] + HEX_BYTE[0x80 | (c & 63)];
  if (c < 0x10000) {
    return (
      HEX_BYTE[0xe0 | (c >> 12)] + HEX_BYTE[0x80 | ((c >> 6) & 63)] + HEX_BYTE[0x80 | (c & 63)]
    );
  }
  return (
    HEX_BYTE[0xf0 | (c >> 18)] +
    HEX_BYTE[0x80 | ((c >> 12) & 63)] +
    HEX_BYTE[0x80 | ((c >> 6) & 63)] +
    HEX_BYTE[0x80 | (c & 63)]
  );
}

function percentEncode(s, safe, spaceAsPlus) {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (c >= 128 || safe[c] === 0) break;
  }
  if (i === n) return s;
  let out = StringPrototypeSlice(s, 0, i);
  for (; i < n; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (c < 128) {
      if (safe[c] === 1) out += s[i];
      else out += c === 32 && spaceAsPlus ? "+" : HEX_BYTE[c];
    } else {
      const cp = codePointAt(s, i, n);
      if (cp > 0xffff) i++;
      out += percentEncodeCodePoint(cp);
    }
  }
  return out;
}

function hexValue(c) {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

// Percent-decodes, then UTF-8 decodes without BOM, as the urlencoded parser does.
function decodeFormComponent(s) {
  if (StringPrototypeIncludes(s, "+")) s = StringPrototypeReplaceAll(s, "+", " ");
  if (!StringPrototypeIncludes(s, "%")) return StringPrototypeToWellFormed(s);
  const bytes = utf8Encode(s);
  const n = TypedArrayPrototypeGetByteLength(bytes);
  const out = new Uint8Array(n);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 37 && i + 2 < n) {
      const h = hexValue(bytes[i + 1]);
      const l = hexValue(bytes[i + 2]);
      if (h >= 0 && l >= 0) {
        out[j++] = (h << 4) | l;
        i += 2;
        continue;
      }
    }
    out[j++] = b;
  }
  return utf8Decode(new Uint8Array(TypedArrayPrototypeGetBuffer(out), 0, j), false, true);
}

function parseUrlencoded(s, list) {
  const n = s.length;
  let start = 0;
  while (start < n) {
    let amp = StringPrototypeIndexOf(s, "&", start);
    if (amp < 0) amp = n;
    if (amp > start) {
      const eq = StringPrototypeIndexOf(s, "=", start);
      if (eq >= 0 && eq < amp) {
        ArrayPrototypePush(
          list,
          decodeFormComponent(StringPrototypeSlice(s, start, eq)),
          decodeFormComponent(StringPrototypeSlice(s, eq + 1, amp)),
        );
      } else {
        ArrayPrototypePush(list, decodeFormComponent(StringPrototypeSlice(s, start, amp)), "");
      }
    }
    start = amp + 1;
  }
  return list;
}

function serializeUrlencoded(list) {
  let out = "";
  for (let i = 0; i < list.length; i += 2) {
    if (i > 0) out += "&";
    out +=
      percentEncode(list[i], FORM_SAFE, true) + "=" + percentEncode(list[i + 1], FORM_SAFE, true);
  }
  return out;
}
