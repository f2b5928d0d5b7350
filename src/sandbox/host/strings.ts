/**
 * Strings that cross between the sandbox and the host, exactly. quickjs-emscripten 0.32 moves a
 * string as a C string both ways (JS_NewString with strlen; JS_ToCString, then UTF8ToString), so a
 * NUL cuts it short and a lone surrogate comes out as three U+FFFD (or, host to guest, can eat the
 * rest of the string). It has no length-aware string call.
 *
 * So the common string keeps that path and is checked: host to guest, V8 finds a NUL or a lone
 * surrogate natively; guest to host, one raw length read (~0.1 µs; the library's getLength
 * wrapper works on objects only) shows a cut, and a U+FFFD in the result shows where a surrogate may have
 * been lost. Only such rare strings take the exact path: JSON text, whose escapes carry every
 * code unit and which is itself a plain C-safe string, made and read by the untampered
 * `JSON.parse`/`JSON.stringify` of the context, captured by the prelude before site code runs.
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
  };
  ctx: { value: number };
}

export interface ExactStrings {
  /** The guest string behind `h`, every code unit of it. */
  read(h: QuickJSHandle): string;
  /** A new guest string handle holding exactly `s` (the caller disposes it). */
  make(s: string): QuickJSHandle;
  /**
   * The context's untampered JSON.parse and JSON.stringify, which the prelude captured (so a
   * template copy has them for free). Until then, which is only while the prelude is evaluated,
   * a rare string crosses as the C-string path leaves it.
   */
  bind(parse: QuickJSHandle, stringify: QuickJSHandle): void;
}

/** C-safe: crosses quickjs-emscripten's C-string path unchanged. */
export function cSafe(s: string): boolean {
  return s.indexOf("\0") === -1 && s.isWellFormed();
}

export function exactStrings(ctx: QuickJSContext): ExactStrings {
  const raw = ctx as unknown as ContextInternals;
  if (
    typeof raw.ffi?.QTS_GetProp !== "function" ||
    typeof raw.ffi.QTS_GetFloat64 !== "function" ||
    typeof raw.ffi.QTS_FreeValuePointer !== "function" ||
    typeof raw.ctx?.value !== "number"
  )
    throw new Error("quickjs-emscripten internals changed: exact string crossing needs a review");
  const ffi = raw.ffi;
  const ctxPtr = raw.ctx.value;
  // The library's getLength works on objects only; "length" read raw costs ~0.1 µs.
  const lengthKey = ctx.newString("length");
  const keyPtr = lengthKey.value as unknown as number;
  const guestLength = (h: QuickJSHandle): number => {
    const v = ffi.QTS_GetProp(ctxPtr, h.value as unknown as number, keyPtr);
    const n = ffi.QTS_GetFloat64(ctxPtr, v);
    ffi.QTS_FreeValuePointer(ctxPtr, v);
    return n;
  };
  let parse: QuickJSHandle | undefined;
  let stringify: QuickJSHandle | undefined;

  return {
    read(h) {
      const s = ctx.getString(h);
      if (s.length === guestLength(h) && s.indexOf("\uFFFD") === -1) return s;
      if (stringify === undefined) return s;
      const text = ctx.callFunction(stringify, ctx.undefined, h);
      if (text.error) {
        text.error.dispose();
        return s; // out of memory or interrupted: the sandbox is lost anyway
      }
      const out = JSON.parse(ctx.getString(text.value)) as unknown;
      text.value.dispose();
      return typeof out === "string" ? out : s;
    },
    make(s) {
      if (cSafe(s) || parse === undefined) return ctx.newString(s);
      const text = ctx.newString(JSON.stringify(s));
      const r = ctx.callFunction(parse, ctx.undefined, text);
      text.dispose();
      if (r.error) {
        r.error.dispose();
        return ctx.newString(s.toWellFormed());
      }
      return r.value;
    },
    bind(p, j) {
      parse = p;
      stringify = j;
    },
  };
}
