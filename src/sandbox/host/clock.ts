/** performance.now() for the sandbox: the host's high-resolution clock, as epoch ms. */
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten";

type HostFn = (...args: QuickJSHandle[]) => QuickJSHandle | void;

export function clockFunctions(ctx: QuickJSContext): Record<string, HostFn> {
  return { now: () => ctx.newNumber(performance.timeOrigin + performance.now()) };
}
