// console and structuredClone.
const TypedArrayTag = Object.getOwnPropertyDescriptor(
  ObjectGetPrototypeOf(Uint8Array.prototype),
  SymbolToStringTag,
).get;
const FunctionToString = Function.prototype.toString;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const ObjectGetOwnPropertySymbols = Object.getOwnPropertySymbols;
const StringPrototypeStartsWith = uncurryThis(String.prototype.startsWith);
const StringPrototypeRepeat = uncurryThis(String.prototype.repeat);
const SymbolPrototypeToString = uncurryThis(Symbol.prototype.toString);
const NumberPrototypeToString = uncurryThis(Number.prototype.toString);
const DatePrototypeGetTime = uncurryThis(Date.prototype.getTime);
const DatePrototypeToISOString = uncurryThis(Date.prototype.toISOString);
const MapPrototypeForEach = uncurryThis(Map.prototype.forEach);
const MapPrototypeGetSize = getterOf(Map.prototype, "size");
const SetPrototypeForEach = uncurryThis(Set.prototype.forEach);
const SetPrototypeGetSize = getterOf(Set.prototype, "size");

function quote(s) {
  const escaped = StringPrototypeReplaceAll(StringPrototypeReplaceAll(s, "\\", "\\\\"), "'", "\\'");
  return "'" + StringPrototypeReplaceAll(escaped, "\n", "\\n") + "'";
}

function typedTag(v) {
  return ArrayBufferIsView(v) ? FunctionPrototypeCall(TypedArrayTag, v) : undefined;
}

// A rough util.inspect: single line when short, cycles shown as [Circular].
function inspect(v, depth = 0, seen = []) {
  switch (typeof v) {
    case "string":
      return depth === 0 ? v : quote(v);
    case "number":
      return ObjectIs(v, -0) ? "-0" : String(v);
    case "bigint":
      return `${v}n`;
    case "symbol":
      return SymbolPrototypeToString(v);
    case "undefined":
      return "undefined";
    case "boolean":
      return String(v);
    case "function": {
      let src = "";
      try {
        src = FunctionPrototypeCall(FunctionToString, v);
      } catch {}
      if (StringPrototypeStartsWith(src, "class")) return `[class ${v.name || "(anonymous)"}]`;
      return v.name ? `[Function: ${v.name}]` : "[Function (anonymous)]";
    }
  }
  if (v === null) return "null";
  if (ArrayPrototypeIncludes(seen, v)) return "[Circular]";
  if (v instanceof Error) {
    return depth === 0 ? exceptionText(v) : `[${String(v)}]`;
  }
  if (v instanceof Date) {
    return NumberIsNaN(DatePrototypeGetTime(v)) ? "Invalid Date" : DatePrototypeToISOString(v);
  }
  if (v instanceof RegExp) return String(v);
  const proto = ObjectGetPrototypeOf(v);
  const ctorName =
    proto === null ? "[Object: null prototype]" : proto.constructor?.name || "Object";
  const tag = typeof v[SymbolToStringTag] === "string" ? v[SymbolToStringTag] : ctorName;
  if (depth > 2) return isArray(v) ? "[Array]" : `[${tag}]`;
  ArrayPrototypePush(seen, v);
  try {
    const items = [];
    let prefix = tag === "Object" ? "" : tag + " ";
    let open = "{";
    let close = "}";
    const sub = (x) => inspect(x, depth + 1, seen);
    const ta = typedTag(v);
    if (isArray(v) || ta !== undefined) {
      const n = ta === undefined ? v.length : TypedArrayPrototypeGetLength(v);
      prefix = isArray(v) ? (ctorName === "Array" ? "" : ctorName + " ") : `${ta}(${n}) `;
      open = "[";
      close = "]";
      for (let i = 0; i < MathMin(n, 100); i++)
        ArrayPrototypePush(items, i in v ? sub(v[i]) : "<empty>");
      if (n > 100) ArrayPrototypePush(items, `... ${n - 100} more items`);
    } else if (v instanceof Map) {
      prefix = `Map(${MapPrototypeGetSize(v)}) `;
      MapPrototypeForEach(v, (x, k) => ArrayPrototypePush(items, `${sub(k)} => ${sub(x)}`));
    } else if (v instanceof Set) {
      prefix = `Set(${SetPrototypeGetSize(v)}) `;
      SetPrototypeForEach(v, (x) => ArrayPrototypePush(items, sub(x)));
    } else if (isArrayBuffer(v)) {
      const length = ArrayBufferPrototypeGetByteLength(v);
      const shown = MathMin(length, 50);
      const b = new Uint8Array(v, 0, shown);
      let hex = "";
      for (let i = 0; i < shown; i++) {
        hex += (i > 0 ? " " : "") + (b[i] < 16 ? "0" : "") + NumberPrototypeToString(b[i], 16);
      }
      ArrayPrototypePush(items, `[Uint8Contents]: <${hex}${length > 50 ? " ..." : ""}>`);
      ArrayPrototypePush(items, `byteLength: ${length}`);
    } else if (v instanceof Promise) {
      return "Promise { <unknown> }";
    } else if (typeof v[INSPECT] === "function") {
      const view = v[INSPECT]();
      const body = inspect(view, depth, seen);
      return body === "{}" || body === "[]" ? `${tag} {}` : `${tag} ${body}`;
    } else if (
      v instanceof Number ||
      v instanceof String ||
      v instanceof Boolean ||
      v instanceof BigInt
    ) {
      return `[${ctorName}: ${inspect(v.valueOf(), 1)}]`;
    }
    const keys = ObjectKeys(v);
    for (let i = 0; i < keys.length && ta === undefined; i++) {
      const k = keys[i];
      if (isArray(v) && String(k >>> 0) === k) continue;
      const name = RegExpPrototypeExec(IDENTIFIER, k) !== null ? k : quote(k);
      ArrayPrototypePush(items, `${name}: ${sub(v[k])}`);
    }
    const symbols = ObjectGetOwnPropertySymbols(v);
    for (let i = 0; i < symbols.length; i++) {
      const s = symbols[i];
      if (propertyIsEnumerable(v, s)) {
        ArrayPrototypePush(items, `[${SymbolPrototypeToString(s)}]: ${sub(v[s])}`);
      }
    }
    if (items.length === 0) return `${prefix}${open}${close}`;
    const oneLine = `${prefix}${open} ${ArrayPrototypeJoin(items, ", ")} ${close}`;
    if (oneLine.length <= 72 && !StringPrototypeIncludes(oneLine, "\n")) return oneLine;
    const pad = StringPrototypeRepeat("  ", depth + 1);
    let body = "";
    for (let i = 0; i < items.length; i++) {
      body += (i > 0 ? ",\n" : "") + pad + StringPrototypeReplaceAll(items[i], "\n", "\n" + pad);
    }
    return `${prefix}${open}\n${body}\n${StringPrototypeRepeat("  ", depth)}${close}`;
  } finally {
    seen.length--;
  }
}

