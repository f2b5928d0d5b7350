/** The plain records a request and its response cross the sandbox's boundary as. */
import type { SiteboxError } from "../errors.js";
import type { BodyKind } from "./response-meta.js";

/** A request as the sandbox sees it. `headers` is Node's rawHeaders list. */
export interface IncomingRecord {
  method: string;
  url: string;
  headers: string[];
  body: Uint8Array | null;
  route: string;
}

/** Where a response goes; implemented by the pipeline (sandbox-sink.ts). */
export interface ResponseSink {
  head(
    status: number,
    headers: string[],
    kind: BodyKind,
    body: string | Uint8Array | undefined,
  ): void;
  /**
   * One chunk of a streamed body. False: pull no more until `resume` is called (the client has
   * not drained what it has); the sandbox then stops reading the site's stream.
   */
  chunk(data: string | Uint8Array, resume: () => void): boolean;
  end(): void;
  /**
   * Before a whole body of at least `size` bytes is copied out of the sandbox: false when it does
   * not fit the response budget, and the sink has then answered (503) and logged.
   */
  admit?(size: number): boolean;
  /** Before the head: answer with the error's status. After it: cut the response. */
  fail(err: SiteboxError): void;
}
