/**
 * The FastCGI front end: the responder's FastCgiRequest/FastCgiResponse (src/fastcgi/) into the
 * pipeline's PipelineRequest/ResponseWriter, and nothing else (pipeline-types.ts). The responder
 * owns the protocol: records, bounds, keep-alive, ABORT_REQUEST.
 *
 * The client is REMOTE_ADDR: the web server says who its peer was, so no --trust-proxy is needed
 * for nginx itself (whoever can connect to the FastCGI socket can claim anything; that is what
 * its address and the socket's permissions are for). If nginx stands behind another proxy, then
 * REMOTE_ADDR is that proxy, and the HTTP rule applies unchanged: when REMOTE_ADDR is in
 * --trust-proxy, the client and scheme come from the forwarded headers nginx passes on
 * (HTTP_X_FORWARDED_FOR, HTTP_FORWARDED).
 */
import type net from "node:net";
import type { Config } from "../config.js";
import type { FastCgiRequest, FastCgiResponse } from "../fastcgi/exchange.js";
import { createFastCgiServer, RESPONDER_DEFAULTS } from "../fastcgi/responder.js";
import type { Pipeline, PipelineRequest, ResponseWriter } from "../pipeline-types.js";
import { parseTrustList, resolveClient, type TrustProxy } from "../trust-proxy.js";
import { pumpFile } from "./file-pump.js";
import { rawHeader } from "./raw-headers.js";

export interface FastCgiFrontHooks {
  /** Connection bookkeeping (drain.ts): a request opened or ended on `socket`. */
  onBusy?(socket: net.Socket, busy: boolean): void;
  /** True while draining: kept-alive connections close after their response. */
  closeAfterResponse?(): boolean;
  /** A connection ended for cause (malformed records, bounds, stalls). */
  log(message: string): void;
}

export function createFastCgiFront(
  config: Pick<Config, "headersTimeoutMs" | "wallTimeoutMs" | "workers"> & {
    trustProxy?: readonly string[];
  },
  pipeline: Pipeline,
  hooks: FastCgiFrontHooks,
): net.Server {
  const trust = config.trustProxy?.length ? parseTrustList(config.trustProxy) : null;
  return createFastCgiServer(
    {
      ...RESPONDER_DEFAULTS,
      processes: config.workers,
      headersTimeoutMs: config.headersTimeoutMs,
      bodyTimeoutMs: config.wallTimeoutMs,
      log: hooks.log,
      onBusy: hooks.onBusy,
      closeAfterResponse: hooks.closeAfterResponse,
    },
    (req, res) => {
      const exchange = new FastCgiExchange(req, res, trust);
      pipeline.handle(exchange, exchange);
    },
  );
}

/** One request and its response: both sides of the seam in one object, as for HTTP. */
class FastCgiExchange implements PipelineRequest, ResponseWriter {
  readonly method: string;
  readonly target: string;
  readonly host: string | undefined;
  readonly headers: readonly string[];
  readonly clientAddress: string;
  readonly scheme: "http" | "https";
  readonly httpVersion: string;
  readonly #req: FastCgiRequest;
  readonly #res: FastCgiResponse;
  readonly #noBody: boolean;
  #listener: ((aborted: boolean) => void) | null = null;
  #over = false;

  constructor(req: FastCgiRequest, res: FastCgiResponse, trust: TrustProxy | null) {
    this.#req = req;
    this.#res = res;
    this.method = req.method;
    this.target = req.target;
    this.host = req.host;
    this.headers = req.rawHeaders;
    this.clientAddress = req.remoteAddress;
    this.scheme = req.scheme;
    if (trust !== null) {
      const client = resolveClient(req.remoteAddress, req.scheme, req.rawHeaders, trust);
      this.clientAddress = client.address;
      this.scheme = client.scheme;
    }
    this.httpVersion = req.httpVersion;
    this.#noBody = req.method === "HEAD";
    res.onDone((aborted) => this.#close(aborted));
  }

  // ---- PipelineRequest ----

  /** A GET's empty STDIN usually arrives with its params: then the pipeline need not wait. */
  get bodyless(): boolean {
    return this.#req.bodyless;
  }

  header(name: string): string | undefined {
    // The responder gives lower-case names; repeated ones as node:http gives them, as over HTTP.
    return rawHeader(this.headers, name);
  }

  async readBody(limit: number): Promise<Uint8Array | null | "too-large"> {
    try {
      return await this.#req.readBody(limit);
    } catch {
      // Aborted (ABORT_REQUEST, or the web server closed the connection): the client is gone.
      // The exchange is over before this resolves, so the pipeline sees it closed and stops.
      this.#close(true);
      return null;
    }
  }

  onClose(listener: (aborted: boolean) => void): void {
    this.#listener = listener;
  }

  #close(aborted: boolean): void {
    if (this.#over) return;
    this.#over = true;
    const listener = this.#listener;
    this.#listener = null;
    listener?.(aborted);
  }

  // ---- ResponseWriter ----

  get closed(): boolean {
    return this.#over || this.#req.signal.aborted;
  }

  get buffered(): number {
    return this.#res.buffered;
  }

  head(status: number, headers: readonly string[]): boolean {
    if (this.#res.finished) return false;
    this.#res.head(status, headers);
    return true;
  }

  /** The head goes out with the first body bytes; for a slow stream, send it now. */
  flush(): void {
    if (!this.#res.finished) this.#res.write("");
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.#res.finished) return false;
    if (this.#noBody) return true;
    return this.#res.write(chunk);
  }

  onDrain(listener: () => void): void {
    this.#res.onDrain(listener);
  }

  end(chunk?: string | Uint8Array): void {
    if (this.#noBody || chunk === undefined) this.#res.end();
    else this.#res.end(chunk);
  }

  abort(): void {
    this.#res.abort();
  }

  sendFile(fd: number, start: number, length: number): Promise<number> {
    return pumpFile(this, fd, start, length);
  }
}
