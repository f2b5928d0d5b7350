/**
 * crypto.subtle beyond digest, by Node's WebCrypto (exact, and asynchronous: async-ops.ts). Keys
 * stay on the host behind HostRefs (refs.ts): the guest's CryptoKey holds an opaque handle and a
 * copy of what the standard exposes (type, extractable, algorithm, usages), never the material.
 *
 * `subtle(op, args, ...extras)`: args is the JSON of the method's arguments as the prelude wired
 * them (85-crypto.js): {"$b": i} is the BufferSource extras[i] (an ArrayBuffer), {"$k": i} the
 * CryptoKey whose handle is extras[i], {"$u": 1} undefined, {"$n": "NaN"} a non-finite number.
 * Node's subtle then converts them by WebIDL and rejects as the standard says.
 */
import { webcrypto } from "node:crypto";
import type { QuickJSHandle } from "quickjs-emscripten";
import type { AsyncOps } from "./async-ops.js";
import type { HostFunctions, HostIO } from "./io.js";
import type { HostRefs } from "./refs.js";

const KIND = "key";
const OPS = new Set([
  "encrypt",
  "decrypt",
  "sign",
  "verify",
  "generateKey",
  "deriveKey",
  "deriveBits",
  "importKey",
  "exportKey",
  "wrapKey",
  "unwrapKey",
]);

type Subtle = Record<string, (...args: unknown[]) => Promise<unknown>>;
const subtle = webcrypto.subtle as unknown as Subtle;
/** Node 20 has the class as a global only. */
const NodeCryptoKey = (globalThis as unknown as { CryptoKey: typeof webcrypto.CryptoKey })
  .CryptoKey;

/** What the guest's CryptoKey shows: the standard's attributes, exponent bytes as numbers. */
function describe(key: webcrypto.CryptoKey): string {
  const algorithm = { ...key.algorithm } as Record<string, unknown>;
  if (algorithm.publicExponent instanceof Uint8Array)
    algorithm.publicExponent = [...algorithm.publicExponent];
  return JSON.stringify({
    type: key.type,
    extractable: key.extractable,
    algorithm,
    usages: key.usages,
  });
}

/** Node 20 names one error against the standard: exportKey of a non-extractable key. */
function standardError(e: unknown): never {
  if (e instanceof DOMException && e.name === "InvalidAccessException")
    throw new DOMException(e.message, "InvalidAccessError");
  throw e;
}

export function cryptoFunctions(io: HostIO, refs: HostRefs, ops: AsyncOps): HostFunctions {
  const { ctx, str, bytes } = io;
  const key = (k: webcrypto.CryptoKey): QuickJSHandle[] => [
    refs.make(KIND, k),
    io.string(describe(k)),
  ];
  const result = (v: unknown): QuickJSHandle[] => {
    if (v === undefined) return [io.string("undefined")];
    if (typeof v === "boolean") return [io.string("bool"), v ? ctx.true : ctx.false];
    if (v instanceof ArrayBuffer) return [io.string("buffer"), io.buffer(new Uint8Array(v))];
    if (v instanceof NodeCryptoKey) return [io.string("key"), ...key(v)];
    const pair = v as { publicKey?: unknown; privateKey?: unknown };
    if (pair.publicKey instanceof NodeCryptoKey && pair.privateKey instanceof NodeCryptoKey)
      return [io.string("pair"), ...key(pair.publicKey), ...key(pair.privateKey)];
    return [io.string("json"), io.string(JSON.stringify(v))];
  };

  return {
    subtle: (op, args, ...extras) => {
      const name = str(op);
      if (!OPS.has(name)) throw new TypeError(`unknown SubtleCrypto operation ${name}`);
      const revive = (v: unknown): unknown => {
        if (Array.isArray(v)) return v.map(revive);
        if (v === null || typeof v !== "object") return v;
        const o = v as Record<string, unknown>;
        if (typeof o.$b === "number") return bytes(extras[o.$b]);
        if (typeof o.$k === "number") {
          const k = refs.get<webcrypto.CryptoKey>(extras[o.$k], KIND);
          if (k === undefined) throw new TypeError("not a CryptoKey");
          return k;
        }
        if (o.$u === 1) return undefined;
        if (typeof o.$n === "string") return Number(o.$n);
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(o)) out[k] = revive(x);
        return out;
      };
      const list = revive(JSON.parse(str(args))) as unknown[];
      if (!Array.isArray(list)) throw new TypeError("bad SubtleCrypto arguments");
      const work = subtle[name]!.apply(webcrypto.subtle, list).catch(standardError);
      return ctx.newNumber(ops.start(work, result));
    },
  };
}
