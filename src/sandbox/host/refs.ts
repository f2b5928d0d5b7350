/**
 * Host objects a sandbox holds (crypto keys, stateful decoders) behind quickjs-emscripten
 * HostRefs. The guest gets an opaque object it cannot read or forge; QuickJS's finalizer frees
 * the host value when the guest drops that object, and the whole table is garbage with the
 * sandbox (its runtime is never disposed). The number alive at once is bounded per sandbox.
 */
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten";

type HostRef<T extends object> = ReturnType<QuickJSContext["newHostRef"]> & { readonly value: T };

/** A host value as the table holds it: its kind keeps a decoder from passing as a key. */
interface Box {
  kind: string;
  value: object;
}

export class HostRefs {
  readonly limit: number;
  #ctx: QuickJSContext;
  #live: { ref: HostRef<Box>; box: Box }[] = [];

  constructor(ctx: QuickJSContext, limit: number) {
    this.#ctx = ctx;
    this.limit = limit;
  }

  /** A new guest handle for `value` (returned to the guest, which then owns it). */
  make(kind: string, value: object): QuickJSHandle {
    if (this.#live.length >= this.limit) this.#sweep();
    if (this.#live.length >= this.limit)
      throw new RangeError(`more than ${this.limit} host objects alive in this sandbox`);
    const box = { kind, value };
    const ref = this.#ctx.newHostRef(box);
    this.#live.push({ ref, box });
    return ref.handle;
  }

  /** The host value behind a guest handle, if it is one of ours of this kind. */
  get<T extends object>(h: QuickJSHandle | undefined, kind: string): T | undefined {
    if (h === undefined || this.#ctx.typeof(h) !== "object") return undefined;
    try {
      const box = this.#ctx.unwrapHostRef<Box>(h);
      return box.kind === kind ? (box.value as T) : undefined;
    } catch {
      return undefined; // not a HostRef
    }
  }

  /** Forgets refs whose guest object QuickJS freed: their id holds nothing, or a newer value. */
  #sweep(): void {
    this.#live = this.#live.filter(({ ref, box }) => {
      try {
        return ref.value === box;
      } catch {
        return false;
      }
    });
  }
}
