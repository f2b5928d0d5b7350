/**
 * The primary's side of the sandbox template image (src/sandbox/template-image.ts): a short-lived
 * child builds it (template-builder.ts), so the prelude is evaluated once per server, in a
 * process whose memory goes with it, and the workers copy it. One build per version of the code
 * it depends on: a roll after sitebox's code changed on disk builds a new image, else the one
 * there is reused.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { templateStamp } from "./sandbox/template-files.js";

const BUILDER = fileURLToPath(new URL("./template-builder.js", import.meta.url));
/** A build takes well under a second; past this the child is stuck. */
const BUILD_MS = 60_000;

/** What a worker is told: where the image is, or why there is none (it then builds its own). */
export type ImageState = { path: string } | { error: string };

export class TemplateImages {
  readonly #dir: string;
  #stamp: string | null = null;
  #current: Promise<ImageState> | null = null;
  #builds = 0;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** The image of the code on disk now, built if that code has none yet. */
  latest(): Promise<ImageState> {
    let stamp: string;
    try {
      stamp = templateStamp();
    } catch (err) {
      return Promise.resolve({ error: `cannot read sitebox's code: ${(err as Error).message}` });
    }
    if (this.#current !== null && stamp === this.#stamp) return this.#current;
    const previous = this.#current;
    this.#stamp = stamp;
    this.#current = buildImage(join(this.#dir, `template-${++this.#builds}.bin`));
    // A worker of the old code still to read the old image builds its own template instead.
    if (previous !== null)
      void Promise.all([previous, this.#current]).then(([old]) => {
        if ("path" in old) rmSync(old.path, { force: true });
      });
    return this.#current;
  }

  /** The image last asked for by `latest`. */
  current(): Promise<ImageState> {
    return this.#current ?? this.latest();
  }
}

function buildImage(path: string): Promise<ImageState> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BUILDER, path], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), BUILD_MS);
    const fail = (why: string) =>
      resolve({ error: `building the sandbox template failed: ${why}` });
    child.on("error", (err) => {
      clearTimeout(timer);
      fail(err.message);
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ path });
      else fail(stderr.trim().split("\n").pop() || (signal ?? `exit code ${code}`));
    });
  });
}
