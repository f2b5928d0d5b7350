/**
 * Booting an interpreter, and booting it from a template.
 *
 * Evaluating the prelude of web globals is most of what a new sandbox costs (see README "One
 * wasm instance per site sandbox"). quickjs-emscripten cannot cache bytecode, but everything an
 * interpreter is lives in its wasm linear memory, and each sandbox has a memory of its own. So a
 * template instance evaluates the prelude once, and every later sandbox boots the same way up to
 * the point where the prelude would run, then takes a copy of the template's memory instead of
 * running it. In a server the template comes from an image of one made by another process
 * (template-image.ts, useTemplateImage); elsewhere this process builds it.
 *
 * That is sound only if both boots allocated exactly the same C objects up to that point (same
 * runtime, context and handle addresses, same host-function ids on the JS side): the boot is
 * deterministic, and `matches` checks it on every copy, falling back to evaluating the prelude.
 * The template never runs again after its snapshot is taken. Per-sandbox state that the prelude
 * computes at evaluation (the random seed, the time origin) is reset by the prelude's `init`.
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from "quickjs-emscripten";
import { installHost, type HostHooks } from "./host.js";
import type { AsyncOps } from "./host/async-ops.js";
import type { HostIO } from "./host/io.js";
import { PRELUDE_NAME, preludeSource } from "./prelude.js";
import { readAt } from "../read-at.js";
import type { ImageFile, ImageFingerprint, TemplateImage } from "./template-image.js";
import { newInstance, PAGE_BYTES, type QuickJSInstance } from "./wasm.js";

export interface BootOptions {
  memoryLimitBytes: number;
  stackBytes: number;
  interrupt: () => boolean;
  load: (name: string) => string | { error: Error };
  normalize: (base: string, requested: string) => string;
  hooks: HostHooks;
}

export interface Booted {
  runtime: QuickJSRuntime;
  ctx: QuickJSContext;
  /** An object made before the prelude runs; its `e` property holds the prelude's entry. */
  keeper: QuickJSHandle;
  /** The host side of this interpreter's host functions (host.ts). */
  host: { io: HostIO; ops: AsyncOps };
}

/** Runtime, context, host functions and keeper: the part of a boot that is always done. */
function bootBase(instance: QuickJSInstance, o: BootOptions): Booted {
  const runtime = instance.module.newRuntime();
  runtime.setMemoryLimit(o.memoryLimitBytes);
  runtime.setMaxStackSize(o.stackBytes);
  runtime.setInterruptHandler(o.interrupt);
  runtime.setModuleLoader(o.load, o.normalize);
  const ctx = runtime.newContext();
  const host = installHost(ctx, instance.memory, o.hooks);
  const keeper = ctx.newObject();
  return { runtime, ctx, keeper, host };
}

/** Evaluates the prelude and stores its entry object in the keeper. */
function evaluatePrelude({ ctx, keeper }: Booted): void {
  const entry = ctx.unwrapResult(ctx.evalCode(preludeSource(), PRELUDE_NAME));
  ctx.setProp(keeper, "e", entry);
  entry.dispose();
  // The prelude took its reference to the host functions; site code must not find them.
  ctx.setProp(ctx.global, "__host", ctx.undefined);
  ctx.unwrapResult(ctx.evalCode("delete globalThis.__host", PRELUDE_NAME)).dispose();
}

/** What a deterministic boot leaves behind: addresses and the next host-reference id. */
function fingerprint(b: Booted): ImageFingerprint {
  return {
    rt: (b.runtime as unknown as { rt: { value: number } }).rt.value,
    ctx: (b.ctx as unknown as { ctx: { value: number } }).ctx.value,
    keeper: b.keeper.value as unknown as number,
    nextRef: (b.runtime.hostRefs as unknown as { nextId: number }).nextId,
  };
}

/** QuickJS's stack bound: deep enough for real code, far from the worker's own stack. */
export const STACK_BYTES = 512 * 1024;
const CHUNK = 4096;
/** The template's own cap: room for the prelude, never for site code. */
const TEMPLATE_MB = 64;

/** Byte ranges, in CHUNK steps, where any of `views` holds a non-zero byte. */
function nonZeroRanges(views: Uint8Array[], length: number): [number, number][] {
  const ranges: [number, number][] = [];
  const words = views.map((v) => new Uint32Array(v.buffer, 0, length / 4));
  for (let at = 0; at < length; at += CHUNK) {
    const w0 = at / 4;
    let used = false;
    for (const w of words) {
      for (let i = w0; i < w0 + CHUNK / 4; i++)
        if (w[i] !== 0) {
          used = true;
          break;
        }
      if (used) break;
    }
    if (!used) continue;
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last[1] === at) last[1] = at + CHUNK;
    else ranges.push([at, at + CHUNK]);
  }
  return ranges;
}

export class Template {
  readonly pages: number;
  /** Built here: the template's whole memory. */
  readonly #memory: Uint8Array | null;
  /** Copied from an image: the file its bytes are read from, for each copy. */
  readonly #file: ImageFile | null;
  readonly #fingerprint: ImageFingerprint;
  /** Where the template or a freshly booted instance holds data: the bytes a copy must write. */
  #ranges: [number, number][] | null = null;

  private constructor(
    source: { memory: Uint8Array } | { file: ImageFile },
    pages: number,
    fp: ImageFingerprint,
  ) {
    this.#memory = "memory" in source ? source.memory : null;
    this.#file = "file" in source ? source.file : null;
    this.pages = pages;
    this.#fingerprint = fp;
  }

