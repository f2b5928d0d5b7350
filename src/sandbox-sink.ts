/**
 * Where a sandbox's answer goes: the ResponseSink the sandbox calls, written onto the exchange.
 * Text and binary bodies arrive whole and must fit the response budget (else 503); a streamed
 * body is pulled from the sandbox only as the client drains it (`chunk` returns false and
 * `resume` is called on drain), so a stream that nobody reads stops in the sandbox, inside the
 * site's own --memory, instead of growing the worker.
 */
import { SiteboxError } from "./errors.js";
import { byteLength, type Exchange } from "./exchange.js";
import type { BodyKind } from "./sandbox/response-meta.js";
import type { ResponseSink } from "./sandbox/sandbox.js";

/** What every sink of a pipeline shares: how to fail an exchange, and the error log. */
export interface SinkOwner {
  fail(x: Exchange, err: SiteboxError): void;
  logError(x: Exchange, route: string, message: string): void;
}

/** One per dispatched request; a class so a request costs one allocation, not one per method. */
export class SandboxSink implements ResponseSink {
  readonly #x: Exchange;
  readonly #route: string;
  readonly #debug: readonly string[];
  readonly #owner: SinkOwner;

  constructor(x: Exchange, route: string, debug: readonly string[], owner: SinkOwner) {
    this.#x = x;
    this.#route = route;
    this.#debug = debug;
    this.#owner = owner;
  }

  head(
    status: number,
    headers: string[],
    kind: BodyKind,
    body: string | Uint8Array | undefined,
  ): void {
    const x = this.#x;
    if (x.headSent || x.ended) return;
    if (this.#debug.length > 0) headers.push(...this.#debug);
    if (kind === "stream") {
      x.streaming = true;
      x.head(status, headers);
      // No body allowed (HEAD, 204, 304): the exchange ends now and its close cancels the
      // stream in the sandbox.
      if (x.req.method === "HEAD" || status === 204 || status === 304) x.end();
      else x.flush();
      return;
    }
    const length = body === undefined ? 0 : byteLength(body);
    if (!this.admit(length)) return;
    if (status !== 204 && status !== 304) headers.push("content-length", String(length));
    x.head(status, headers);
    x.end(body);
  }

  admit(size: number): boolean {
    const refusal = this.#x.refusal(size);
    if (refusal === null) return true;
    this.#owner.logError(this.#x, this.#route, refusal);
    this.#owner.fail(this.#x, new SiteboxError("ERR_UNAVAILABLE", refusal));
    return false;
  }

  chunk(data: string | Uint8Array, resume: () => void): boolean {
    const x = this.#x;
    if (x.ended) return false;
    const refusal = x.refusal(byteLength(data));
    if (refusal !== null) {
      this.#owner.logError(x, this.#route, `stream cut: ${refusal}`);
      x.abort();
      return false;
    }
    if (x.write(data)) return true;
    x.onDrain(resume);
    return false;
  }

  end(): void {
    this.#x.streaming = false;
    this.#x.end();
  }

  fail(err: SiteboxError): void {
    this.#x.streaming = false;
    this.#owner.fail(this.#x, err);
  }
}
