/**
 * A file's byte range onto a response writer, read only as fast as the connection drains: at
 * most one read of CHUNK bytes waits in memory per response. For any front end.
 */
import fs from "node:fs";

const CHUNK = 64 * 1024;

/** The writer calls the pump needs (a front end's own, before any accounting). */
export interface PumpTarget {
  write(chunk: Uint8Array): boolean;
  onDrain(listener: () => void): void;
  end(): void;
  abort(): void;
  readonly closed: boolean;
}

function read(fd: number, buffer: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.read(fd, buffer, 0, buffer.length, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

/** Sends `length` bytes of `fd` from `start`, ends the response, closes `fd`; the bytes sent. */
export async function pumpFile(
  out: PumpTarget,
  fd: number,
  start: number,
  length: number,
): Promise<number> {
  let sent = 0;
  try {
    while (sent < length && !out.closed) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, length - sent));
      const n = await read(fd, buffer, start + sent);
      // The file shrank since its fstat: cut rather than leave the client waiting for bytes.
      if (n === 0) break;
      sent += n;
      const more = out.write(n === buffer.length ? buffer : buffer.subarray(0, n));
      if (!more && sent < length) await new Promise<void>((r) => out.onDrain(r));
    }
  } catch {
    // a read error midway: cut below
  } finally {
    fs.close(fd, () => {});
  }
  if (sent === length) out.end();
  else out.abort();
  return sent;
}
