/**
 * Where access lines go: stdout, or a file opened for append and reopened on demand (SIGUSR1), so
 * logrotate can rename the file and have every worker write to a new one. Lines written before
 * the reopen finish in the old file.
 */
import { createWriteStream, openSync, type WriteStream } from "node:fs";

export interface AccessSink {
  write(bytes: Uint8Array): void;
  /** Opens the path again; on failure keeps writing to the old file and says why. */
  reopen(): string | null;
}

const STDOUT: AccessSink = {
  write: (bytes) => void process.stdout.write(bytes),
  reopen: () => null,
};

class FileSink implements AccessSink {
  readonly #path: string;
  #stream: WriteStream;

  constructor(path: string) {
    this.#path = path;
    this.#stream = this.#open();
  }

  #open(): WriteStream {
    // Opened synchronously so a bad path fails the start (or the reopen) with its reason.
    const fd = openSync(this.#path, "a", 0o640);
    const stream = createWriteStream(this.#path, { fd });
    stream.on("error", (err) => process.stderr.write(`sitebox: access log: ${err.message}\n`));
    return stream;
  }

  write(bytes: Uint8Array): void {
    this.#stream.write(bytes);
  }

  reopen(): string | null {
    let next: WriteStream;
    try {
      next = this.#open();
    } catch (err) {
      return `cannot reopen access log ${this.#path}: ${(err as Error).message}`;
    }
    this.#stream.end();
    this.#stream = next;
    return null;
  }
}

/** "-" is stdout; anything else an absolute path. Throws when the file cannot be opened. */
export function openAccessLog(path: string): AccessSink {
  return path === "-" ? STDOUT : new FileSink(path);
}
