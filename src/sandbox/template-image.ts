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
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { readAt } from "../read-at.js";
import { templateFiles } from "./template-files.js";

const MAGIC = "sitebox-template-1\n";
/** Header lengths past this are damage, not an image (a real one is a few hundred bytes). */
const MAX_HEAD = 1 << 20;
/** What a booted instance looks like just before the prelude runs (boot.ts `Fingerprint`). */
export interface ImageFingerprint {
  rt: number;
  ctx: number;
  keeper: number;
  nextRef: number;
}

export interface ImageHead {
  key: string;
  pages: number;
  fingerprint: ImageFingerprint;
  /** Byte ranges of the memory that hold data; everything else is zero. */
  ranges: [number, number][];
}

export interface TemplateImage extends ImageHead {
  /** The ranges' bytes, back to back. */
  bytes: Uint8Array;
}

/**
 * An image left in its file: a worker reads the ranges' bytes from `fd` straight into each new
 * sandbox's memory, and so holds no copy of the template (2.4 MiB per worker). The descriptor
 * stays open for the process's life, so the primary may remove the file.
 */
export interface ImageFile extends ImageHead {
  fd: number;
  /** Where the ranges' bytes start in the file. */
  bytesAt: number;
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

/** The image in `file`, opened, if it was made from this process's code; else why not. */
export function openImage(file: string): ImageFile | Error {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    return new Error(`cannot read the template image: ${(err as NodeJS.ErrnoException).code}`);
  }
  let image: ImageFile | Error;
  try {
    image = readHead(fd);
  } catch (err) {
    image = new Error(`cannot read the template image: ${(err as NodeJS.ErrnoException).code}`);
  }
  if (image instanceof Error) closeSync(fd);
  return image;
}

function readHead(fd: number): ImageFile | Error {
  const prefix = Buffer.alloc(MAGIC.length + 4);
  if (
    readAt(fd, prefix, 0, prefix.length, 0) !== prefix.length ||
    prefix.toString("latin1", 0, MAGIC.length) !== MAGIC
  )
    return new Error("not a template image");
  const headLength = prefix.readUInt32LE(MAGIC.length);
  if (headLength > MAX_HEAD) return new Error("not a template image");
  const raw = Buffer.alloc(headLength);
  if (readAt(fd, raw, 0, headLength, prefix.length) !== headLength)
    return new Error("template image cut short");
  let head: ImageHead;
  try {
    head = JSON.parse(raw.toString("utf8"));
  } catch {
    return new Error("template image header unreadable");
  }
  const bytesAt = prefix.length + headLength;
  const size = head.ranges.reduce((n, [a, b]) => n + b - a, 0);
  if (fstatSync(fd).size !== bytesAt + size)
    return new Error("template image cut short or overlong");
  if (head.key !== imageKey()) return new Error("the template image was made by other code");
  return { ...head, fd, bytesAt };
}
