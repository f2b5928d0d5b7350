/**
 * One request and its response inside the pipeline: everything written goes through here, so the
 * access log has the real status and bytes of every response (static, script, stream, error,
 * status page), a body is never written where HTTP allows none (HEAD, 204, 304), nothing is
 * written after the end, and the response bytes the front end holds are counted against the
 * worker's and the site's bound (response-budget.ts).
 */
import { closeSync } from "node:fs";
import { clfDate, clfQuote } from "./log.js";
import type { PipelineRequest, ResponseWriter } from "./pipeline-types.js";
import type { ResponseBudget } from "./response-budget.js";
import type { ResponseSink, Sandbox } from "./sandbox/sandbox.js";
import type { SiteEntry } from "./sites.js";
import type { Target } from "./target.js";

/** Logged for a request whose client left before any response head (nginx's convention). */
const CLIENT_CLOSED = 499;

export class Exchange {
  readonly req: PipelineRequest;
  readonly start = performance.now();
  target: Target | null = null;
  /** Status sent (0 until the head went out). */
  status = 0;
  /** Body bytes handed to the front end. */
  bytes = 0;
  entry: SiteEntry | null = null;
  /** Set once dispatched: the sandbox that answers, cancelled if the client leaves. */
  sandbox: Sandbox | null = null;
  /** Set once dispatched: ends the request's count in entry.unanswered (idempotent). */
  answered: (() => void) | null = null;
  sink: ResponseSink | null = null;
  /** A streamed body still coming from the sandbox (cancel it if the exchange ends first). */
  streaming = false;
  closed = false;

  readonly #out: ResponseWriter;
  readonly #budget: ResponseBudget;
  #headSent = false;
  #ended = false;
  #noBody = false;
  #held = 0;
  #file: Promise<void> | null = null;

  constructor(req: PipelineRequest, out: ResponseWriter, budget: ResponseBudget) {
    this.req = req;
    this.#out = out;
    this.#budget = budget;
  }

  get headSent(): boolean {
    return this.#headSent;
  }

  get ended(): boolean {
    return this.#ended || this.closed;
  }

  /** Null when a body of `bytes` may be queued now, else why not (response-budget.ts). */
  refusal(bytes: number): string | null {
    return this.#budget.refusal(this.#site(), bytes);
  }

  head(status: number, headers: readonly string[]): void {
    if (this.#headSent || this.ended) return;
    this.#headSent = true;
    this.status = status;
    this.#noBody = this.req.method === "HEAD" || status === 204 || status === 304;
    // Refused by the front end (it cannot be, after our checks; if it is, the connection is
    // cut and the log says 500, not the status that never left).
    if (!this.#out.head(status, headers)) {
      this.status = 500;
      this.abort();
    }
    this.answered?.();
  }

  flush(): void {
    if (!this.ended) this.#out.flush();
  }

  /** False when the caller should wait for onDrain (or stop: the exchange ended). */
  write(chunk: string | Uint8Array): boolean {
    if (!this.#headSent || this.ended) return false;
    if (this.#noBody) return true;
    this.bytes += byteLength(chunk);
    const more = this.#out.write(chunk);
    this.#account();
    return more;
  }

  onDrain(listener: () => void): void {
    this.#out.onDrain(() => {
      this.#account();
      listener();
    });
  }

  end(chunk?: string | Uint8Array): void {
    if (!this.#headSent || this.ended) return;
    this.#ended = true;
    if (chunk !== undefined && !this.#noBody) {
      this.bytes += byteLength(chunk);
      this.#out.end(chunk);
    } else this.#out.end();
    this.#account();
  }

  sendFile(fd: number, start: number, length: number): void {
    if (!this.#headSent || this.ended || this.#noBody) {
      closeSync(fd);
      this.end();
      return;
    }
    // The front pulls the file as the socket drains: it holds at most one read ahead, so the
    // budget needs no word of it.
    this.#ended = true;
    this.#file = this.#out.sendFile(fd, start, length).then((n) => {
      this.bytes += n;
    });
  }

  abort(): void {
    this.#ended = true;
    this.#out.abort();
    this.answered?.();
  }

  /** The exchange is over: release what it held; resolves once a file send has settled. */
  close(): Promise<void> | null {
    this.closed = true;
    this.#budget.move(this.#site(), -this.#held);
    this.#held = 0;
    return this.#file;
  }

  /** One Apache combined line. */
  accessLine(): string {
    const { req } = this;
    const status = this.status === 0 ? CLIENT_CLOSED : this.status;
    return (
      `${req.clientAddress || "-"} - - ${clfDate()} ` +
      `"${clfQuote(`${req.method} ${req.target} HTTP/${req.httpVersion}`)}" ` +
      `${status} ${this.bytes > 0 ? this.bytes : "-"} ` +
      `"${clfQuote(req.header("referer"))}" "${clfQuote(req.header("user-agent"))}"`
    );
  }

  #site(): string {
    return this.entry?.name ?? "";
  }

  #account(): void {
    if (this.closed) return;
    const now = this.#out.buffered;
    if (now === this.#held) return;
    this.#budget.move(this.#site(), now - this.#held);
    this.#held = now;
  }
}

export function byteLength(data: string | Uint8Array): number {
  return typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
}
