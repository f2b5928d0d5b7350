/**
 * The sandbox template as a file: what one process's evaluated prelude leaves in the wasm memory,
 * so that the workers copy it instead of each evaluating the prelude themselves (the primary has
 * a short-lived child build it: template-builder.ts, template-images.ts). A worker then compiles
 * and runs only the parts of QuickJS its requests need, and holds no template instance.
 *
 * The image is only valid for the code that made it: its key hashes that code's files
 * (template-files.ts). A worker whose key differs (sitebox upgraded on disk since the image was
 * made) builds its own template, and boot.ts still checks every copy against the boot.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { templateFiles } from "./template-files.js";

const MAGIC = "sitebox-template-1\n";
/** What a booted instance looks like just before the prelude runs (boot.ts `Fingerprint`). */
export interface ImageFingerprint {
  rt: number;
  ctx: number;
  keeper: number;
  nextRef: number;
}

export interface TemplateImage {
  key: string;
  pages: number;
  fingerprint: ImageFingerprint;
  /** Byte ranges of the memory that hold data; everything else is zero. */
  ranges: [number, number][];
  /** The ranges' bytes, back to back. */
  bytes: Uint8Array;
}

let key: string | undefined;

/** The key of the code this process would build a template with. */
export function imageKey(): string {
  if (key !== undefined) return key;
  const hash = createHash("sha256");
  for (const file of templateFiles()) hash.update(basename(file)).update(readFileSync(file));
  key = hash.digest("hex");
  return key;
}

export function encodeImage(image: TemplateImage): Buffer {
  const { bytes, ...rest } = image;
  const header = Buffer.from(JSON.stringify(rest));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length);
  return Buffer.concat([Buffer.from(MAGIC), length, header, bytes]);
}

/** The image in `data`, or an error saying what is wrong with it. */
export function decodeImage(data: Uint8Array): TemplateImage | Error {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.toString("latin1", 0, MAGIC.length) !== MAGIC) return new Error("not a template image");
  const at = MAGIC.length + 4;
  if (buf.length < at) return new Error("template image cut short");
  const end = at + buf.readUInt32LE(MAGIC.length);
  let head: Omit<TemplateImage, "bytes">;
  try {
    head = JSON.parse(buf.toString("utf8", at, end));
  } catch {
    return new Error("template image header unreadable");
  }
  const size = head.ranges.reduce((n, [a, b]) => n + b - a, 0);
  if (buf.length !== end + size) return new Error("template image cut short");
  return { ...head, bytes: buf.subarray(end) };
}

/** The image in `file`, if it was made from this process's code; else why it cannot be used. */
export function readImage(file: string): TemplateImage | Error {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    return new Error(`cannot read the template image: ${(err as NodeJS.ErrnoException).code}`);
  }
  const image = decodeImage(data);
  if (image instanceof Error) return image;
  if (image.key !== imageKey()) return new Error("the template image was made by other code");
  return image;
}
