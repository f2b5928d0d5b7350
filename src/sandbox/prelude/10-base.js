// Shared built-ins and helpers. Captured now, before site code can replace them.
const ObjectDefineProperty = Object.defineProperty;
const ObjectKeys = Object.keys;
const ObjectCreate = Object.create;
const ObjectGetPrototypeOf = Object.getPrototypeOf;
const ObjectPrototype = Object.prototype;
const ObjectHasOwn = Object.hasOwn;
const ObjectFreeze = Object.freeze;
const ObjectIs = Object.is;
const JSONstringify = JSON.stringify;
const JSONparse = JSON.parse;
const isArray = Array.isArray;
const ArrayFrom = Array.from;
const StringFromCharCode = String.fromCharCode;
const MathMin = Math.min;
const MathMax = Math.max;
const MathFloor = Math.floor;
const MathTrunc = Math.trunc;
const NumberIsFinite = Number.isFinite;
const NumberIsNaN = Number.isNaN;
const ArrayBufferIsView = ArrayBuffer.isView;
const PromiseCtor = Promise;
const PromiseResolve = Promise.resolve.bind(Promise);
const PromiseReject = Promise.reject.bind(Promise);
const SymbolIterator = Symbol.iterator;
const SymbolAsyncIterator = Symbol.asyncIterator;
const SymbolToStringTag = Symbol.toStringTag;
const DateNow = Date.now;
const globalObject = globalThis;

// Passed to a constructor to build an instance internally, skipping argument processing.
const INTERNAL = Symbol("internal");
// Key of an optional method that gives console.log a plain view of a platform object.
const INSPECT = Symbol("inspect");
const noop = () => {};

// Globals are non-enumerable, writable and configurable, as in browsers.
function defineGlobal(name, value) {
  ObjectDefineProperty(globalObject, name, { value, writable: true, configurable: true });
}

function setToStringTag(Class, tag) {
  ObjectDefineProperty(Class.prototype, SymbolToStringTag, { value: tag, configurable: true });
}

function isObject(v) {
  return (typeof v === "object" && v !== null) || typeof v === "function";
}

function isCallable(v) {
  return typeof v === "function";
}

// WebIDL USVString: lone surrogates become U+FFFD.
function toUSVString(v) {
  return StringPrototypeToWellFormed(typeof v === "string" ? v : String(v));
}

// Brand checks and views read through the captured getters, never the object's own (which a
// site may define to lie about where the bytes are).
const SharedArrayBufferCtor = globalThis.SharedArrayBuffer;
const TypedArrayPrototypeGetToStringTag = getterOf(TypedArrayPrototype, SymbolToStringTag);
const DataViewPrototypeGetBuffer = getterOf(DataView.prototype, "buffer");
const DataViewPrototypeGetByteOffset = getterOf(DataView.prototype, "byteOffset");
const DataViewPrototypeGetByteLength = getterOf(DataView.prototype, "byteLength");

function isTypedArray(v) {
  return TypedArrayPrototypeGetToStringTag(v) !== undefined;
}

function isArrayBuffer(v) {
  if (!isObject(v)) return false;
  try {
    ArrayBufferPrototypeGetByteLength(v); // throws for anything else, SharedArrayBuffer too
    return true;
  } catch {
    return false;
  }
}

// A Uint8Array over the bytes of a BufferSource (no copy), or null if v is not one.
function bytesOf(v) {
  if (isTypedArray(v)) {
    return new Uint8Array(
      TypedArrayPrototypeGetBuffer(v),
      TypedArrayPrototypeGetByteOffset(v),
      TypedArrayPrototypeGetByteLength(v),
    );
  }
  if (ArrayBufferIsView(v)) {
    return new Uint8Array(
      DataViewPrototypeGetBuffer(v),
      DataViewPrototypeGetByteOffset(v),
      DataViewPrototypeGetByteLength(v),
    );
  }
  if (isArrayBuffer(v)) return new Uint8Array(v);
  if (typeof SharedArrayBufferCtor === "function" && v instanceof SharedArrayBufferCtor) {
    return new Uint8Array(v);
  }
  return null;
}

// A standalone ArrayBuffer holding exactly the bytes of a Uint8Array.
function bufferOf(u8) {
  const b = TypedArrayPrototypeGetBuffer(u8);
  const length = TypedArrayPrototypeGetByteLength(u8);
  if (
    TypedArrayPrototypeGetByteOffset(u8) === 0 &&
    isArrayBuffer(b) &&
    ArrayBufferPrototypeGetByteLength(b) === length
  ) {
    return b;
  }
  return TypedArrayPrototypeGetBuffer(new Uint8Array(u8));
}

