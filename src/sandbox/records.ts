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

/** Where a response goes; implemented by the HTTP front. */
export interface ResponseSink {
  head(
    status: number,
    headers: string[],
    kind: BodyKind,
    body: string | Uint8Array | undefined,
  ): void;
  chunk(data: string | Uint8Array): void;
  end(): void;
  /** Before the head: answer with the error's status. After it: cut the response. */
  fail(err: SiteboxError): void;
}
