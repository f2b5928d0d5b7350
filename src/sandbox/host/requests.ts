/** The host functions that concern a sandbox's requests, timers and module loads. */
import type { Enter } from "./async-ops.js";
import type { HostFunctions, HostIO } from "./io.js";

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
  /** A host operation settled (async-ops.ts): re-enter the sandbox with its outcome. */
  settle: Enter;
}

const MAX_LOG = 16 * 1024;

export function requestFunctions(io: HostIO, hooks: HostHooks): HostFunctions {
  const { str, num, data } = io;
  return {
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
  };
}
