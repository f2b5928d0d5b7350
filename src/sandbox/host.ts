/**
 * The host functions granted to a sandbox on purpose (see prelude/README.md), one file per
 * feature under host/. Everything else in Node stays out of reach. Arguments arrive from
 * untrusted code: each function checks types and sizes before it touches them (host/io.ts).
 */
import type { QuickJSContext } from "quickjs-emscripten";
import { basicFunctions } from "./host/basics.js";
import { hostIO, type HostFunctions, type HostIO } from "./host/io.js";
import { requestFunctions, type HostHooks } from "./host/requests.js";

export type { HostHooks } from "./host/requests.js";

/** Installs `globalThis.__host`; the prelude takes it and deletes the global. */
export function installHost(ctx: QuickJSContext, hooks: HostHooks): HostIO {
  const io = hostIO(ctx);
  const fns: HostFunctions = { ...requestFunctions(io, hooks), ...basicFunctions(io) };
  const hostObject = ctx.newObject();
  for (const [name, fn] of Object.entries(fns)) {
    const handle = ctx.newFunction(name, fn);
    ctx.setProp(hostObject, name, handle);
    handle.dispose();
  }
  ctx.setProp(ctx.global, "__host", hostObject);
  hostObject.dispose();
  return io;
}
