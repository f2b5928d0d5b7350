/**
 * Run by the primary as a short-lived child, `node template-builder.js FILE`: builds the sandbox
 * template and writes its image to FILE (src/sandbox/template-image.ts says why in another
 * process). Written to the side and renamed, so a reader never sees half an image.
 */
import { renameSync, writeFileSync } from "node:fs";
import { buildTemplate } from "./sandbox/boot.js";
import { encodeImage, imageKey } from "./sandbox/template-image.js";

const file = process.argv[2]!;
try {
  const image = (await buildTemplate()).toImage(imageKey());
  writeFileSync(`${file}.part`, encodeImage(image), { mode: 0o600 });
  renameSync(`${file}.part`, file);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
}
