/**
 * What the FastCGI front hands the request pipeline: one request and its response writer, the same
 * shape the HTTP front gives, so wiring FastCGI in is an adapter of a few lines.
 */
import type { CgiRequestHead } from "./cgi.js";

export interface FastCgiRequest extends CgiRequestHead {
  /** Every CGI variable the web server sent (DOCUMENT_ROOT, SERVER_NAME, ...), as sent. */
  readonly params: ReadonlyMap<string, string>;
  /**
   * The whole body from STDIN: null when empty, "too-large" as soon as it passes `limit` (the
   * rest is discarded as it arrives). Rejects with the abort reason if the request is aborted
   * first. Call it once; later calls return the same promise.
   */
  readBody(limit: number): Promise<Uint8Array | null | "too-large">;
  /** Aborts on ABORT_REQUEST, or when the connection closes or fails before the response ends. */
  readonly signal: AbortSignal;
  /** True when STDIN has already ended empty: there is no body to wait for. */
  readonly bodyless: boolean;
}

export interface FastCgiResponse {
  /** The CGI header block (`Status:` and headers); validated by the caller, cannot throw. */
  head(status: number, headers: readonly string[]): void;
  /** Body bytes as STDOUT records; false: wait for onDrain before writing more. */
  write(chunk: string | Uint8Array): boolean;
  /** Calls `fn` once when the socket can take more (at once if it can now, or if aborted). */
  onDrain(fn: () => void): void;
  /** The last bytes, the end of STDOUT and END_REQUEST; closes the connection without KEEP_CONN. */
  end(chunk?: string | Uint8Array): void;
  /** Cuts the connection: the web server sees the response end prematurely. */
  abort(): void;
  /** `length` bytes of the open file `fd` from `start`, written as the socket drains. */
  sendFile(fd: number, start: number, length: number): Promise<void>;
  /** A line for the web server's error log (FCGI_STDERR). */
  stderr(text: string): void;
  /** True once end() or abort() ran, or the request was aborted. */
  readonly finished: boolean;
  /** Bytes queued on the connection and not yet handed to the OS. */
  readonly buffered: number;
  /**
   * Calls `fn` once, when the exchange is over: the response handed to the OS in full (false),
   * or cut, aborted or its connection lost first (true).
   */
  onDone(fn: (aborted: boolean) => void): void;
}

export type FastCgiHandler = (req: FastCgiRequest, res: FastCgiResponse) => void;
