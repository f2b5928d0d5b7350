/**
 * Reading host-function arguments and making results. Arguments come from untrusted code: each
 * reader checks the type and never runs guest code (no ToString of an object), and every string
 * crosses exactly (strings.ts).
 */
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten";
import { Crossing, type CallResult } from "./strings.js";

export type Arg = QuickJSHandle | undefined;
export type HostFunction = (...args: QuickJSHandle[]) => QuickJSHandle | void;
export type HostFunctions = Record<string, HostFunction>;

export interface HostIO {
  readonly ctx: QuickJSContext;
  /** The guest string behind a handle known to be a string (no type check), exactly. */
  read(h: QuickJSHandle): string;
  /** A string argument, or "" for anything else. */
  str(h: Arg): string;
  /** A string argument, or undefined for anything else. */
  optStr(h: Arg): string | undefined;
  num(h: Arg): number;
  bool(h: Arg): boolean;
  /** A string stays a string; an ArrayBuffer is copied out; anything else is undefined. */
  data(h: Arg): string | Uint8Array | undefined;
  /** An ArrayBuffer's bytes (a string as UTF-8); empty for anything else. */
  bytes(h: Arg): Uint8Array;
  /** A new guest string, exactly. */
  string(s: string): QuickJSHandle;
  /** Calls a guest function with `this` undefined: the value or the error, a handle to dispose. */
  call(fn: QuickJSHandle, args?: readonly QuickJSHandle[]): CallResult;
  /** A new guest ArrayBuffer holding a copy of `b`. */
  buffer(b: Uint8Array): QuickJSHandle;
  /** Takes the prelude's captured intrinsics: [JSON.parse, JSON.stringify, makeError]. */
  bind(intrinsics: QuickJSHandle): void;
  /** A guest error to throw from a host function (a real TypeError, RangeError or SyntaxError
   * for those names, else an Error with that name): `throw io.error(...)`. */
  error(name: string, message: string): QuickJSHandle;
}

const encoder = new TextEncoder();
const NO_ARGS: readonly QuickJSHandle[] = Object.freeze([]);

export function hostIO(ctx: QuickJSContext, memory: WebAssembly.Memory): HostIO {
  const exact = new Crossing(ctx, memory);
  let makeError: QuickJSHandle | undefined;
  const isString = (h: Arg): h is QuickJSHandle => h !== undefined && ctx.typeof(h) === "string";
  const data = (h: Arg): string | Uint8Array | undefined => {
    if (h === undefined) return undefined;
    const type = ctx.typeof(h);
    if (type === "string") return exact.read(h);
    if (type !== "object") return undefined;
    const view = ctx.getArrayBuffer(h);
    try {
      return view.value.slice();
    } finally {
      view.dispose();
    }
  };
  const io: HostIO = {
    ctx,
    read: (h) => exact.read(h),
    str: (h) => (isString(h) ? exact.read(h) : ""),
    optStr: (h) => (isString(h) ? exact.read(h) : undefined),
    num: (h) => (h !== undefined && ctx.typeof(h) === "number" ? ctx.getNumber(h) : NaN),
    bool: (h) => h !== undefined && ctx.typeof(h) === "boolean" && ctx.dump(h) === true,
    data,
    bytes(h) {
      const d = data(h);
      return d === undefined ? new Uint8Array(0) : typeof d === "string" ? encoder.encode(d) : d;
    },
    string: (s) => exact.make(s),
    call: (fn, args = NO_ARGS) => exact.call(fn, args),
    buffer: (b) => exact.buffer(b),
    error(name, message) {
      const n = exact.make(name);
      const m = exact.make(message);
      let e: QuickJSHandle;
      if (makeError === undefined) {
        e = ctx.newError();
        ctx.setProp(e, "name", n);
        ctx.setProp(e, "message", m);
      } else {
        const r = ctx.callFunction(makeError, ctx.undefined, n, m);
        e = r.error ?? r.value;
      }
      n.dispose();
      m.dispose();
      return e;
    },
    bind(intrinsics) {
      const get = (i: number) => ctx.getProp(intrinsics, i);
      exact.bind(get(0), get(1));
      makeError = get(2);
    },
  };
  return io;
}