function copyBytes(u8) {
  return new Uint8Array(u8);
}

function concatBytes(parts) {
  if (parts.length === 1) return parts[0];
  let total = 0;
  for (let i = 0; i < parts.length; i++) total += TypedArrayPrototypeGetByteLength(parts[i]);
  const out = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    TypedArrayPrototypeSet(out, parts[i], at);
    at += TypedArrayPrototypeGetByteLength(parts[i]);
  }
  return out;
}

// USVString: lone surrogates become U+FFFD here, which also keeps the crossing on its fast path.
function utf8Encode(text) {
  return new Uint8Array(host.encode(StringPrototypeToWellFormed(text)));
}

// UTF-8 decode as the Encoding spec's "UTF-8 decode": a leading BOM is dropped unless keepBOM
// ("UTF-8 decode without BOM"). The host is always handed bytes without a BOM, so its own BOM
// policy does not matter.
function utf8Decode(u8, fatal, keepBOM) {
  const len = TypedArrayPrototypeGetByteLength(u8);
  if (len === 0) return "";
  const start = TypedArrayPrototypeGetByteOffset(u8);
  if (!(len >= 3 && u8[0] === 0xef && u8[1] === 0xbb && u8[2] === 0xbf)) {
    return hostDecode(bufferOf(u8), fatal);
  }
  let prefix = keepBOM ? "\ufeff" : "";
  let off = 3;
  while (len - off >= 3 && u8[off] === 0xef && u8[off + 1] === 0xbb && u8[off + 2] === 0xbf) {
    prefix += "\ufeff";
    off += 3;
  }
  if (off === len) return prefix;
  const rest = new Uint8Array(TypedArrayPrototypeGetBuffer(u8), start + off, len - off);
  return prefix + hostDecode(bufferOf(rest), fatal);
}

function hostDecode(buffer, fatal) {
  if (!fatal) return host.decode(buffer, false);
  try {
    return host.decode(buffer, true);
  } catch {
    throw new TypeError("The encoded data is not valid UTF-8");
  }
}

// "Error: message\n    at ..." (QuickJS's stack has no header line).
function exceptionText(e) {
  if (e instanceof Error || (isObject(e) && typeof e.stack === "string")) {
    let head;
    try {
      head = String(e);
    } catch {
      head = "Error";
    }
    const stack = typeof e.stack === "string" ? e.stack : "";
    const trimmed =
      stack !== "" && StringPrototypeCharCodeAt(stack, stack.length - 1) === 10
        ? StringPrototypeSlice(stack, 0, -1)
        : stack;
    return trimmed ? `${head}\n${trimmed}` : head;
  }
  try {
    return `Uncaught ${typeof e === "string" ? e : inspect(e)}`;
  } catch {
    return "Uncaught exception";
  }
}

// Errors thrown by callbacks (listeners, timers, microtasks) that must not stop the caller.
function reportException(e) {
  try {
    host.log("error", exceptionText(e));
  } catch {}
}

function markHandled(p) {
  then(p, undefined, noop);
  return p;
}

