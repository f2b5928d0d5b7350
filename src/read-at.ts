import { readSync } from "node:fs";

/**
 * Reads `length` bytes at `position` of `fd` into `into` at `offset`, or as many as there are
 * before the end of the file; returns how many it read (a short read is not the end).
 */
export function readAt(
  fd: number,
  into: Uint8Array,
  offset: number,
  length: number,
  position: number,
): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, into, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
