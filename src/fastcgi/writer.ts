/**
 * One request's response as FastCGI records: the CGI head and body as STDOUT records of at most
 * 65535 bytes, the empty STDOUT record and END_REQUEST at the end. Writes follow the socket's
 * backpressure: write() says when to wait, onDrain() says when to go on.
 */
import type { Socket } from "node:net";
import { read } from "node:fs";
import { responseHead } from "./cgi.js";
import type { FastCgiResponse } from "./exchange.js";
import {
  endRequest,
  header,
  MAX_CONTENT,
  padding,
  PROTOCOL_STATUS,
  streamRecords,
  T,
  writeHeader,
} from "./records.js";

/** Below this, the parts of a write are copied into one buffer: one syscall, no cork. */
const COALESCE_BYTES = 16 * 1024;
/** A multiple of 8 under 65535, so file records need no padding. */
const FILE_CHUNK = 65528;
/**
 * Sent right behind END_REQUEST when the connection is about to close (the worker drains): an
 * empty management record (FCGI_GET_VALUES_RESULT, no values). FastCGI has no "connection: close";
 * but nginx keeps a connection for reuse only when END_REQUEST is the last byte it read, so with
 * these bytes behind it nginx closes the connection itself and never sends a request on it that
 * would race our close. Any web server sees the close that follows anyway.
 */
const CLOSING = Buffer.from([1, T.GET_VALUES_RESULT, 0, 0, 0, 0, 0, 0]);

export class ResponseWriter implements FastCgiResponse {
  readonly #socket: Socket;
  readonly #id: number;
  readonly #done: (how: "end" | "abort") => void;
  readonly #closing: () => boolean;
  /** The CGI head (latin1 text), held back to travel with the first body bytes. */
  #head: string | null = null;
  #headDone = false;
  #finished = false;
  #waiters: (() => void)[] = [];
  #onDone: ((aborted: boolean) => void) | null = null;
  /** Set once the outcome is known: false ended and handed to the OS, true cut or lost. */
  #outcome: boolean | null = null;

  /**
   * `done` is told once, when the response ends or is cut; `closing` says whether the connection
   * closes after this response.
   */
  constructor(
    socket: Socket,
    requestId: number,
    done: (how: "end" | "abort") => void,
    closing: () => boolean = () => false,
  ) {
    this.#socket = socket;
    this.#id = requestId;
    this.#done = done;
    this.#closing = closing;
  }

  get finished(): boolean {
    return this.#finished;
  }

  get buffered(): number {
    return this.#socket.writableLength;
  }