function newDeferred() {
  let resolve, reject;
  const promise = new PromiseCtor((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

// Runs fn and always gives a promise, also when fn throws synchronously.
function promiseCall(fn, thisArg, arg) {
  try {
    return PromiseResolve(FunctionPrototypeCall(fn, thisArg, arg));
  } catch (e) {
    return PromiseReject(e);
  }
}

// HTTP token characters (header names, methods).
const TOKEN_CHARS = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TOKEN_CHARS[StringPrototypeCharCodeAt(c, 0)] = 1;
}

function isToken(s) {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (c > 127 || TOKEN_CHARS[c] === 0) return false;
  }
  return true;
}

// DOMException: errors the web APIs throw by name (AbortError, DataCloneError, ...).
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

// HTTP header names and values (used by Headers, Request and Response).
// Header names seen before -> lower case: most responses reuse a handful of names.
const HEADER_NAMES = new SafeMap();

function headerName(name) {
  if (typeof name !== "string") name = String(name);
  const known = HEADER_NAMES.get(name);
  if (known !== undefined) return known;
  if (!isToken(name)) throw new TypeError(`Invalid header name: "${name}"`);
  const lower = StringPrototypeToLowerCase(name);
  if (HEADER_NAMES.size < 512) HEADER_NAMES.set(name, lower);
  return lower;
}

// Lower case of a name from the host (already valid HTTP), through the same cache.
function hostHeaderName(name) {
  const known = HEADER_NAMES.get(name);
  if (known !== undefined) return known;
  const lower = StringPrototypeToLowerCase(name);
  if (HEADER_NAMES.size < 512 && isToken(name)) HEADER_NAMES.set(name, lower);
  return lower;
}

// A value taken as is: no leading or trailing HTTP whitespace (its two ends), and neither NUL, CR,
// LF nor anything above U+00FF (one anchored class: QuickJS's regex engine costs ~15 ns a
// character, a charCodeAt loop far more). Values passing it are remembered, within a bound of
// entries and of characters, so a hostile site cannot grow the memo without limit.
// (Only the captured exec is called on these: test and replace would look `exec` up again.)
const HEADER_VALUE_CLEAN = /^[\x01-\x09\x0b\x0c\x0e-\xff]*$/;
const HEADER_VALUE_BAD = /[\0\n\r]|[^\0-\xff]/;
const HEADER_VALUES = new SafeMap(); // values seen before, already valid
const HEADER_VALUES_MAX = 1024; // entries
const HEADER_VALUE_MAX_CHARS = 512; // longer values are checked each time
let headerValueChars = 32768; // what the memo may still hold, in characters

function isHTTPWhitespace(c) {
  return c === 9 || c === 10 || c === 13 || c === 32;
}

// Strips leading and trailing HTTP whitespace; rejects NUL, CR, LF and non-ByteString values.
function headerValue(value) {
  let v = typeof value === "string" ? value : String(value);
  if (HEADER_VALUES.has(v)) return v;
  const n = v.length;
  if (
    n === 0 ||
    (!isHTTPWhitespace(StringPrototypeCharCodeAt(v, 0)) &&
      !isHTTPWhitespace(StringPrototypeCharCodeAt(v, n - 1)) &&
      RegExpPrototypeExec(HEADER_VALUE_CLEAN, v) !== null)
  ) {
    if (n <= HEADER_VALUE_MAX_CHARS && n <= headerValueChars) {
      if (HEADER_VALUES.size < HEADER_VALUES_MAX) {
        HEADER_VALUES.set(v, true);
        headerValueChars -= n;
      }
    }
    return v;
  }
  let from = 0;
  let to = n;
  while (from < to && isHTTPWhitespace(StringPrototypeCharCodeAt(v, from))) from++;
  while (to > from && isHTTPWhitespace(StringPrototypeCharCodeAt(v, to - 1))) to--;
  v = StringPrototypeSlice(v, from, to);
  if (RegExpPrototypeExec(HEADER_VALUE_BAD, v) !== null) {
    throw new TypeError(`Invalid header value: "${v}"`);
  }
  return v;
}

function listIndex(list, lname) {
  for (let i = 0; i < list.length; i += 2) if (list[i] === lname) return i;
  return -1;
}

function listGet(list, lname) {
  let out = null;
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === lname) out = out === null ? list[i + 1] : out + ", " + list[i + 1];
  }
  return out;
}

// A new flat header list from init (Headers, sequence of pairs or record), validated
// (15-webidl.js). The conversion's own list becomes the result, each item replaced in place.
function headersFrom(init) {
  if (init === undefined) return [];
  if (!isObject(init)) throw new TypeError("Headers: init must be an object");
  if (isHeaders(init)) return arrayCopy(headersList(init), 0);
  const method = webidlIteratorMethod(init, "Headers");
  // The names and values stay as given (undefined: no conversion) until validated below.
  const list =
    method !== undefined
      ? webidlPairs(init, method, undefined, "Headers")
      : webidlRecord(init, undefined, undefined, "Headers");
  for (let i = 0; i < list.length; i += 2) {
    list[i] = headerName(list[i]);
    list[i + 1] = headerValue(list[i + 1]);
  }
  return list;
}

// The spec's "sort and combine": names sorted, values of one name joined, set-cookie kept apart.
function sortAndCombine(list) {
  const idx = [];
  for (let i = 0; i < list.length; i += 2) ArrayPrototypePush(idx, i);
  ArrayPrototypeSort(idx, (a, b) => (list[a] < list[b] ? -1 : list[a] > list[b] ? 1 : a - b));
  const out = [];
  for (let k = 0; k < idx.length; k++) {
    const name = list[idx[k]];
    const value = list[idx[k] + 1];
    const last = out.length - 1;
    if (last >= 0 && out[last][0] === name && name !== "set-cookie") out[last][1] += ", " + value;
    else ArrayPrototypePush(out, [name, value]);
  }
  return out;
}
