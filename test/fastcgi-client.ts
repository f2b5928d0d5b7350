/**
 * A small FastCGI client for tests: it writes raw records byte by byte as the specification lays
 * them out and decodes what comes back on its own (not with the records module under test).
 */
import net from "node:net";

export const TYPE = {
  BEGIN_REQUEST: 1,
  ABORT_REQUEST: 2,
  END_REQUEST: 3,
  PARAMS: 4,
  STDIN: 5,
  STDOUT: 6,
  STDERR: 7,
  GET_VALUES: 9,
  GET_VALUES_RESULT: 10,
  UNKNOWN_TYPE: 11,
} as const;

export interface Rec {
  version: number;
  type: number;
  id: number;
  content: Buffer;
  padding: number;
}

/** A record as bytes; padding to a multiple of 8 unless `pad` says otherwise. */
export function rec(type: number, id: number, content: Buffer | string = "", pad?: number): Buffer {
  const body = typeof content === "string" ? Buffer.from(content) : content;
  const padding = pad ?? (8 - (body.length % 8)) % 8;
  const h = Buffer.from([
    1,
    type,
    id >> 8,
    id & 255,
    body.length >> 8,
    body.length & 255,
    padding,
    0,
  ]);
  return Buffer.concat([h, body, Buffer.alloc(padding)]);
}

export function begin(id: number, keepConn: boolean, role = 1): Buffer {
  return rec(
    TYPE.BEGIN_REQUEST,
    id,
    Buffer.from([role >> 8, role & 255, keepConn ? 1 : 0, 0, 0, 0, 0, 0]),
  );
}

function len(n: number): Buffer {
  return n < 128
    ? Buffer.from([n])
    : Buffer.from([0x80 | (n >>> 24), (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

export function pairs(p: Record<string, string> | [string, string][]): Buffer {
  const list = Array.isArray(p) ? p : Object.entries(p);
  return Buffer.concat(
    list.flatMap(([k, v]) => [
      len(Buffer.byteLength(k)),
      len(Buffer.byteLength(v)),
      Buffer.from(k),
      Buffer.from(v),
    ]),
  );
}

/** A whole responder request: BEGIN, PARAMS (then the empty PARAMS), STDIN (then empty). */
export function requestBytes(
  id: number,
  params: Record<string, string>,
  body: Buffer | string = "",
  keepConn = true,
): Buffer {
  const b = typeof body === "string" ? Buffer.from(body) : body;
  const parts = [begin(id, keepConn), rec(TYPE.PARAMS, id, pairs(params)), rec(TYPE.PARAMS, id)];
  for (let i = 0; i < b.length; i += 65535)
    parts.push(rec(TYPE.STDIN, id, b.subarray(i, i + 65535)));
  parts.push(rec(TYPE.STDIN, id));
  return Buffer.concat(parts);
}

export function decode(buf: Buffer): { records: Rec[]; rest: Buffer } {
  const records: Rec[] = [];
  let at = 0;
  while (buf.length - at >= 8) {
    const length = buf.readUInt16BE(at + 4);
    const padding = buf[at + 6]!;
    if (buf.length - at < 8 + length + padding) break;
    records.push({
      version: buf[at]!,
      type: buf[at + 1]!,
      id: buf.readUInt16BE(at + 2),
      content: buf.subarray(at + 8, at + 8 + length),
      padding,
    });
    at += 8 + length + padding;
  }
  return { records, rest: buf.subarray(at) };
}

export function decodePairs(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  const readLen = () => {
    const b = buf[at]!;
    if (b < 128) return (at++, b);
    const n = buf.readUInt32BE(at) & 0x7fffffff;
    at += 4;
    return n;
  };
  while (at < buf.length) {
    const n = readLen();
    const v = readLen();
    out[buf.toString("latin1", at, at + n)] = buf.toString("latin1", at + n, at + n + v);
    at += n + v;
  }
  return out;
}

/** One connection: send bytes, wait for records, see when it closes. */
export class FcgiConn {
  readonly socket: net.Socket;
  records: Rec[] = [];
  closed = false;
  readonly opened: Promise<void>;
  #buf = Buffer.alloc(0);
  #waiters = new Set<() => void>();

  /** A TCP port on 127.0.0.1, or a unix socket path. */
  constructor(at: number | string) {
    this.socket = typeof at === "string" ? net.connect(at) : net.connect(at, "127.0.0.1");
    this.opened = new Promise((r) => this.socket.once("connect", () => r()));
    this.socket.on("data", (d: Buffer) => {
      const { records, rest } = decode(Buffer.concat([this.#buf, d]));
      this.#buf = Buffer.from(rest);
      this.records.push(...records);
      this.#notify();
    });
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      this.closed = true;
      this.#notify();
    });
  }

  #notify(): void {
    for (const w of this.#waiters) w();
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves once `check()` is true (checked on every record and at close). */
  until(check: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
    return new Promise((resolve, reject) => {
      const test = () => {
        if (!check()) return;
        this.#waiters.delete(test);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(test);
        reject(new Error(`timed out waiting for ${what}; got ${this.records.map((r) => r.type)}`));
      }, timeoutMs);
      this.#waiters.add(test);
      test();
    });
  }

  /** Waits for END_REQUEST of `id`; returns that request's STDOUT and the END body. */
  async response(id: number, timeoutMs = 5000) {
    await this.until(
      () => this.records.some((r) => r.type === TYPE.END_REQUEST && r.id === id),
      timeoutMs,
      `END_REQUEST ${id}`,
    );
    const mine = this.records.filter((r) => r.id === id);
    const stdout = Buffer.concat(mine.filter((r) => r.type === TYPE.STDOUT).map((r) => r.content));
    const stderr = Buffer.concat(mine.filter((r) => r.type === TYPE.STDERR).map((r) => r.content));
    const end = mine.find((r) => r.type === TYPE.END_REQUEST)!.content;
    const text = stdout.toString("latin1");
    const split = text.indexOf("\r\n\r\n");
    return {
      records: mine,
      stdout,
      stderr: stderr.toString(),
      head: text.slice(0, split),
      body: stdout.subarray(split + 4),
      appStatus: end.readUInt32BE(0),
      protocolStatus: end[4]!,
    };
  }

  closedPromise(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.closed, timeoutMs, "close");
  }

  close(): void {
    this.socket.destroy();
  }
}
