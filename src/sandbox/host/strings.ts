/**
 * The crossing between the sandbox and the host: strings, exactly, and calls. This is the one file
 * that relies on quickjs-emscripten 0.32's internals (checked when a context is wired up).
 *
 * The library moves a string as a C string both ways (JS_NewString with strlen; JS_ToCString),
 * so a NUL cuts it short and a lone surrogate comes out as U+FFFD (or, host to guest, can eat the
 * rest of the string). It has no length-aware string call. Its own newString and getString also
 * cost more than the interpreter's work for a request's meta: a JS loop per character, a malloc
 * and free and Lifetime objects per string. So the common string crosses here by hand:
 * - host to guest, a C-safe string (no NUL, no lone surrogate: V8 finds those natively) is
 *   written as UTF-8 by Node straight into a scratch block of the wasm heap, then QTS_NewString;
 * - guest to host, QTS_GetString, then Node decodes the bytes up to the NUL from the heap; one raw
 *   length read (~0.1 µs) shows a cut, and a U+FFFD in the result shows where a surrogate may have
 *   been lost.
 * Only such rare strings take the exact path: JSON text, whose escapes carry every code unit and
 * which is itself a plain C-safe string, made and read by the untampered `JSON.parse` and
 * `JSON.stringify` of the context, captured by the prelude before site code runs.
 *
 * The scratch and argument blocks are allocated only once bound (the prelude's intrinsics handed
 * over), which a template never is: a copy of the template's memory holds none of them, so the
 * addresses this object keeps are always blocks of its own heap.
 */
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten";

declare global {
  // ES2024, in Node 20 (the project's lib is ES2022).
  interface String {
    isWellFormed(): boolean;
    toWellFormed(): string;
  }
}

/** The parts of quickjs-emscripten 0.32's QuickJSContext this file relies on (not public API). */
interface ContextInternals {
  ffi: {
    QTS_GetProp(ctx: number, value: number, key: number): number;
    QTS_GetFloat64(ctx: number, value: number): number;
    QTS_FreeValuePointer(ctx: number, value: number): void;
    QTS_NewString(ctx: number, cString: number): number;
    QTS_GetString(ctx: number, value: number): number;
    QTS_FreeCString(ctx: number, cString: number): void;
    QTS_Call(ctx: number, fn: number, self: number, argc: number, argv: number): number;
    QTS_ResolveException(ctx: number, maybeException: number): number;
    QTS_NewArrayBuffer(ctx: number, owned: number, length: number): number;
  };
  ctx: { value: number };
  module: { _malloc(bytes: number): number; _free(ptr: number): void; HEAPU8: Uint8Array };
  /** Wraps an owned JSValue pointer as the handle the library itself would return. */
  memory: { heapValueHandle(ptr: number): QuickJSHandle };
}

const FFI_NAMES = [
  "QTS_GetProp",
  "QTS_GetFloat64",
  "QTS_FreeValuePointer",
  "QTS_NewString",
  "QTS_GetString",
  "QTS_FreeCString",
  "QTS_Call",
  "QTS_ResolveException",
  "QTS_NewArrayBuffer",
] as const;

/** The scratch block's first size: a browser's request meta (~500 characters) fits thrice. */
const SCRATCH_BYTES = 4096;
/** The most the scratch block keeps; a longer string gets a block of its own for its crossing. */
const SCRATCH_MAX = 64 * 1024;
/** Arguments `call` passes through its own block; more go through the library's callFunction. */
const ARG_SLOTS = 16;

export type CallResult =
  { value: QuickJSHandle; error?: undefined } | { value?: undefined; error: QuickJSHandle };

/** C-safe: crosses quickjs-emscripten's C-string path unchanged. */
export function cSafe(s: string): boolean {
  return s.indexOf("\0") === -1 && s.isWellFormed();
}

function internals(ctx: QuickJSContext, memory: WebAssembly.Memory): ContextInternals {
  const raw = ctx as unknown as Partial<ContextInternals>;
  const ok =
    raw.ffi !== undefined &&
    FFI_NAMES.every((name) => typeof raw.ffi![name] === "function") &&
    typeof raw.ctx?.value === "number" &&
    typeof raw.module?._malloc === "function" &&
    typeof raw.module._free === "function" &&
    // The module runs on this memory (its heap view is over it).
    raw.module.HEAPU8?.buffer === memory.buffer &&
    typeof raw.memory?.heapValueHandle === "function";
  if (!ok)
    throw new Error("quickjs-emscripten internals changed: exact string crossing needs a review");
  return raw as ContextInternals;
}

