/**
 * The host functions granted to a sandbox on purpose (see prelude/README.md), one file per
 * feature under host/. Everything else in Node stays out of reach. Arguments arrive from
 * untrusted code: each function checks types and sizes before it touches them (host/io.ts).
 */
import type { QuickJSContext } from "quickjs-emscripten";
import { AsyncOps } from "./host/async-ops.js";
import { basicFunctions } from "./host/basics.js";
import { cryptoFunctions } from "./host/crypto.js";
import { encodingFunctions } from "./host/encoding.js";
import { intlFunctions } from "./host/intl.js";
import { hostIO, type HostFunction, type HostFunctions, type HostIO } from "./host/io.js";
import { HostRefs } from "./host/refs.js";
import { requestFunctions, type HostHooks } from "./host/requests.js";
import { clockFunctions } from "./host/clock.js";
import { urlSetterFunctions } from "./host/url-setters.js";
import { zlibFunctions } from "./host/zlib.js";

export type { HostHooks } from "./host/requests.js";

/** Host objects (keys, decoders) one sandbox may hold alive at once. */
const MAX_HOST_OBJECTS = 4096;
/** Host operations (crypto.subtle) one sandbox may have pending at once. */
const MAX_PENDING_OPS = 1000;

/** Installs `globalThis.__host`; the prelude takes it and deletes the global. */
export function installHost(
  ctx: QuickJSContext,
  memory: WebAssembly.Memory,
  hooks: HostHooks,
): { io: HostIO; ops: AsyncOps } {
  const io = hostIO(ctx, memory);
  const refs = new HostRefs(ctx, MAX_HOST_OBJECTS);
  const ops = new AsyncOps(
    MAX_PENDING_OPS,
    (t, outcome) => hooks.settle(t, outcome),
    (e) => [io.string(e.dom ? "dom" : "error"), io.string(e.name), io.string(e.message)],
  );
  const fns: HostFunctions = {
    ...requestFunctions(io, hooks),
    ...basicFunctions(io),
    ...encodingFunctions(io, refs),
    ...cryptoFunctions(io, refs, ops),
    ...intlFunctions(io, refs),
    ...zlibFunctions(ctx),
    ...urlSetterFunctions(io),
    ...clockFunctions(ctx),
  };
  const hostObject = ctx.newObject();
  for (const [name, fn] of Object.entries(fns)) {
    // A Node error thrown by a host function reaches the guest as the guest's own error type.
    const guarded: HostFunction = (...args) => {
      try {
        return fn(...args);
      } catch (e) {
        throw e instanceof Error ? io.error(e.name, e.message) : e;
      }
    };
    const handle = ctx.newFunction(name, guarded);
    ctx.setProp(hostObject, name, handle);
    handle.dispose();
  }
  ctx.setProp(ctx.global, "__host", hostObject);
  hostObject.dispose();
  return { io, ops };
}
