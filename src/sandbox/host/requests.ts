/** The host functions that concern a sandbox's requests, timers and module loads. */
import type { Enter } from "./async-ops.js";
import type { HostFunctions, HostIO } from "./io.js";

/** What a sandbox does with the calls that concern its requests. */
export interface HostHooks {
  /** False when the request is no longer wanted (a streamed body should then be cancelled). */
  respond(meta: string, body: string | Uint8Array | undefined): boolean;
  /** False: the client is behind; stop pulling the stream until the host calls entry.pull. */
  chunk(id: number, data: string | Uint8Array): boolean;
  end(id: number): void;
  fail(id: number, kind: string, message: string, stack: string): void;
  /** True when the line was refused: the request's log budget is spent (the prelude goes quiet). */
  log(level: string, text: string): boolean;
  /** "" when armed, else the reason it was refused. */
  setTimer(id: number, ms: number, repeat: boolean): string;
  clearTimer(id: number): void;
  waitUntil(id: number, delta: number): void;
  loadResult(token: number, error: string, stack: string): void;
  /** May a whole body of at least `size` bytes be sent? False: refused, already answered. */
  admit(id: number, size: number): boolean;
  /** A host operation settled (async-ops.ts): re-enter the sandbox with its outcome. */
  settle: Enter;
}

const MAX_LOG = 16 * 1024;

export function requestFunctions(io: HostIO, hooks: HostHooks): HostFunctions {
  const { str, num, data, string } = io;
  const answer = (yes: boolean) => (yes ? io.ctx.true : io.ctx.false);
  return {
    respond: (meta, body) => answer(hooks.respond(str(meta), data(body))),
    chunk: (id, d) => {
      const v = data(d);
      return answer(v !== undefined && hooks.chunk(num(id), v));
    },
    end: (id) => hooks.end(num(id)),
    fail: (id, kind, message, stack) => hooks.fail(num(id), str(kind), str(message), str(stack)),
    log: (level, text) =>
      hooks.log(str(level), str(text).slice(0, MAX_LOG)) ? io.ctx.true : undefined,
    setTimer: (id, ms, repeat) => {
      const refused = hooks.setTimer(num(id), num(ms), num(repeat) === 1);
      return refused === "" ? undefined : string(refused);
    },
    clearTimer: (id) => hooks.clearTimer(num(id)),
    waitUntil: (id, delta) => hooks.waitUntil(num(id), num(delta)),
    loadResult: (token, error, stack) => hooks.loadResult(num(token), str(error), str(stack)),
    admit: (id, size) => answer(hooks.admit(num(id), num(size))),
  };
}
