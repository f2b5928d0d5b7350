/**
 * What a worker's main thread is running, readable while the main thread is blocked. The sandbox
 * marks each entry into site code (site and route, start time) in memory; when the event loop
 * stops answering, the primary reads that record straight out of the worker's memory
 * (/proc/PID/mem, busy-peek.ts), or, where it cannot, the worker's watchdog thread
 * (watchdog-thread.ts) reads it and writes a blame file, so the log and the status page can say
 * which site and route blocked the worker.
 */
import { randomFillSync } from "node:crypto";

const NAME_BYTES = 512;
/** A random tag the primary checks before it trusts what it read at the record's address. */
export const MAGIC_BYTES = 16;
/** [0, 16) magic; Int32 [0] inside (0/1), [1] entry sequence, [2] name length; Float64 start. */
export const BUSY_BYTES = MAGIC_BYTES + 16 + 8 + NAME_BYTES;
export const busyBuffer = new SharedArrayBuffer(BUSY_BYTES);
const magic = new Uint8Array(busyBuffer, 0, MAGIC_BYTES);
randomFillSync(magic);
const ints = new Int32Array(busyBuffer, MAGIC_BYTES, 4);
const start = new Float64Array(busyBuffer, MAGIC_BYTES + 16, 1);
const name = new Uint8Array(busyBuffer, MAGIC_BYTES + 24, NAME_BYTES);
const encoded = new Map<string, Uint8Array>();
const encoder = new TextEncoder();

export function enterSiteCode(site: string, route: string | undefined): void {
  const key = route === undefined ? site : `${site} ${route}`;
  let bytes = encoded.get(key);
  if (bytes === undefined) {
    bytes = encoder.encode(key).slice(0, NAME_BYTES);
    if (encoded.size < 10_000) encoded.set(key, bytes);
  }
  name.set(bytes);
  ints[2] = bytes.length;
  start[0] = Date.now();
  Atomics.add(ints, 1, 1);
  Atomics.store(ints, 0, 1);
}

export function leaveSiteCode(): void {
  Atomics.store(ints, 0, 0);
}

/** The record's magic tag, hex (the primary compares it with what it reads). */
export function busyMagic(): string {
  return Buffer.from(magic).toString("hex");
}

export interface Busy {
  seq: number;
  since: number;
  site: string;
  route: string | null;
}

/**
 * Reader side (another thread, or the primary on a copy of the bytes): what has been running,
 * and since when; null when idle.
 */
export function readBusy(buffer: ArrayBufferLike): Busy | null {
  const i = new Int32Array(buffer, MAGIC_BYTES, 4);
  if (Atomics.load(i, 0) === 0) return null;
  const length = Math.min(Math.max(i[2]!, 0), NAME_BYTES);
  const text = new TextDecoder().decode(new Uint8Array(buffer, MAGIC_BYTES + 24, length).slice());
  const space = text.indexOf(" ");
  return {
    seq: Atomics.load(i, 1),
    since: new Float64Array(buffer, MAGIC_BYTES + 16, 1)[0]!,
    site: space === -1 ? text : text.slice(0, space),
    route: space === -1 ? null : text.slice(space + 1),
  };
}