  /** The template of an image file (template-image.ts): its memory is zero outside the ranges. */
  static fromImage(file: ImageFile): Template {
    return new Template({ file }, file.pages, file.fingerprint);
  }

  /** This template as an image for another process built from the code `key` names. */
  toImage(key: string): TemplateImage {
    const memory = this.#memory;
    if (memory === null) throw new Error("a template copied from an image is not imaged again");
    const ranges = nonZeroRanges([memory], memory.byteLength);
    const bytes = new Uint8Array(ranges.reduce((n, [a, b]) => n + b - a, 0));
    let to = 0;
    for (const [a, b] of ranges) {
      bytes.set(memory.subarray(a, b), to);
      to += b - a;
    }
    return { key, pages: this.pages, fingerprint: this.#fingerprint, ranges, bytes };
  }

  static async build(o: Omit<BootOptions, "memoryLimitBytes">): Promise<Template> {
    const instance = await newInstance(TEMPLATE_MB);
    const booted = bootBase(instance, { ...o, memoryLimitBytes: instance.capBytes });
    const fp = fingerprint(booted);
    evaluatePrelude(booted);
    if (booted.runtime.hasPendingJob()) throw new Error("the prelude left jobs pending");
    if (fingerprint(booted).nextRef !== fp.nextRef)
      throw new Error("the prelude made host references while it was evaluated");
    const memory = new Uint8Array(instance.memory.buffer);
    return new Template({ memory }, memory.byteLength / PAGE_BYTES, fp);
  }

  /** Whether `b` is in the state the template was in just before its prelude ran. */
  matches(b: Booted): boolean {
    const fp = fingerprint(b);
    const t = this.#fingerprint;
    return fp.rt === t.rt && fp.ctx === t.ctx && fp.keeper === t.keeper && fp.nextRef === t.nextRef;
  }

  /** Makes `memory` (of a matching boot) a copy of the template's. */
  copyInto(memory: WebAssembly.Memory): void {
    const target = new Uint8Array(memory.buffer);
    const own = this.#memory;
    if (own !== null) {
      // Written once: the union of what the template and a fresh boot hold; everything else is
      // zero in both, and is left untouched, so those pages are never faulted in.
      this.#ranges ??= nonZeroRanges([own, target], target.byteLength);
      for (const [a, b] of this.#ranges) target.set(own.subarray(a, b), a);
      return;
    }
    // From the image file: what the boot wrote is zeroed (the template is zero outside the
    // image's ranges), then the ranges are read over it. Pages neither holds stay untouched.
    const file = this.#file!;
    this.#ranges ??= nonZeroRanges([target], target.byteLength);
    for (const [a, b] of this.#ranges) target.fill(0, a, b);
    let at = file.bytesAt;
    for (const [a, b] of file.ranges) {
      if (readAt(file.fd, target, a, b - a, at) !== b - a)
        throw new Error("the template image file was cut short");
      at += b - a;
    }
  }
}

/**
 * A booted interpreter with the prelude in place: copied from `template` when it fits, else
 * evaluated. `instance` must have been made with `template.pages` initial pages to copy.
 */
export function boot(
  instance: QuickJSInstance,
  o: BootOptions,
  template: Template | null,
): Booted & { copied: boolean } {
  const booted = bootBase(instance, o);
  const fits =
    template !== null &&
    instance.memory.buffer.byteLength === template.pages * PAGE_BYTES &&
    template.matches(booted);
  if (fits) {
    template.copyInto(instance.memory);
    // The copy brought the template's limits; these are this sandbox's.
    booted.runtime.setMemoryLimit(o.memoryLimitBytes);
    booted.runtime.setMaxStackSize(o.stackBytes);
  } else {
    preludeRuns++;
    evaluatePrelude(booted);
  }
  return { ...booted, copied: fits };
}

const IDLE_HOOKS: HostHooks = {
  respond: () => false,
  chunk: () => false,
  end() {},
  fail() {},
  log: () => false,
  setTimer: () => "the template runs no timers",
  clearTimer() {},
  waitUntil() {},
  loadResult() {},
  admit: () => false,
  settle() {},
};

let built: Promise<Template | null> | undefined;
/** Why this process has no template, if it has none (every sandbox then evaluates the prelude). */
export let templateError: string | null = null;
/** Where this process's template came from, for the status page. */
export let templateOrigin = "not made yet";
/** Sandboxes that evaluated the prelude for want of a template that fits: 0 is the rule. */
export let preludeRuns = 0;
/** Where an image of the template may come from (worker.ts: the primary's); else it is built. */
let imageSource: (() => Promise<ImageFile | Error>) | null = null;

export function useTemplateImage(source: () => Promise<ImageFile | Error>): void {
  imageSource = source;
}

export function buildTemplate(): Promise<Template> {
  return Template.build({
    stackBytes: STACK_BYTES,
    interrupt: () => false,
    load: () => ({ error: new Error("the template loads no module") }),
    normalize: (_base, requested) => requested,
    hooks: IDLE_HOOKS,
  });
}

async function makeTemplate(): Promise<Template | null> {
  const image = imageSource === null ? new Error("no image offered") : await imageSource();
  if (!(image instanceof Error)) {
    templateOrigin = "copied from the primary's image";
    return Template.fromImage(image);
  }
  try {
    const made = await buildTemplate();
    templateOrigin = `built here (${image.message})`;
    return made;
  } catch (err) {
    templateError = (err as Error).message;
    templateOrigin = `none: ${templateError}`;
    return null;
  }
}

/** This process's template, made on first use; null if it could not be built. */
export function template(): Promise<Template | null> {
  built ??= makeTemplate();
  return built;
}
