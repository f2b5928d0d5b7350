/**
 * Host functions behind CompressionStream and DecompressionStream: Node's zlib (exact), one
 * engine per stream, handed to the sandbox as a HostRef it can hold but not forge or read. Each
 * chunk is processed synchronously (the sandbox waits), and what one chunk may produce is
 * bounded, so a decompression bomb ends in a TypeError inside the sandbox, not in host memory.
 *
 * Node has no public synchronous streaming zlib call: its `*Sync` functions drive the native
 * handle with `writeSync` and close it after one input. This drives the same handle the same
 * way and keeps it open until the stream ends.
 */
import zlib from "node:zlib";
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten";

/** Output of one chunk (or of the final flush) past which the stream errors. */
export const ZLIB_MAX_OUTPUT = 16 << 20;
/** Engines open at once per sandbox (a deflate engine holds ~270 KiB of native state). */
export const ZLIB_MAX_OPEN = 64;
const CHUNK = 64 * 1024;
const { Z_NO_FLUSH, Z_FINISH } = zlib.constants;

interface NativeHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  onerror: (message: string, errno: number) => void;
  close(): void;
}

const MAKERS = {
  gzip: [zlib.createGzip, zlib.createGunzip],
  deflate: [zlib.createDeflate, zlib.createInflate],
  "deflate-raw": [zlib.createDeflateRaw, zlib.createInflateRaw],
} as const;

class Engine {
  #handle: NativeHandle | null;
  #state: Uint32Array;
  #decompress: boolean;
  #error: string | null = null;
  #onClose: () => void;

  constructor(format: keyof typeof MAKERS, decompress: boolean, onClose: () => void) {
    const stream = MAKERS[format][decompress ? 1 : 0]() as unknown as {
      _handle?: NativeHandle;
      _writeState?: Uint32Array;
    };
    if (typeof stream._handle?.writeSync !== "function" || !stream._writeState)
      throw new Error("this Node's zlib has no synchronous handle");
    this.#handle = stream._handle;
    this.#state = stream._writeState;
    this.#decompress = decompress;
    this.#onClose = onClose;
    // Errors arrive through this callback, synchronously inside writeSync.
    this.#handle.onerror = (message) => {
      this.#error = message;
    };
  }

  write(input: Uint8Array, flush: number): Uint8Array {
    const handle = this.#handle;
    if (handle === null) throw new Error("the compression stream is closed");
    const parts: Uint8Array[] = [];
    let total = 0;
    let inOff = 0;
    let inLen = input.byteLength;
    for (;;) {
      const out = Buffer.allocUnsafe(CHUNK);
      handle.writeSync(flush, input, inOff, inLen, out, 0, CHUNK);
      if (this.#error !== null) return this.#fail(this.#error);
      const [availOut, availIn] = this.#state as unknown as [number, number];
      const have = CHUNK - availOut;
      inOff += inLen - availIn;
      inLen = availIn;
      if (have > 0) {
        total += have;
        if (total > ZLIB_MAX_OUTPUT)
          return this.#fail(`one chunk's output passed ${ZLIB_MAX_OUTPUT} bytes`);
        parts.push(out.subarray(0, have));
      }
      if (availOut !== 0) break; // zlib had room left: this input is done
    }
    // Inflating stops at the end of the data (and stays there): input left over is junk.
    if (this.#decompress && inLen > 0)
      return this.#fail("junk after the end of the compressed data");
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  }

  #fail(message: string): never {
    this.close();
    throw new Error(message);
  }

  close(): void {
    if (this.#handle === null) return;
    this.#handle.close();
    this.#handle = null;
    this.#onClose();
  }
}

type HostFn = (...args: QuickJSHandle[]) => QuickJSHandle | void;

/** zlibOpen(format, decompress), zlibWrite(ref, bytes), zlibEnd(ref), zlibClose(ref). */
export function zlibFunctions(ctx: QuickJSContext): Record<string, HostFn> {
  let open = 0;
  // An engine whose handle the sandbox's GC freed is closed by Node's GC; count it as gone.
  const gone = new FinalizationRegistry<{ closed: boolean }>((flag) => {
    if (!flag.closed) open--;
  });
  const engine = (h: QuickJSHandle | undefined): Engine => {
    if (h === undefined) throw new TypeError("not a compression engine");
    const e = ctx.unwrapHostRef<Engine>(h);
    if (!(e instanceof Engine)) throw new TypeError("not a compression engine");
    return e;
  };
  const bytesOf = (h: QuickJSHandle | undefined): Uint8Array => {
    if (h === undefined || ctx.typeof(h) !== "object") return new Uint8Array(0);
    const view = ctx.getArrayBuffer(h);
    try {
      return view.value.slice();
    } finally {
      view.dispose();
    }
  };
  const result = (b: Uint8Array) =>
    ctx.newArrayBuffer(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return {
    zlibOpen: (format, decompress) => {
      const f = ctx.typeof(format) === "string" ? ctx.getString(format) : "";
      if (!Object.hasOwn(MAKERS, f)) throw new TypeError(`unsupported format "${f}"`);
      if (open >= ZLIB_MAX_OPEN)
        throw new Error(`more than ${ZLIB_MAX_OPEN} compression streams open at once`);
      const flag = { closed: false };
      const e = new Engine(f as keyof typeof MAKERS, ctx.dump(decompress) === true, () => {
        flag.closed = true;
        open--;
      });
      open++;
      const ref = ctx.newHostRef(e);
      gone.register(e, flag);
      return ref.handle;
    },
    zlibWrite: (ref, data) => result(engine(ref).write(bytesOf(data), Z_NO_FLUSH)),
    zlibEnd: (ref) => {
      const e = engine(ref);
      const out = e.write(new Uint8Array(0), Z_FINISH);
      e.close();
      return result(out);
    },
    zlibClose: (ref) => engine(ref).close(),
  };
}
