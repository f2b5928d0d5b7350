/** Where the QuickJS wasm that every sandbox runs is installed (no quickjs-emscripten import). */
import { createRequire } from "node:module";

export function wasmFile(): string {
  const req = createRequire(createRequire(import.meta.url).resolve("quickjs-emscripten"));
  return req.resolve("@jitl/quickjs-wasmfile-release-sync/wasm");
}
