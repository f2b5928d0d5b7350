/**
 * The busy record (busy.ts) read from outside the worker: the worker finds the record's address
 * in its own memory once at start, and the primary reads it from /proc/PID/mem when its heartbeat
 * watchdog fires. This replaces a watchdog thread per worker (a whole V8 isolate, ~9 MiB at rest)
 * where the kernel lets a parent read its child's memory (Linux; not under Yama ptrace_scope 2+ or
 * a seccomp policy that forbids it); the primary checks that once per worker and otherwise asks
 * the worker to start the thread.
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { BUSY_BYTES, MAGIC_BYTES, readBusy, type Busy } from "./busy.js";

const MAX_REGION = 256 * 2 ** 20;
const MAX_SCAN = 512 * 2 ** 20;

/** Private writable regions of this process, the malloc heap first (where the record lives). */
function regions(): [number, number][] {
  const out: [number, number, boolean][] = [];
  for (const line of readFileSync("/proc/self/maps", "utf8").split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) rw-p [0-9a-f]+ \S+ 0\s*(\S*)/.exec(line);
    if (m === null || m[3] === "[stack]") continue;
    const start = parseInt(m[1]!, 16);
    const end = parseInt(m[2]!, 16);
    if (end - start <= MAX_REGION) out.push([start, end, m[3] === "[heap]"]);
  }
  return out.sort((a, b) => Number(b[2]) - Number(a[2])).map(([s, e]) => [s, e]);
}

/**
 * The address of `buffer`'s bytes in this process, or null (no /proc, or not found). Copies of
 * the magic elsewhere (the needle itself) are told apart by changing the record and reading again.
 */
export function locateBusy(buffer: SharedArrayBuffer): number | null {
  const record = new Uint8Array(buffer, 0, MAGIC_BYTES);
  let fd: number;
  try {
    fd = openSync("/proc/self/mem", "r");
  } catch {
    return null;
  }
  const read = (address: number, into: Buffer, length = into.length): number => {
    try {
      return readSync(fd, into, 0, length, address);
    } catch {
      return 0;
    }
  };
  const isRecord = (address: number): boolean => {
    const one = Buffer.alloc(1);
    record[0] ^= 0xff;
    const moved = read(address, one) === 1 && one[0] === record[0];
    record[0] ^= 0xff;
    return moved;
  };
  try {
    const needle = Buffer.from(record);
    const chunk = Buffer.allocUnsafe(2 ** 20);
    let scanned = 0;
    for (const [start, end] of regions()) {
      for (let at = start; at < end && scanned < MAX_SCAN; at += chunk.length - MAGIC_BYTES) {
        const n = read(at, chunk, Math.min(chunk.length, end - at));
        if (n === 0) break;
        scanned += n;
        for (let i = chunk.indexOf(needle); i !== -1 && i < n; i = chunk.indexOf(needle, i + 1))
          if (i + MAGIC_BYTES <= n && isRecord(at + i)) return at + i;
      }
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads worker `pid`'s busy record at `address`; "unreadable" when the kernel refuses or the
 * magic does not match (the primary then falls back to the watchdog thread).
 */
export function peekBusy(pid: number, address: number, magic: string): Busy | null | "unreadable" {
  const bytes = Buffer.alloc(BUSY_BYTES);
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/mem`, "r");
  } catch {
    return "unreadable";
  }
  try {
    if (readSync(fd, bytes, 0, BUSY_BYTES, address) !== BUSY_BYTES) return "unreadable";
  } catch {
    return "unreadable";
  } finally {
    closeSync(fd);
  }
  if (bytes.subarray(0, MAGIC_BYTES).toString("hex") !== magic) return "unreadable";
  const copy = new Uint8Array(BUSY_BYTES);
  copy.set(bytes);
  return readBusy(copy.buffer);
}