  onDone(fn: (aborted: boolean) => void): void {
    if (this.#outcome !== null) queueMicrotask(() => fn(this.#outcome!));
    else this.#onDone = fn;
  }

  head(status: number, headers: readonly string[]): void {
    if (this.#finished || this.#headDone) return;
    this.#headDone = true;
    // Node writes header values as latin1 too; held back to travel with the first body bytes.
    this.#head = responseHead(status, headers);
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.#finished) return true;
    const parts = this.#stdout(chunk);
    return parts.length === 0 ? !this.#socket.writableNeedDrain : this.#send(parts) !== false;
  }

  onDrain(fn: () => void): void {
    if (this.#finished || !this.#socket.writableNeedDrain) queueMicrotask(fn);
    else this.#waiters.push(fn);
  }

  /** The connection calls this on the socket's 'drain', and once more when the request ends. */
  drained(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const fn of waiters) fn();
  }

  end(chunk?: string | Uint8Array): void {
    if (this.#finished) return;
    if (!this.#headDone) this.head(200, []);
    const whole = this.#whole(chunk ?? "");
    if (whole !== null) {
      const sent = this.#send([whole], (err) => this.#settle(err != null));
      this.#finish("end");
      if (sent === null) this.#settle(true);
      return;
    }
    const parts = this.#stdout(chunk ?? "");
    parts.push(
      header(T.STDOUT, this.#id, 0),
      endRequest(this.#id, 0, PROTOCOL_STATUS.REQUEST_COMPLETE),
    );
    if (this.#closing()) parts.push(CLOSING);
    // Done once the last record is handed to the OS (or failed: the connection was cut).
    const sent = this.#send(parts, (err) => this.#settle(err != null));
    this.#finish("end");
    if (sent === null) this.#settle(true);
  }

  abort(): void {
    if (this.#finished) return;
    this.#socket.destroy();
    this.#finish("abort");
    this.#settle(true);
  }

  /** After ABORT_REQUEST: END_REQUEST at once, and whatever the pipeline writes later is dropped. */
  endAborted(): void {
    if (this.#finished) return;
    this.#send([endRequest(this.#id, 1, PROTOCOL_STATUS.REQUEST_COMPLETE)]);
    this.#finish("end");
    this.#settle(true);
  }

  /** The connection went away first: nothing more can be written. */
  lost(): void {
    if (!this.#finished) this.#finish("abort");
    this.#settle(true);
  }

  #settle(aborted: boolean): void {
    if (this.#outcome !== null) return;
    this.#outcome = aborted;
    const fn = this.#onDone;
    this.#onDone = null;
    fn?.(aborted);
  }

  stderr(text: string): void {
    if (this.#finished || text === "") return;
    this.#send(streamRecords(T.STDERR, this.#id, Buffer.from(text)));
  }

  async sendFile(fd: number, start: number, length: number): Promise<void> {
    let position = start;
    let left = length;
    while (left > 0 && !this.#finished) {
      const buf = Buffer.allocUnsafe(Math.min(FILE_CHUNK, left));
      const got = await new Promise<number>((resolve, reject) =>
        read(fd, buf, 0, buf.length, position, (err, n) => (err ? reject(err) : resolve(n))),
      );
      if (got === 0) throw new Error("file ended before the range did");
      position += got;
      left -= got;
      if (!this.write(buf.subarray(0, got))) await new Promise<void>((r) => this.onDrain(r));
    }
  }

  #finish(how: "end" | "abort"): void {
    this.#finished = true;
    this.#head = null;
    this.drained();
    this.#done(how);
  }

  /**
   * The common case in one buffer, one allocation: the held head and `chunk` as one STDOUT
   * record, the empty STDOUT, END_REQUEST (and CLOSING). Null when they do not fit one record.
   */
  #whole(chunk: string | Uint8Array): Buffer | null {
    const head = this.#head ?? "";
    const bodyLength = typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
    const content = head.length + bodyLength;
    if (content > MAX_CONTENT) return null;
    this.#head = null;
    const pad = padding(content);
    const closing = this.#closing();
    const data = content === 0 ? 0 : 8 + content + pad;
    const out = Buffer.allocUnsafe(data + 24 + (closing ? CLOSING.length : 0));
    let at = 0;
    if (content > 0) {
      writeHeader(out, 0, T.STDOUT, this.#id, content);
      at = 8 + out.write(head, 8, "latin1");
      if (typeof chunk === "string") out.write(chunk, at, "utf8");
      else out.set(chunk, at);
      at += bodyLength;
      out.fill(0, at, at + pad);
      at += pad;
    }
    writeHeader(out, at, T.STDOUT, this.#id, 0);
    // END_REQUEST: appStatus 0, FCGI_REQUEST_COMPLETE (0), three reserved bytes.
    writeHeader(out, at + 8, T.END_REQUEST, this.#id, 8);
    out.fill(0, at + 16, at + 24);
    if (closing) CLOSING.copy(out, at + 24);
    return out;
  }

  /** The held head (if any) and `chunk` as STDOUT record parts. */
  #stdout(chunk: string | Uint8Array): Uint8Array[] {
    let data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    const text = this.#head;
    if (text === null) return data.byteLength === 0 ? [] : streamRecords(T.STDOUT, this.#id, data);
    this.#head = null;
    const head = Buffer.from(text, "latin1");
    if (head.byteLength + data.byteLength <= MAX_CONTENT) {
      data = data.byteLength === 0 ? head : Buffer.concat([head, data]);
      return streamRecords(T.STDOUT, this.#id, data);
    }
    return [...streamRecords(T.STDOUT, this.#id, head), ...streamRecords(T.STDOUT, this.#id, data)];
  }

  /** Writes the parts; `cb` as socket.write's. Null (and no `cb`) when the socket is gone. */
  #send(parts: Uint8Array[], cb?: (err?: Error | null) => void): boolean | null {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return null;
    let total = 0;
    for (const p of parts) total += p.byteLength;
    if (parts.length === 1) return socket.write(parts[0]!, cb);
    if (total <= COALESCE_BYTES) return socket.write(Buffer.concat(parts, total), cb);
    socket.cork();
    let ok = true;
    for (let i = 0; i < parts.length; i++)
      ok = socket.write(parts[i]!, i === parts.length - 1 ? cb : undefined);
    socket.uncork();
    return ok;
  }
}