/** One context's crossing: made by hostIO, used for every string in or out and every call in. */
export class Crossing {
  readonly #ctx: QuickJSContext;
  readonly #raw: ContextInternals;
  readonly #ctxPtr: number;
  readonly #memory: WebAssembly.Memory;
  readonly #keyPtr: number;
  readonly #undefinedPtr: number;
  /** A Buffer over the wasm heap; a new one once the memory grew (the old buffer is detached). */
  #heap: Buffer;
  #heap32: Int32Array;
  #scratch = 0;
  #scratchBytes = 0;
  #argv = 0;
  #parse: QuickJSHandle | undefined;
  #stringify: QuickJSHandle | undefined;

  constructor(ctx: QuickJSContext, memory: WebAssembly.Memory) {
    this.#raw = internals(ctx, memory);
    this.#ctx = ctx;
    this.#ctxPtr = this.#raw.ctx.value;
    this.#memory = memory;
    this.#heap = Buffer.from(memory.buffer);
    this.#heap32 = new Int32Array(memory.buffer);
    // The library's getLength works on objects only; "length" read raw costs ~0.1 µs.
    this.#keyPtr = ctx.newString("length").value as unknown as number;
    this.#undefinedPtr = ctx.undefined.value as unknown as number;
  }

  /**
   * Takes the context's untampered JSON.parse and JSON.stringify, which the prelude captured (so
   * a template copy has them for free), and switches to the fast paths. Until then, which is only
   * while the prelude is evaluated, strings cross through the library, a rare one as its C-string
   * path leaves it.
   */
  bind(parse: QuickJSHandle, stringify: QuickJSHandle): void {
    this.#parse = parse;
    this.#stringify = stringify;
    const { _malloc } = this.#raw.module;
    this.#argv = _malloc(ARG_SLOTS * 4);
    this.#scratch = _malloc(SCRATCH_BYTES);
    this.#scratchBytes = this.#scratch === 0 ? 0 : SCRATCH_BYTES;
  }