// util.format: %s %d %i %f %j %o %O %c %% in a leading string, then the rest joined by spaces.
// A value whose getters or proxy traps throw must not make console.log throw.
function formatArgs(args) {
  try {
    return formatArgsUnsafe(args);
  } catch (e) {
    const first = StringPrototypeSplit(exceptionText(e), "\n")[0];
    return `<console: an argument could not be formatted: ${first}>`;
  }
}

function formatArgsUnsafe(args) {
  let out = "";
  let a = 0;
  if (typeof args[0] === "string") {
    const f = args[0];
    if (args.length === 1) return f; // as Node: a lone string is not a format
    a = 1;
    let last = 0;
    for (let i = 0; i < f.length - 1; i++) {
      if (StringPrototypeCharCodeAt(f, i) !== 37) continue;
      const c = f[i + 1];
      let rep;
      if (c === "%") rep = "%";
      else if (a >= args.length || !StringPrototypeIncludes("sdifjoOc", c)) continue;
      else {
        const x = args[a++];
        if (c === "s") rep = typeof x === "string" ? x : inspect(x, 1);
        else if (c === "d")
          rep = typeof x === "bigint" ? `${x}n` : inspect(isObject(x) ? NaN : Number(x));
        else if (c === "i") rep = typeof x === "bigint" ? `${x}n` : String(parseInt(x));
        else if (c === "f") rep = String(parseFloat(x));
        else if (c === "j") {
          try {
            rep = JSONstringify(x);
          } catch {
            rep = "[Circular]";
          }
        } else if (c === "c") rep = "";
        else rep = inspect(x, 1);
      }
      out += StringPrototypeSlice(f, last, i) + rep;
      last = i + 2;
      i++;
    }
    out += StringPrototypeSlice(f, last);
  }
  for (; a < args.length; a++) {
    if (out !== "" || a > 0) out += " ";
    out += inspect(args[a]);
  }
  return out;
}

