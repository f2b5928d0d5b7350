// Shared built-ins and helpers. Captured now, before site code can replace them.
const ObjectDefineProperty = Object.defineProperty;
const ObjectDefineProperties = Object.defineProperties;
const ObjectKeys = Object.keys;
const ObjectCreate = Object.create;
const ObjectGetPrototypeOf = Object.getPrototypeOf;
const ObjectPrototype = Object.prototype;
const ObjectToString = Object.prototype.toString;
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
const EMPTY_BUFFER = new ArrayBuffer(0);
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
  return String(v).toWellFormed();
}

// A Uint8Array over the bytes of a BufferSource (no copy), or null if v is not one.
function bytesOf(v) {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBufferIsView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (typeof SharedArrayBuffer === "function" && v instanceof SharedArrayBuffer) {
    return new Uint8Array(v);
  }
  return null;
}

// A standalone ArrayBuffer holding exactly the bytes of a Uint8Array.
function bufferOf(u8) {
  const b = u8.buffer;
  if (u8.byteOffset === 0 && u8.byteLength === b.byteLength && b instanceof ArrayBuffer) {
    return b;
  }
  return b.slice(u8.byteOffset, u8.byteOffset + u8.byteLength);
}

function copyBytes(u8) {
  return new Uint8Array(u8);
}

function concatBytes(parts) {
  if (parts.length === 1) return parts[0];
  let total = 0;
  for (let i = 0; i < parts.length; i++) total += parts[i].byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    out.set(parts[i], at);
    at += parts[i].byteLength;
  }
  return out;
}

// toWellFormed: the host gets strings through C, where a lone surrogate would not survive.
function utf8Encode(text) {
  return new Uint8Array(host.encode(text.toWellFormed()));
}

// UTF-8 decode as the Encoding spec's "UTF-8 decode": a leading BOM is dropped unless keepBOM
// ("UTF-8 decode without BOM"). The host is always handed bytes without a BOM, so its own BOM
// policy does not matter.
function utf8Decode(u8, fatal, keepBOM) {
  const len = u8.byteLength;
  if (len === 0) return "";
  if (!(len >= 3 && u8[0] === 0xef && u8[1] === 0xbb && u8[2] === 0xbf)) {
    if (u8.byteOffset === 0 && len === u8.buffer.byteLength) return hostDecode(u8.buffer, fatal);
    return hostDecode(u8.buffer.slice(u8.byteOffset, u8.byteOffset + len), fatal);
  }
  let prefix = keepBOM ? "\ufeff" : "";
  let off = 3;
  while (len - off >= 3 && u8[off] === 0xef && u8[off + 1] === 0xbb && u8[off + 2] === 0xbf) {
    prefix += "\ufeff";
    off += 3;
  }
  if (off === len) return prefix;
  return prefix + hostDecode(u8.buffer.slice(u8.byteOffset + off, u8.byteOffset + len), fatal);
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
function errorText(e) {
  if (e instanceof Error || (isObject(e) && typeof e.stack === "string")) {
    let head;
    try {
      head = String(e);
    } catch {
      head = "Error";
    }
    const stack = typeof e.stack === "string" ? e.stack : "";
    return stack ? `${head}\n${stack.replace(/\n$/, "")}` : head;
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
    host.log("error", errorText(e));
  } catch {}
}

function markHandled(p) {
  p.then(undefined, noop);
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
    return PromiseResolve(fn.call(thisArg, arg));
  } catch (e) {
    return PromiseReject(e);
  }
}

// Byte tables for HTTP tokens and header values, used instead of regexes on the hot path.
const TOKEN_CHARS = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TOKEN_CHARS[c.charCodeAt(0)] = 1;
}

function isToken(s) {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TOKEN_CHARS[c] === 0) return false;
  }
  return true;
}