  /** The guest string behind `h`, every code unit of it. */
  read(h: QuickJSHandle): string {
    const ffi = this.#raw.ffi;
    const ctxPtr = this.#ctxPtr;
    const ptr = ffi.QTS_GetString(ctxPtr, h.value as unknown as number);
    let s: string;
    if (ptr === 0)
      s = this.#ctx.getString(h); // out of memory: the library's own failure
    else {
      const heap = this.#view();
      // The C string ends at the first NUL. (Node's UTF-8 decoding keeps a BOM; TextDecoder's
      // would strip it, and costs more for a short string.)
      s = heap.toString("utf8", ptr, heap.indexOf(0, ptr));
      ffi.QTS_FreeCString(ctxPtr, ptr);
    }
    if (s.length === this.#guestLength(h) && s.indexOf("\uFFFD") === -1) return s;
    return this.#readExact(h, s);
  }

  /** A new guest string handle holding exactly `s` (the caller disposes it). */
  make(s: string): QuickJSHandle {
    if (!cSafe(s)) return this.#parse === undefined ? this.#ctx.newString(s) : this.#makeExact(s);
    if (this.#scratchBytes === 0) return this.#ctx.newString(s);
    let ptr = this.#scratch;
    // UTF-8 takes at most 3 bytes per UTF-16 code unit; count exactly only when that may not fit.
    if (s.length * 3 >= this.#scratchBytes) {
      const bytes = Buffer.byteLength(s) + 1;
      if (bytes > this.#scratchBytes) ptr = this.#room(bytes);
      if (ptr === 0) return this.#ctx.newString(s);
    }
    // After any malloc: it may have grown the memory.
    const heap = this.#view();
    heap[ptr + heap.write(s, ptr)] = 0;
    const value = this.#raw.ffi.QTS_NewString(this.#ctxPtr, ptr);
    if (ptr !== this.#scratch) this.#raw.module._free(ptr);
    return this.#raw.memory.heapValueHandle(value);
  }

  /**
   * A new guest ArrayBuffer holding a copy of `b`: one copy into a block the ArrayBuffer then
   * owns (QuickJS frees it with the buffer), where the library's newArrayBuffer wants an
   * ArrayBuffer of its own to copy from.
   */
  buffer(b: Uint8Array): QuickJSHandle {
    const ptr = this.#raw.module._malloc(b.byteLength);
    if (ptr === 0) return this.#ctx.newArrayBuffer(b.slice().buffer);
    this.#view().set(b, ptr);
    return this.#raw.memory.heapValueHandle(
      this.#raw.ffi.QTS_NewArrayBuffer(this.#ctxPtr, ptr, b.byteLength),
    );
  }

  /**
   * `ctx.callFunction(fn, ctx.undefined, ...args)` without its per-call array, malloc and
   * Lifetimes: the argument pointers go through a block of this context's own (QTS_Call copies
   * them out before the guest runs, so a nested call may reuse it). Same result shape: `value` or
   * `error`, a handle the caller disposes.
   */
  call(fn: QuickJSHandle, args: readonly QuickJSHandle[]): CallResult {
    const n = args.length;
    if (this.#argv === 0 || n > ARG_SLOTS) {
      const r = this.#ctx.callFunction(fn, this.#ctx.undefined, ...args);
      return r.error ? { error: r.error } : { value: r.value };
    }
    const ffi = this.#raw.ffi;
    const ctxPtr = this.#ctxPtr;
    // Read every handle first: a disposed one throws here, before anything is written or run.
    const fnPtr = fn.value as unknown as number;
    if (this.#heap32.buffer !== this.#memory.buffer) this.#view();
    const at = this.#argv >> 2;
    for (let i = 0; i < n; i++) this.#heap32[at + i] = args[i]!.value as unknown as number;
    const result = ffi.QTS_Call(ctxPtr, fnPtr, this.#undefinedPtr, n, this.#argv);
    const error = ffi.QTS_ResolveException(ctxPtr, result);
    if (error !== 0) {
      ffi.QTS_FreeValuePointer(ctxPtr, result);
      return { error: this.#raw.memory.heapValueHandle(error) };
    }
    return { value: this.#raw.memory.heapValueHandle(result) };
  }

  /** The heap views, made anew when the memory grew. */
  #view(): Buffer {
    const buffer = this.#memory.buffer;
    if (this.#heap.buffer !== buffer) {
      this.#heap = Buffer.from(buffer);
      this.#heap32 = new Int32Array(buffer);
    }
    return this.#heap;
  }

  /** A block of `bytes`: the scratch grown (up to SCRATCH_MAX), else one for this string alone. */
  #room(bytes: number): number {
    const { _malloc, _free } = this.#raw.module;
    if (bytes > SCRATCH_MAX) return _malloc(bytes);
    const size = Math.min(SCRATCH_MAX, Math.max(bytes, this.#scratchBytes * 2));
    const ptr = _malloc(size);
    if (ptr === 0) return 0; // the old block stays: the caller takes the library's path
    _free(this.#scratch);
    this.#scratch = ptr;
    this.#scratchBytes = size;
    return ptr;
  }

  #guestLength(h: QuickJSHandle): number {
    const ffi = this.#raw.ffi;
    const v = ffi.QTS_GetProp(this.#ctxPtr, h.value as unknown as number, this.#keyPtr);
    const n = ffi.QTS_GetFloat64(this.#ctxPtr, v);
    ffi.QTS_FreeValuePointer(this.#ctxPtr, v);
    return n;
  }

  /** `h` read through its JSON text; `s` is what the C string gave, kept if that fails. */
  #readExact(h: QuickJSHandle, s: string): string {
    const ctx = this.#ctx;
    if (this.#stringify === undefined) return s;
    const text = ctx.callFunction(this.#stringify, ctx.undefined, h);
    if (text.error) {
      text.error.dispose();
      return s; // out of memory or interrupted: the sandbox is lost anyway
    }
    const out = JSON.parse(ctx.getString(text.value)) as unknown;
    text.value.dispose();
    return typeof out === "string" ? out : s;
  }

  #makeExact(s: string): QuickJSHandle {
    const ctx = this.#ctx;
    const text = this.make(JSON.stringify(s));
    const r = ctx.callFunction(this.#parse!, ctx.undefined, text);
    text.dispose();
    if (r.error) {
      r.error.dispose();
      return ctx.newString(s.toWellFormed());
    }
    return r.value;
  }
}
