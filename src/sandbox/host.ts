/**
 * The host functions granted to a sandbox on purpose (see prelude/README.md). Everything else in
 * Node stays out of reach. Arguments arrive from untrusted code: each function checks types and
 * sizes before it touches them.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten";
import { clockFunctions } from "./host/clock.js";
import { urlSetterFunctions } from "./host/url-setters.js";
import { zlibFunctions } from "./host/zlib.js";

/** What a sandbox does with the calls that concern its requests. */
export interface HostHooks {
  respond(meta: string, body: string | Uint8Array | undefined): void;
  chunk(id: number, data: string | Uint8Array): void;
  end(id: number): void;
  fail(id: number, kind: string, message: string, stack: string): void;
  log(level: string, text: string): void;
  setTimer(id: number, ms: number): void;
  clearTimer(id: number): void;
  loadResult(token: number, error: string, stack: string): void;
}

const DIGESTS: Record<string, string> = {
  "SHA-1": "sha1",
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512",
};
const MAX_LOG = 16 * 1024;
const encoder = new TextEncoder();
const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Installs `globalThis.__host`; the prelude takes it and deletes the global. */
export function installHost(ctx: QuickJSContext, hooks: HostHooks): void {
  const str = (h: QuickJSHandle | undefined): string =>
    h !== undefined && ctx.typeof(h) === "string" ? ctx.getString(h) : "";
  const num = (h: QuickJSHandle | undefined): number =>
    h !== undefined && ctx.typeof(h) === "number" ? ctx.getNumber(h) : NaN;
  /** A string stays a string (written as UTF-8 by the host); an ArrayBuffer is copied out. */
  const data = (h: QuickJSHandle | undefined): string | Uint8Array | undefined => {
    if (h === undefined) return undefined;
    const type = ctx.typeof(h);
    if (type === "string") return ctx.getString(h);
    if (type !== "object") return undefined;
    const view = ctx.getArrayBuffer(h);
    try {
      return view.value.slice();
    } finally {
      view.dispose();
    }
  };
  const bytes = (h: QuickJSHandle | undefined): Uint8Array => {
    const d = data(h);
    return d === undefined ? new Uint8Array(0) : typeof d === "string" ? encoder.encode(d) : d;
  };
  const buffer = (b: Uint8Array) =>
    ctx.newArrayBuffer(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

  const fns: Record<string, (...args: QuickJSHandle[]) => QuickJSHandle | void> = {
    ...zlibFunctions(ctx),
    ...urlSetterFunctions(ctx),
    ...clockFunctions(ctx),
    respond: (meta, body) => hooks.respond(str(meta), data(body)),
    chunk: (id, d) => {
      const v = data(d);
      if (v !== undefined) hooks.chunk(num(id), v);
    },
    end: (id) => hooks.end(num(id)),
    fail: (id, kind, message, stack) => hooks.fail(num(id), str(kind), str(message), str(stack)),
    log: (level, text) => hooks.log(str(level), str(text).slice(0, MAX_LOG)),
    setTimer: (id, ms) => hooks.setTimer(num(id), num(ms)),
    clearTimer: (id) => hooks.clearTimer(num(id)),
    loadResult: (token, error, stack) => hooks.loadResult(num(token), str(error), str(stack)),
    randomBytes: (n) => {
      const size = num(n);
      if (!(size >= 0 && size <= 65536)) throw new RangeError("randomBytes: 0..65536 bytes");
      return buffer(randomBytes(size));
    },
    uuid: () => ctx.newString(randomUUID()),
    digest: (alg, input) => {
      const name = DIGESTS[str(alg).toUpperCase()];
      if (!name) throw new Error(`NotSupportedError: unsupported digest "${str(alg)}"`);
      return buffer(createHash(name).update(bytes(input)).digest());
    },
    encode: (text) => buffer(encoder.encode(str(text))),
    decode: (input, fatal) => {
      const decoder =
        ctx.typeof(fatal) === "boolean" && ctx.dump(fatal) ? fatalDecoder : lenientDecoder;
      return ctx.newString(decoder.decode(bytes(input)));
    },
    parseURL: (input, base) => {
      const b =
        base !== undefined && ctx.typeof(base) === "string" ? ctx.getString(base) : undefined;
      let url: URL;
      try {
        url = new URL(str(input), b);
      } catch {
        return ctx.newString("");
      }
      const { href, origin, protocol, username, password, host, hostname, port, pathname } = url;
      const parts = { href, origin, protocol, username, password, host, hostname, port, pathname };
      return ctx.newString(JSON.stringify({ ...parts, search: url.search, hash: url.hash }));
    },
  };

  const hostObject = ctx.newObject();
  for (const [name, fn] of Object.entries(fns)) {
    const handle = ctx.newFunction(name, fn);
    ctx.setProp(hostObject, name, handle);
    handle.dispose();
  }
  ctx.setProp(ctx.global, "__host", hostObject);
  hostObject.dispose();
}
