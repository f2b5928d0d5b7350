/**
 * One compiled QuickJS wasm module per worker, instantiated once per sandbox with its own capped
 * `WebAssembly.Memory`. The cap is the only hard memory bound QuickJS has (see README "Memory"),
 * and a sandbox that is dropped takes its whole instance with it: nothing to dispose, nothing that
 * can abort the rest of the worker.
 */
import { readFileSync } from "node:fs";
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  RELEASE_SYNC,
  type QuickJSWASMModule,
} from "quickjs-emscripten";
import { wasmFile } from "./wasm-file.js";

export const PAGE_BYTES = 64 * 1024;
/** Emscripten's build starts with 16 MiB; a smaller initial memory fails to instantiate. */
const MIN_PAGES = 256;
const RESERVE_PAGES = 128;

let compiled: Promise<WebAssembly.Module> | undefined;

function wasmModule(): Promise<WebAssembly.Module> {
  compiled ??= WebAssembly.compile(readFileSync(wasmFile()));
  return compiled;
}

export interface QuickJSInstance {
  readonly module: QuickJSWASMModule;
  readonly memory: WebAssembly.Memory;
  /** `--memory`: a heap grown past this has hit the limit (see Sandbox's interrupt handler). */
  readonly limitBytes: number;
  /** The hard cap: the limit plus a reserve for the interpreter to unwind in. */
  readonly capBytes: number;
}

/** Pages of a `memoryMb` limit. */
export function capPages(memoryMb: number): number {
  return Math.max(MIN_PAGES, Math.floor((memoryMb * 1024 * 1024) / PAGE_BYTES));
}

/**
 * A fresh QuickJS instance whose linear memory is limited to `memoryMb`, and capped a reserve
 * above that, starting at `initialPages` (a copy of a template needs the template's size). The
 * limit is judged from the memory itself (dlmalloc only grows it, and only when it has no room
 * left), never from QuickJS's own count, which site code can make throw "out of memory" at will
 * and which undercounts some allocations (QUICKJS-FACTS.md). The reserve (8 MiB, or 1/16 of the
 * limit: emscripten asks for 5-20% more than it needs when it grows) lets the interpreter unwind
 * once the limit is passed, instead of failing every allocation.
 */
export async function newInstance(
  memoryMb: number,
  initialPages = MIN_PAGES,
): Promise<QuickJSInstance> {
  const limitPages = capPages(memoryMb);
  const maxPages = limitPages + Math.max(RESERVE_PAGES, Math.ceil(limitPages / 16));
  const initial = Math.min(Math.max(MIN_PAGES, initialPages), limitPages);
  const memory = new WebAssembly.Memory({ initial, maximum: maxPages });
  const module = await newQuickJSWASMModuleFromVariant(
    newVariant(RELEASE_SYNC, {
      wasmModule: await wasmModule(),
      wasmMemory: memory,
      // Emscripten copies the program's name (else process.argv[1]) into the wasm heap as `_` of
      // its environment: the same in every process, so a template image made by one process
      // matches the boots of another (boot.ts).
      emscriptenModule: { thisProgram: "sitebox" } as object,
    }),
  );
  return {
    module,
    memory,
    limitBytes: limitPages * PAGE_BYTES,
    capBytes: maxPages * PAGE_BYTES,
  };
}