let groupIndent = "";
const timerLabels = new SafeMap();
const countLabels = new SafeMap();

// Once the host refuses a line (the request's log budget is spent), the rest of this call's
// lines are only counted: the host takes the counts (takeMutedConsole) and says how much went.
let consoleMuted = false;
let mutedLines = 0;
let mutedBytes = 0;

function emit(level, text) {
  if (groupIndent !== "") {
    text = groupIndent + StringPrototypeReplaceAll(text, "\n", "\n" + groupIndent);
  }
  if (consoleMuted) {
    mutedLines++;
    mutedBytes += text.length;
  } else if (host.log(level, text) === true) consoleMuted = true;
}

function takeMutedConsole() {
  const counts = mutedLines + "," + mutedBytes;
  consoleMuted = false;
  mutedLines = mutedBytes = 0;
  return counts;
}

const console = {
  log: (...args) => emit("log", formatArgs(args)),
  info: (...args) => emit("info", formatArgs(args)),
  warn: (...args) => emit("warn", formatArgs(args)),
  error: (...args) => emit("error", formatArgs(args)),
  debug: (...args) => emit("debug", formatArgs(args)),
  trace: (...args) => {
    const stack = (new Error().stack || "").split("\n").slice(1).join("\n").replace(/\n$/, "");
    emit("log", `Trace${args.length ? ": " + formatArgs(args) : ""}\n${stack}`);
  },
  assert: (condition, ...args) => {
    if (!condition) emit("error", `Assertion failed${args.length ? ": " + formatArgs(args) : ""}`);
  },
  dir: (v) => emit("log", typeof v === "string" ? quote(v) : formatArgs([v])),
  dirxml: (...args) => emit("log", formatArgs(args)),
  table: (...args) => emit("log", formatArgs(args)),
  group: (...args) => {
    if (args.length) emit("log", formatArgs(args));
    groupIndent += "  ";
  },
  groupCollapsed: (...args) => ReflectApply(console.group, console, args),
  groupEnd: () => {
    groupIndent = StringPrototypeSlice(groupIndent, 2);
  },
  count: (label = "default") => {
    const n = (countLabels.get(String(label)) || 0) + 1;
    countLabels.set(String(label), n);
    emit("info", `${label}: ${n}`);
  },
  countReset: (label = "default") => countLabels.delete(String(label)),
  time: (label = "default") => {
    timerLabels.set(String(label), DateNow());
  },
  timeLog: (label = "default", ...args) => {
    const t = timerLabels.get(String(label));
    if (t === undefined) return emit("warn", `No such label '${label}' for console.timeLog()`);
    emit("info", `${label}: ${DateNow() - t}ms${args.length ? " " + formatArgs(args) : ""}`);
  },
  timeEnd: (label = "default") => {
    const t = timerLabels.get(String(label));
    if (t === undefined) return emit("warn", `No such label '${label}' for console.timeEnd()`);
    timerLabels.delete(String(label));
    emit("info", `${label}: ${DateNow() - t}ms`);
  },
};
ObjectDefineProperty(console, SymbolToStringTag, { value: "console", configurable: true });
defineGlobal("console", console);

