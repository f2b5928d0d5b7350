// DOMException, TextEncoder, TextDecoder, atob, btoa.
const DOM_EXCEPTION_CODES = {
  IndexSizeError: 1,
  HierarchyRequestError: 3,
  WrongDocumentError: 4,
  InvalidCharacterError: 5,
  NoModificationAllowedError: 7,
  NotFoundError: 8,
  NotSupportedError: 9,
  InvalidStateError: 11,
  SyntaxError: 12,
  InvalidModificationError: 13,
  NamespaceError: 14,
  InvalidAccessError: 15,
  TypeMismatchError: 17,
  SecurityError: 18,
  NetworkError: 19,
  AbortError: 20,
  URLMismatchError: 21,
  QuotaExceededError: 22,
  TimeoutError: 23,
  InvalidNodeTypeError: 24,
  DataCloneError: 25,
};

class DOMException extends Error {
  #name;
  constructor(message = "", options = "Error") {
    super(String(message));
    if (isObject(options)) {
      this.#name = "name" in options ? String(options.name) : "Error";
      if ("cause" in options) {
        ObjectDefineProperty(this, "cause", {
          value: options.cause,
          writable: true,
          configurable: true,
        });
      }
    } else {
      this.#name = String(options);
    }
  }
  get name() {
    return this.#name;
  }
  get code() {
    return DOM_EXCEPTION_CODES[this.#name] || 0;
  }
}
setToStringTag(DOMException, "DOMException");
{
  // Legacy constants, e.g. DOMException.ABORT_ERR === 20.
  for (const name of ObjectKeys(DOM_EXCEPTION_CODES)) {
    const constant = name
      .replace(/([a-z])([A-Z])/g, "$1_$2")
      .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
      .toUpperCase()
      .replace(/_ERROR$/, "_ERR");
    const desc = { value: DOM_EXCEPTION_CODES[name], enumerable: true };
    ObjectDefineProperty(DOMException, constant, desc);
    ObjectDefineProperty(DOMException.prototype, constant, desc);
  }
}
defineGlobal("DOMException", DOMException);

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
    let read = 0;
    let written = 0;
    while (read < n) {
      let c = s.charCodeAt(read);
      let units = 1;
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = read + 1 < n ? s.charCodeAt(read + 1) : 0;
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

class TextDecoder {
  #fatal;
  #ignoreBOM;
  #pending = null; // bytes of an incomplete sequence held back in stream mode
  #bomSeen = false;
  constructor(label = "utf-8", options = {}) {
    const l = String(label).trim().toLowerCase();
    if (!UTF8_LABELS.includes(l)) {
      throw new RangeError(`TextDecoder: the "${label}" encoding is not supported`);
    }
    const o = options ?? {};
    this.#fatal = !!o.fatal;
    this.#ignoreBOM = !!o.ignoreBOM;
  }
  get encoding() {
    return "utf-8";
  }
  get fatal() {
    return this.#fatal;
  }
  get ignoreBOM() {
    return this.#ignoreBOM;
  }
  decode(input, options = {}) {
    let u8;
    if (input === undefined) u8 = new Uint8Array(0);
    else {
      u8 = bytesOf(input);
      if (!u8) throw new TypeError("TextDecoder.decode: input must be a BufferSource");
    }
    const stream = !!(options && options.stream);
    if (this.#pending) {
      u8 = concatBytes([this.#pending, u8]);
      this.#pending = null;
    }
    if (stream) {
      const cut = incompleteTail(u8);
      if (cut < u8.length) {
        this.#pending = copyBytes(u8.subarray(cut));
        u8 = u8.subarray(0, cut);
      }
    }
    let prefix = "";
    if (!this.#bomSeen && u8.length > 0) {
      if (u8.length >= 3 && u8[0] === 0xef && u8[1] === 0xbb && u8[2] === 0xbf) {
        if (this.#ignoreBOM) prefix = "\ufeff";
        u8 = u8.subarray(3);
      }
      this.#bomSeen = true;
    }
    let text = prefix + (u8.length === 0 ? "" : utf8Decode(u8, this.#fatal, true));
    if (!stream) {
      this.#bomSeen = false;
      if (this.#pending) {
        const rest = this.#pending;
        this.#pending = null;
        text += utf8Decode(rest, this.#fatal); // truncated sequence: U+FFFD or throws
      }
    }
    return text;
  }
}
setToStringTag(TextDecoder, "TextDecoder");
defineGlobal("TextDecoder", TextDecoder);

// Index where a trailing, still incomplete UTF-8 sequence starts (u8.length if none).
function incompleteTail(u8) {
  const n = u8.length;
  for (let i = n - 1; i >= 0 && i >= n - 3; i--) {
    const b = u8[i];
    if (b < 0x80) return n;
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return n - i < need ? i : n;
    }
  }
  return n;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;

function invalidCharacter(message) {
  return new DOMException(message, "InvalidCharacterError");
}

function btoa(data) {
  if (arguments.length === 0) throw new TypeError("btoa: 1 argument required");
  const s = String(data);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) > 0xff) throw invalidCharacter("btoa: string contains characters > 0xFF");
  }
  let out = "";
  let chunk = [];
  for (let i = 0; i < n; i += 3) {
    const a = s.charCodeAt(i);
    const b = i + 1 < n ? s.charCodeAt(i + 1) : 0;
    const c = i + 2 < n ? s.charCodeAt(i + 2) : 0;
    chunk.push(
      B64.charCodeAt(a >> 2),
      B64.charCodeAt(((a & 3) << 4) | (b >> 4)),
      i + 1 < n ? B64.charCodeAt(((b & 15) << 2) | (c >> 6)) : 61,
      i + 2 < n ? B64.charCodeAt(c & 63) : 61,
    );
    if (chunk.length >= 8192) {
      out += StringFromCharCode.apply(null, chunk);
      chunk = [];
    }
  }
  return out + StringFromCharCode.apply(null, chunk);
}

// Forgiving-base64 decode (HTML spec).
function atob(data) {
  if (arguments.length === 0) throw new TypeError("atob: 1 argument required");
  let s = String(data);
  if (/[\t\n\f\r ]/.test(s)) s = s.replace(/[\t\n\f\r ]+/g, "");
  let n = s.length;
  if (n % 4 === 0 && n > 0 && s.charCodeAt(n - 1) === 61) {
    n -= s.charCodeAt(n - 2) === 61 ? 2 : 1;
  }
  if (n % 4 === 1)
    throw invalidCharacter("atob: the string to be decoded is not correctly encoded");
  let out = "";
  let chunk = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c] : -1;
    if (v < 0) throw invalidCharacter("atob: the string to be decoded is not correctly encoded");
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      chunk.push((acc >> bits) & 0xff);
      if (chunk.length >= 8192) {
        out += StringFromCharCode.apply(null, chunk);
        chunk = [];
      }
    }
  }
  return out + StringFromCharCode.apply(null, chunk);
}
defineGlobal("btoa", btoa);
defineGlobal("atob", atob);
