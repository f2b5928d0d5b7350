/**
 * The HTTP front end: node:http's request into the pipeline's PipelineRequest, the pipeline's
 * ResponseWriter calls into node:http's response, and nothing else (pipeline-types.ts). Node's
 * own parser answers malformed requests (400) and oversized heads (431) before we see them.
 *
 * No call into node:http can throw out of here or emit an unhandled error: the pipeline checked
 * every header before `head`, every call is guarded, and nothing is written after the end.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Config } from "../config.js";
import type { Pipeline, PipelineRequest, ResponseWriter } from "../pipeline-types.js";
import { parseTrustList, resolveClient, type TrustProxy } from "../trust-proxy.js";
import { pumpFile } from "./file-pump.js";
import { rawHeader } from "./raw-headers.js";

export interface HttpFrontHooks {
  /** Connection bookkeeping (drain.ts) as each request starts and ends. */
  onRequest?(req: IncomingMessage): void;
  onRequestDone?(req: IncomingMessage): void;
  /**
   * Asked as each response head is written: true while the worker drains, so the client is told
   * `connection: close` and sends no further request on a connection about to go.
   */
  closeAfterResponse?(): boolean;
}

export function createHttpFront(
  config: Pick<Config, "headersTimeoutMs" | "wallTimeoutMs"> & { trustProxy?: readonly string[] },
  pipeline: Pipeline,
  hooks: HttpFrontHooks = {},
): http.Server {
  // The client and scheme come from forwarding headers only when the peer is a trusted proxy.
  const trust = config.trustProxy?.length ? parseTrustList(config.trustProxy) : null;
  const server = http.createServer({
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.headersTimeoutMs + config.wallTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(100, config.headersTimeoutMs / 4)),
    keepAliveTimeout: 5000,
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    hooks.onRequest?.(req);
    const exchange = new HttpExchange(req, res, hooks, trust);
    pipeline.handle(exchange, exchange);
  });
  return server;
}

/** One request and its response: both sides of the seam in one object (one allocation). */
class HttpExchange implements PipelineRequest, ResponseWriter {
  readonly method: string;
  readonly target: string;
  readonly host: string | undefined;
  readonly headers: readonly string[];
  readonly clientAddress: string;
  readonly scheme: "http" | "https" = "http";
  readonly httpVersion: string;
  readonly bodyless: boolean;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #hooks: HttpFrontHooks;
  #done = false;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    hooks: HttpFrontHooks,
    trust: TrustProxy | null,
  ) {
    this.#req = req;
    this.#res = res;
    this.#hooks = hooks;
    this.method = req.method ?? "GET";
    this.target = req.url ?? "/";
    const raw = req.rawHeaders;
    this.host = rawHeader(raw, "host");
    this.headers = raw;
    this.clientAddress = req.socket.remoteAddress ?? "";
    if (trust !== null) {
      const client = resolveClient(this.clientAddress, "http", raw, trust);
      this.clientAddress = client.address;
      this.scheme = client.scheme;
    }
    this.httpVersion = req.httpVersion;
    const declared = rawHeader(raw, "content-length");
    this.bodyless =
      rawHeader(raw, "transfer-encoding") === undefined &&
      (declared === undefined || declared === "0");
  }

  // ---- PipelineRequest ----

  header(name: string): string | undefined {
    return rawHeader(this.headers, name);
  }

  readBody(limit: number): Promise<Uint8Array | null | "too-large"> {
    return readBody(this.#req, limit);
  }

  onClose(listener: (aborted: boolean) => void): void {
    const res = this.#res;
    res.once("close", () => {
      this.#hooks.onRequestDone?.(this.#req);
      listener(!res.writableFinished);
    });
  }

  // ---- ResponseWriter ----

  /** Node marks the response destroyed when it closes, finished or not. */
  get closed(): boolean {
    return this.#res.destroyed;
  }

  get buffered(): number {
    return this.#res.writableLength;
  }

  head(status: number, headers: readonly string[]): boolean {
    const res = this.#res;
    if (this.#done || res.headersSent) return false;
    // Node then sends `connection: close` and ends the connection after this response.
    if (this.#hooks.closeAfterResponse?.()) res.shouldKeepAlive = false;
    try {
      res.writeHead(status, headers as string[]);
      return true;
    } catch {
      this.abort();
      return false;
    }
  }

  flush(): void {
    if (this.#done) return;
    try {
      this.#res.flushHeaders();
    } catch {
      this.abort();
    }
  }

  write(chunk: string | Uint8Array): boolean {
    const res = this.#res;
    if (this.#done || res.destroyed) return false;
    try {
      return res.write(chunk);
    } catch {
      this.abort();
      return false;
    }
  }

  onDrain(listener: () => void): void {
    const res = this.#res;
    if (res.destroyed) return listener();
    const once = () => {
      res.off("drain", once);
      res.off("close", once);
      listener();
    };
    res.on("drain", once);
    res.on("close", once);
  }

  end(chunk?: string | Uint8Array): void {
    if (this.#done) return;
    this.#done = true;
    try {
      if (chunk === undefined) this.#res.end();
      else this.#res.end(chunk);
    } catch {
      this.#res.destroy();
    }
  }

  abort(): void {
    this.#done = true;
    this.#res.destroy();
  }

  sendFile(fd: number, start: number, length: number): Promise<number> {
    return pumpFile(this, fd, start, length);
  }
}

/** The whole body, null when there is none, or "too-large" as soon as it passes `limit`. */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | null | "too-large"> {
  const declared = rawHeader(req.rawHeaders, "content-length");
  if (declared === undefined && rawHeader(req.rawHeaders, "transfer-encoding") === undefined)
    return Promise.resolve(null);
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve("too-large");
  if (declared === "0") return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.pause();
        resolve("too-large");
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(size === 0 ? null : Buffer.concat(chunks, size)));
    req.once("error", reject);
  });
}