const ERROR_TYPES = { EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
const TYPED_ARRAYS = {};
for (const C of [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
]) {
  TYPED_ARRAYS[C.name] = C;
}
// Platform and exotic objects that the HTML spec does not serialize.
const NOT_CLONEABLE = [Promise, WeakMap, WeakSet, Symbol];
if (typeof WeakRef === "function") ArrayPrototypePush(NOT_CLONEABLE, WeakRef);
if (typeof FinalizationRegistry === "function")
  ArrayPrototypePush(NOT_CLONEABLE, FinalizationRegistry);
ArrayPrototypePush(
  NOT_CLONEABLE,
  Headers,
  Request,
  Response,
  URL,
  URLSearchParams,
  ReadableStream,
  FormData,
);
ArrayPrototypePush(
  NOT_CLONEABLE,
  EventTarget,
  Event,
  AbortController,
  TextEncoder,
  TextDecoder,
  Crypto,
);

function dataCloneError(v) {
  let what;
  try {
    what =
      typeof v === "function" || typeof v === "symbol" ? String(v) : `#<${v.constructor.name}>`;
  } catch {
    what = "The value";
  }
  return new DOMException(`${what} could not be cloned.`, "DataCloneError");
}

function cloneValue(v, memory) {
  if (typeof v === "symbol" || typeof v === "function") throw dataCloneError(v);
  if (!isObject(v)) return v;
  const known = memory.get(v);
  if (known !== undefined) return known;
  let out;
  const ta = typedTag(v);
  if (isArray(v)) {
    out = new Array(v.length);
    memory.set(v, out);
    for (const k of ObjectKeys(v)) out[k] = cloneValue(v[k], memory);
    return out;
  }
  if (ta !== undefined) {
    const C = TYPED_ARRAYS[ta];
    if (C === undefined) throw dataCloneError(v);
    out = new C(cloneValue(v.buffer, memory), v.byteOffset, v.length);
  } else if (v instanceof DataView) {
    out = new DataView(cloneValue(v.buffer, memory), v.byteOffset, v.byteLength);
  } else if (v instanceof ArrayBuffer) out = cloneArrayBuffer(v);
  else if (v instanceof Date) out = new Date(v.getTime());
  else if (v instanceof RegExp) out = new RegExp(v.source, v.flags);
  else if (v instanceof Boolean || v instanceof Number || v instanceof String) {
    out = Object(v.valueOf());
  } else if (v instanceof BigInt) out = Object(v.valueOf());
  else if (v instanceof File) {
    out = new File([v], v.name, { type: v.type, lastModified: v.lastModified });
  } else if (v instanceof Blob) out = blobFromBytes(blobBytes(v), v.type);
  else if (v instanceof DOMException) out = new DOMException(v.message, v.name);
  else if (keyHandleOf(v) !== undefined) out = cloneCryptoKey(v, (x) => cloneValue(x, memory));
  else if (v instanceof Error) {
    const C = ERROR_TYPES[v.name] ?? Error;
    out = ObjectHasOwn(v, "message") ? new C(String(v.message)) : new C();
    memory.set(v, out);
    if (typeof v.stack === "string") {
      ObjectDefineProperty(out, "stack", { value: v.stack, writable: true, configurable: true });
    }
    if (ObjectHasOwn(v, "cause")) {
      const desc = { value: cloneValue(v.cause, memory), writable: true, configurable: true };
      ObjectDefineProperty(out, "cause", desc);
    }
    return out;
  } else if (v instanceof Map) {
    out = new Map();
    memory.set(v, out);
    for (const [k, x] of v) out.set(cloneValue(k, memory), cloneValue(x, memory));
    return out;
  } else if (v instanceof Set) {
    out = new Set();
    memory.set(v, out);
    for (const x of v) out.add(cloneValue(x, memory));
    return out;
  } else {
    for (const C of NOT_CLONEABLE) if (v instanceof C) throw dataCloneError(v);
    if (typeof SharedArrayBuffer === "function" && v instanceof SharedArrayBuffer) {
      throw dataCloneError(v);
    }
    out = {};
    memory.set(v, out);
    for (const k of ObjectKeys(v)) out[k] = cloneValue(v[k], memory);
    return out;
  }
  memory.set(v, out);
  return out;
}

// A copy that keeps resizability (maxByteLength), as serializing an ArrayBuffer does.
function cloneArrayBuffer(b) {
  if (!b.resizable) return b.slice(0);
  const out = new ArrayBuffer(b.byteLength, { maxByteLength: b.maxByteLength });
  new Uint8Array(out).set(new Uint8Array(b));
  return out;
}

function structuredClone(value, options) {
  if (arguments.length === 0) throw new TypeError("structuredClone: 1 argument required");
  const memory = new SafeMap();
  const transfer = options?.transfer;
  const list = transfer === undefined ? [] : ArrayFrom(transfer);
  // Only ArrayBuffers are transferable here; the originals are detached once cloning succeeded.
  for (const t of list) {
    if (!(t instanceof ArrayBuffer) || t.detached) throw dataCloneError(t);
    if (memory.has(t)) throw new DOMException("duplicate transferable", "DataCloneError");
    memory.set(t, cloneArrayBuffer(t));
  }
  const result = cloneValue(value, memory);
  for (const t of list) t.transfer();
  return result;
}
defineGlobal("structuredClone", structuredClone);
