/**
 * How much a site may write to the error log, per worker (pure: times are passed in). Two token
 * buckets per site, lines and bytes, each refilled every second and holding one second's worth;
 * what does not fit is dropped and counted, and `drained` reports the counts once, for a summary
 * line, as journald's and rsyslog's rate limits do.
 */
export const SITE_LINES_PER_S = 200;
export const SITE_BYTES_PER_S = 256 * 1024;

interface Bucket {
  lines: number;
  bytes: number;
  at: number;
  droppedLines: number;
  droppedBytes: number;
  droppingSince: number;
}

export interface Dropped {
  key: string;
  lines: number;
  bytes: number;
  /** ms over which they were dropped. */
  overMs: number;
}

export class LogRate {
  readonly #buckets = new Map<string, Bucket>();
  readonly #lines: number;
  readonly #bytes: number;

  constructor(linesPerS = SITE_LINES_PER_S, bytesPerS = SITE_BYTES_PER_S) {
    this.#lines = linesPerS;
    this.#bytes = bytesPerS;
  }

  /** May `key` write a line of `bytes` now? */
  take(key: string, bytes: number, now: number): boolean {
    let b = this.#buckets.get(key);
    if (b === undefined) {
      b = {
        lines: this.#lines,
        bytes: this.#bytes,
        at: now,
        droppedLines: 0,
        droppedBytes: 0,
        droppingSince: 0,
      };
      this.#buckets.set(key, b);
    } else {
      const s = (now - b.at) / 1000;
      b.lines = Math.min(this.#lines, b.lines + s * this.#lines);
      b.bytes = Math.min(this.#bytes, b.bytes + s * this.#bytes);
      b.at = now;
    }
    if (b.lines >= 1 && b.bytes >= bytes) {
      b.lines--;
      b.bytes -= bytes;
      return true;
    }
    if (b.droppedLines === 0) b.droppingSince = now;
    b.droppedLines++;
    b.droppedBytes += bytes;
    return false;
  }

  get dropping(): boolean {
    for (const b of this.#buckets.values()) if (b.droppedLines > 0) return true;
    return false;
  }

  /** What was dropped since the last call, per key; the counts start again. */
  drained(now: number): Dropped[] {
    const out: Dropped[] = [];
    for (const [key, b] of this.#buckets) {
      if (b.droppedLines > 0) {
        out.push({
          key,
          lines: b.droppedLines,
          bytes: b.droppedBytes,
          overMs: now - b.droppingSince,
        });
        b.droppedLines = 0;
        b.droppedBytes = 0;
      }
      // A full bucket says nothing a new one would not: forget it.
      else if (now - b.at > 1000) this.#buckets.delete(key);
    }
    return out;
  }
}
