/**
 * The seam between a front end (node:http today, FastCGI next) and the request pipeline.
 *
 * A front end only translates: its protocol's request into a `PipelineRequest`, and the
 * pipeline's calls on a `ResponseWriter` into its protocol's response. Everything a user can
 * observe (routes, limits, error statuses, log lines, the status page) is decided by the
 * pipeline, so it never differs by front end.
 *
 * Contract for a front end:
 * - Call `Pipeline.handle(req, out)` once per request, as soon as its head is parsed.
 * - Call the listener given to `req.onClose` exactly once, when the exchange is over: the
 *   response was handed to the OS in full (`aborted` false), or the connection went away or was
 *   cut first (`aborted` true).
 * - Never throw out of a writer method, and never emit an error the pipeline did not ask for: a
 *   failed write cuts the connection, which then closes as above.
 */

/** A request as the pipeline sees it. */
export interface PipelineRequest {
  readonly method: string;
  /** The request-target exactly as sent: "/p?q", or absolute form "http://host/p?q". */
  readonly target: string;
  /** The Host header (the target's authority wins in absolute form: see target.ts). */
  readonly host: string | undefined;
  /** The header list as received: name, value, name, value... */
  readonly headers: readonly string[];
  /** The client's address (later: decided by a trust-proxy rule, not always the peer). */
  readonly clientAddress: string;
  readonly scheme: "http" | "https";
  /** "1.1", "1.0": for the access log. */
  readonly httpVersion: string;
  /** A header by lower-case name (repeated ones joined with ", "), or undefined. */
  header(name: string): string | undefined;
  /**
   * True when the request certainly has no body (`readBody` would give null), so the pipeline
   * need not wait for it. Optional: a front that cannot tell leaves it out.
   */
  readonly bodyless?: boolean;
  /**
   * The whole body: null when there is none, "too-large" as soon as it passes `limit` (the rest
   * is not read; the front closes the connection after the answer).
   */
  readBody(limit: number): Promise<Uint8Array | null | "too-large">;
  /** See the contract above. One listener per request. */
  onClose(listener: (aborted: boolean) => void): void;
}

/** How the pipeline answers. Every method is safe to call in any state: none throws. */
export interface ResponseWriter {
  /**
   * Status and headers (flat list: name, value...). The pipeline has checked every name and
   * value (response-meta.ts); `content-length` present means a body of that length follows,
   * absent means a body of unknown length (chunked in HTTP/1.1). `connection: close` asks the
   * front to close after this response. A front may hold the head back to send it with the
   * first body bytes. False when the front could not send it (the connection is then cut).
   */
  head(status: number, headers: readonly string[]): boolean;
  /** Sends the head now, for a body that may be long in coming (a stream). */
  flush(): void;
  /** Queues body bytes; false when the caller should wait for `onDrain` before writing more. */
  write(chunk: string | Uint8Array): boolean;
  /** Calls `listener` once, when the queued bytes have drained or the connection closed. */
  onDrain(listener: () => void): void;
  /** Ends the response, with a last chunk if given. */
  end(chunk?: string | Uint8Array): void;
  /** Cuts the connection: the client sees a truncated response, never a wrong one. */
  abort(): void;
  /**
   * Sends `length` bytes of the open file `fd` from `start`, as fast as the client reads, then
   * ends the response. Takes ownership of `fd` and closes it. A file that ends early cuts the
   * connection. Resolves with the bytes sent.
   */
  sendFile(fd: number, start: number, length: number): Promise<number>;
  /** Bytes queued in this process for this response and not yet handed to the OS. */
  readonly buffered: number;
  /** True once the connection is gone. */
  readonly closed: boolean;
}

/** What a front end is given. */
export interface Pipeline {
  handle(req: PipelineRequest, out: ResponseWriter): void;
}
