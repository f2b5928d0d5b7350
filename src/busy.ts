/**
 * What a worker's main thread is running, readable by another thread while the main thread is
 * blocked. The sandbox marks each entry into site code (site and route, start time) in shared
 * memory; the watchdog thread (watchdog-thread.ts) reads it when the event loop stops answering,
 * so the log and the status page can say which site and route blocked the worker.
 */
const NAME_BYTES = 512;
/** [0] inside (0/1), [1] entry sequence, [2] name length; then a Float64 start time. */
export const busyBuffer = new SharedArrayBuffer(16 + 8 + NAME_BYTES);
const ints = new Int32Array(busyBuffer, 0, 4);
const start = new Float64Array(busyBuffer, 16, 1);
const name = new Uint8Array(busyBuffer, 24, NAME_BYTES);
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

/** Reader side (another thread): what has been running, and since when; null when idle. */
export function readBusy(
  buffer: SharedArrayBuffer,
): { seq: number; since: number; site: string; route: string | null } | null {
  const i = new Int32Array(buffer, 0, 4);
  if (Atomics.load(i, 0) === 0) return null;
  const text = new TextDecoder().decode(new Uint8Array(buffer, 24, i[2]).slice());
  const space = text.indexOf(" ");
  return {
    seq: Atomics.load(i, 1),
    since: new Float64Array(buffer, 16, 1)[0]!,
    site: space === -1 ? text : text.slice(0, space),
    route: space === -1 ? null : text.slice(space + 1),
  };
}
