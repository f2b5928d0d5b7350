/**
 * The code a sandbox template depends on: the prelude's files, the QuickJS wasm, and this
 * folder's modules (the boot and the host functions). Its stamp is what the primary compares
 * (stat only: it reads and hashes nothing, and loads no crypto); template-image.ts hashes the
 * contents into the image's key.
 */
import { readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { preludeFiles } from "./prelude.js";
import { wasmFile } from "./wasm-file.js";

const HERE = dirname(fileURLToPath(import.meta.url));

function moduleFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() || /\.(js|ts)$/.test(e.name))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((e) => (e.isDirectory() ? moduleFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

export function templateFiles(): string[] {
  return [...preludeFiles(), wasmFile(), ...moduleFiles(HERE)];
}

/** Changes whenever one of the files does (or is added or removed). */
export function templateStamp(): string {
  return templateFiles()
    .map((f) => {
      const st = statSync(f);
      return `${f} ${st.size} ${st.mtimeMs} ${st.ino}`;
    })
    .join("\n");
}
