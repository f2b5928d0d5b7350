/**
 * One compiled QuickJS wasm module per worker, instantiated once per sandbox with its own capped
 * `WebAssembly.Memory`. The cap is the only hard memory bound QuickJS has (see README "Memory"),
 * and a sandbox that is dropped takes its whole instance with it: nothing to dispose, nothing that
 * can abort the rest of the worker.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  RELEASE_SYNC,
  type QuickJSWASMModule,
} from "quickjs-emscripten";

export const PAGE_BYTES = 64 * 1024;
/** Emscripten's build starts with 16 MiB; a smaller initial memory fails to instantiate. */
const MIN_PAGES = 256;

let compiled: Promise<WebAssembly.Module> | undefined;

function wasmModule(): Promise<WebAssembly.Module> {
  if (!compiled) {
    const req = createRequire(createRequire(import.meta.url).resolve("quickjs-emscripten"));
    const file = req.resolve("@jitl/quickjs-wasmfile-release-sync/wasm");
    compiled = WebAssembly.compile(readFileSync(file));
  }
  return compiled;
}

export interface QuickJSInstance {
  readonly module: QuickJSWASMModule;
  readonly memory: WebAssembly.Memory;
  readonly capBytes: number;
}

/** Pages of a `memoryMb` cap. */
export function capPages(memoryMb: number): number {
  return Math.max(MIN_PAGES, Math.floor((memoryMb * 1024 * 1024) / PAGE_BYTES));
}

/**
 * A fresh QuickJS instance whose linear memory can never grow past `memoryMb`, starting at
 * `initialPages` (a copy of a template needs the template's size).
 */
export async function newInstance(
  memoryMb: number,
  initialPages = MIN_PAGES,
): Promise<QuickJSInstance> {
  const maxPages = capPages(memoryMb);
  const initial = Math.min(Math.max(MIN_PAGES, initialPages), maxPages);
  const memory = new WebAssembly.Memory({ initial, maximum: maxPages });
  const module = await newQuickJSWASMModuleFromVariant(
    newVariant(RELEASE_SYNC, { wasmModule: await wasmModule(), wasmMemory: memory }),
  );
  return { module, memory, capBytes: maxPages * PAGE_BYTES };
}
