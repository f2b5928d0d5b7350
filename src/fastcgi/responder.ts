/**
 * The FastCGI responder: one connection's state machine over a net.Socket (FastCGI 1.0, responder
 * role). A connection carries one request at a time (FCGI_MPXS_CONNS=0, as php-fpm and nginx do);
 * a BEGIN_REQUEST while one is open gets FCGI_CANT_MPX_CONN. With FCGI_KEEP_CONN the connection
 * takes the next request after END_REQUEST; without it, it closes.
 *
 * Each request becomes a FastCgiRequest and a FastCgiResponse (exchange.ts) handed to the handler.
 * A malformed record, params over their bounds, a record or a request head that stalls past
 * --headers-timeout, or a body that stalls past the body bound ends the connection with one log
 * line; the request's signal aborts.
 */
import net, { type Socket } from "node:net";
import { requestHead, type CgiRequestHead } from "./cgi.js";
import type { FastCgiHandler, FastCgiRequest } from "./exchange.js";
import {
  encodePairs,
  encodeRecord,
  endRequest,
  FastCgiProtocolError,
  parseBeginRequest,
  parsePairs,
  PROTOCOL_STATUS,
  RecordParser,
  ROLE_RESPONDER,
  T,
  unknownType,
  type FcgiRecord,
} from "./records.js";
import { ResponseWriter } from "./writer.js";

export interface ResponderOptions {
  /** The whole server's connection capacity, reported as FCGI_MAX_CONNS and FCGI_MAX_REQS. */
  maxConns: number;
  /** Processes sharing the listener (node:cluster workers): each takes its share of maxConns. */
  processes: number;
  /** Bounds on one request's PARAMS stream. */
  maxParamsBytes: number;
  maxParams: number;
  /** STDIN held before the pipeline asks for the body; past it the socket pauses. */
  bodyBufferBytes: number;
  /** BEGIN_REQUEST to the end of PARAMS, and any record once started, must finish within this. */
  headersTimeoutMs: number;
  /** The end of PARAMS to the end of STDIN. */
  bodyTimeoutMs: number;
  /** A connection with no request open is closed after this much silence. */
  idleTimeoutMs: number;
  /** One line per connection ended for cause. */
  log(message: string): void;
  /** True while the worker drains: a kept-alive connection closes after its END_REQUEST. */
  closeAfterResponse?(): boolean;
  /** A request opened (true) or ended (false) on `socket`: connection bookkeeping (drain.ts). */
  onBusy?(socket: Socket, busy: boolean): void;
}

export const RESPONDER_DEFAULTS: Omit<ResponderOptions, "log"> = Object.freeze({
  maxConns: 1024,
  processes: 1,
  maxParamsBytes: 64 * 1024,
  maxParams: 512,
  bodyBufferBytes: 1024 * 1024,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  // Longer than nginx's upstream keepalive_timeout default (60 s): nginx closes first.
  idleTimeoutMs: 75_000,
});

type BodyResult = Uint8Array | null | "too-large";

/** The request side of one exchange: params, STDIN, the signal. */
class Exchange {
  readonly id: number;
  readonly keepConn: boolean;
  /** Made when the signal is first asked for: most requests never abort, nor look. */
  #controller: AbortController | null = null;
  aborted = false;
  reason: unknown = undefined;
  params: Uint8Array[] = [];
  paramsBytes = 0;
  paramsDone = false;
  stdin: Uint8Array[] = [];
  stdinBytes = 0;
  stdinDone = false;
  /** Over the reader's limit: the rest of STDIN is dropped as it arrives. */
  discarding = false;
  limit = -1;
  body: Promise<BodyResult> | null = null;
  settle: ((r: BodyResult) => void) | null = null;
  fail: ((e: unknown) => void) | null = null;
  writer: ResponseWriter | null = null;
  deadline: NodeJS.Timeout | null = null;
  /** The bound the request is under now; its timer starts once the chunk in hand is read. */
  due: { ms: number; what: string } | null = null;

  constructor(id: number, keepConn: boolean) {
    this.id = id;
    this.keepConn = keepConn;
  }

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    this.aborted = true;
    this.reason = reason;
    this.#controller?.abort(reason);
  }

  get reading(): boolean {
    return !this.stdinDone && !this.discarding;
  }
}

/** What the handler gets: the head, and the rest from the exchange as it is asked for. */
class Request implements FastCgiRequest {
  readonly method: string;
  readonly target: string;
  readonly host: string | undefined;
  readonly rawHeaders: string[];
  readonly remoteAddress: string;
  readonly scheme: "http" | "https";
  readonly httpVersion: string;
  readonly readBody: (limit: number) => Promise<BodyResult>;
  readonly #pairs: [string, string][];
  readonly #x: Exchange;
  #params: Map<string, string> | null = null;

  constructor(
    head: CgiRequestHead,
    pairs: [string, string][],
    x: Exchange,
    readBody: (limit: number) => Promise<BodyResult>,
  ) {
    this.method = head.method;
    this.target = head.target;
    this.host = head.host;
    this.rawHeaders = head.rawHeaders;
    this.remoteAddress = head.remoteAddress;
    this.scheme = head.scheme;
    this.httpVersion = head.httpVersion;
    this.readBody = readBody;
    this.#pairs = pairs;
    this.#x = x;
  }

  get params(): ReadonlyMap<string, string> {
    return (this.#params ??= new Map(this.#pairs));
  }

  get signal(): AbortSignal {
    return this.#x.signal;
  }

  get bodyless(): boolean {
    return this.#x.stdinDone && this.#x.stdinBytes === 0;
  }
}

export class FastCgiConnection {
  readonly #socket: Socket;
  readonly #opts: ResponderOptions;
  readonly #handler: FastCgiHandler;
  readonly #parser = new RecordParser();
  #x: Exchange | null = null;
  #paused = false;
  #timeoutMs = -1;
  /** Inside #onData: deadlines wait for the end of the chunk (most requests end within it). */
  #reading = false;
  /** The handler of a request whose params ended inside the chunk being read (see #params). */
  #starting: (() => void) | null = null;

  constructor(socket: Socket, opts: ResponderOptions, handler: FastCgiHandler) {
    this.#socket = socket;
    this.#opts = opts;
    this.#handler = handler;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("drain", () => this.#x?.writer?.drained());
    // A web server closes the connection when its client goes away (nginx does, unless
    // fastcgi_ignore_client_abort): that is the abort signal.
    socket.on("end", () => this.#lose("connection closed by the web server"));
    socket.on("close", () => this.#lose("connection closed"));
    socket.on("error", () => {}); // 'close' follows
    socket.on("timeout", () => this.#onTimeout());
    this.#arm();
  }

  #onData(chunk: Buffer): void {
    this.#reading = true;
    let starting: (() => void) | null = null;
    try {
      for (const record of this.#parser.push(chunk)) {
        this.#record(record);
        if (this.#socket.destroyed) return;
      }
    } catch (err) {
      if (!(err instanceof FastCgiProtocolError)) throw err;
      this.#end(`protocol error: ${err.message}`);
      return;
    } finally {
      this.#reading = false;
      starting = this.#starting;
      this.#starting = null;
    }
    starting?.();
    if (this.#socket.destroyed) return;
    const x = this.#x;
    if (x !== null && x.due !== null && x.deadline === null) this.#startDeadline(x);
    this.#arm();
  }

  #record(r: FcgiRecord): void {
    if (r.requestId === 0) return this.#management(r);
    const x = this.#x;
    switch (r.type) {
      case T.BEGIN_REQUEST:
        return this.#begin(r);
      case T.PARAMS:
      case T.STDIN:
      case T.ABORT_REQUEST:
      case T.DATA:
        // Records of a request that is not open (finished, refused) are ignored (spec 3.3).
        if (x === null || r.requestId !== x.id) return;
        if (r.type === T.PARAMS) return this.#params(x, r.content);
        if (r.type === T.STDIN) return this.#stdin(x, r.content);
        if (r.type === T.ABORT_REQUEST) return this.#abortRequest(x);
        return; // DATA is the filter role's stream
      default:
        throw new FastCgiProtocolError(`unexpected record type ${r.type}`);
    }
  }

  #management(r: FcgiRecord): void {
    if (r.type !== T.GET_VALUES) {
      this.#socket.write(unknownType(r.type));
      return;
    }
    const asked = parsePairs(r.content, { maxBytes: 4096, maxPairs: 16 });
    const known: Record<string, string> = {
      FCGI_MAX_CONNS: String(this.#opts.maxConns),
      FCGI_MAX_REQS: String(this.#opts.maxConns),
      FCGI_MPXS_CONNS: "0",
    };
    const answer = asked.filter(([n]) => n in known).map(([n]) => [n, known[n]!] as const);
    this.#socket.write(encodeRecord(T.GET_VALUES_RESULT, 0, encodePairs(answer)));
  }

  #begin(r: FcgiRecord): void {
    const { role, keepConn } = parseBeginRequest(r.content);
    // Closing after a response (draining): a request sent meanwhile could not be answered, so it
    // is not started; the web server sees the connection close without a reply and retries it.
    if (!this.#socket.writable) return;
    if (this.#x !== null) {
      if (this.#x.id === r.requestId)
        throw new FastCgiProtocolError(`request id ${r.requestId} already open`);
      this.#socket.write(endRequest(r.requestId, 0, PROTOCOL_STATUS.CANT_MPX_CONN));
      return;
    }
    if (role !== ROLE_RESPONDER) {
      this.#socket.write(endRequest(r.requestId, 0, PROTOCOL_STATUS.UNKNOWN_ROLE));
      if (!keepConn) this.#socket.end();
      return;
    }
    const x = new Exchange(r.requestId, keepConn);
    this.#x = x;
    this.#opts.onBusy?.(this.#socket, true);
    this.#deadline(x, this.#opts.headersTimeoutMs, "request params");
  }

  #params(x: Exchange, content: Uint8Array): void {
    if (x.paramsDone) throw new FastCgiProtocolError("PARAMS after the end of PARAMS");
    if (content.byteLength > 0) {
      x.paramsBytes += content.byteLength;
      if (x.paramsBytes > this.#opts.maxParamsBytes)
        throw new FastCgiProtocolError(`params over ${this.#opts.maxParamsBytes} bytes`);
      x.params.push(content);
      return;
    }
    x.paramsDone = true;
    const pairs = parsePairs(x.params.length === 1 ? x.params[0]! : Buffer.concat(x.params), {
      maxBytes: this.#opts.maxParamsBytes,
      maxPairs: this.#opts.maxParams,
    });
    x.params = [];
    this.#deadline(x, this.#opts.bodyTimeoutMs, "request body");
    const writer = new ResponseWriter(
      this.#socket,
      x.id,
      (how) => this.#finished(x, how),
      // Only a kept-alive connection needs telling; without KEEP_CONN the web server expects
      // the close.
      () => x.keepConn && this.#closesAfter(x),
    );
    x.writer = writer;
    const head = requestHead(pairs);
    if (typeof head === "string") {
      this.#opts.log(`fastcgi: bad request: ${head}`);
      writer.stderr(`sitebox: bad request: ${head}\n`);
      writer.head(400, ["content-type", "text/plain; charset=utf-8"]);
      writer.end("Bad Request\n");
      return;
    }
    const request = new Request(head, pairs, x, (limit) => this.#readBody(x, limit));
    // Inside a chunk, the handler waits for the chunk's last record: a GET's empty STDIN most
    // often comes in the same read, and then the request is known to be bodyless.
    if (this.#reading) this.#starting = () => this.#start(x, request, writer);
    else this.#start(x, request, writer);
  }

  #start(x: Exchange, request: FastCgiRequest, writer: ResponseWriter): void {
    if (this.#x !== x || x.aborted) return; // aborted or lost before its handler ran
    try {
      this.#handler(request, writer);
    } catch (err) {
      this.#opts.log(`fastcgi: handler threw: ${(err as Error).message}`);
      writer.abort();
    }
  }

  #stdin(x: Exchange, content: Uint8Array): void {
    if (!x.paramsDone) throw new FastCgiProtocolError("STDIN before the end of PARAMS");
    if (x.stdinDone) throw new FastCgiProtocolError("STDIN after the end of STDIN");
    if (content.byteLength === 0) {
      x.stdinDone = true;
      this.#clearDeadline(x);
      this.#settleBody(x);
      return;
    }
    if (x.discarding) return;
    x.stdinBytes += content.byteLength;
    if (x.limit >= 0 && x.stdinBytes > x.limit) return this.#tooLarge(x);
    x.stdin.push(content);
    if (x.limit < 0 && x.stdinBytes > this.#opts.bodyBufferBytes && !this.#paused) {
      // Nobody asked for the body yet: stop reading rather than hold more of it.
      this.#paused = true;
      this.#socket.pause();
      this.#clearDeadline(x);
    }
  }

  #readBody(x: Exchange, limit: number): Promise<BodyResult> {
    if (x.body !== null) return x.body;
    x.limit = limit;
    x.body = new Promise<BodyResult>((resolve, reject) => {
      x.settle = resolve;
      x.fail = reject;
    });
    if (x.aborted) x.fail!(x.reason);
    else if (x.stdinBytes > limit) this.#tooLarge(x);
    else if (x.stdinDone) this.#settleBody(x);
    this.#resume(x);
    return x.body;
  }

  #tooLarge(x: Exchange): void {
    x.discarding = true;
    x.stdin = [];
    this.#clearDeadline(x);
    x.settle?.("too-large");
  }

  #settleBody(x: Exchange): void {
    if (x.settle === null || x.discarding) return;
    x.settle(x.stdinBytes === 0 ? null : Buffer.concat(x.stdin, x.stdinBytes));
    x.stdin = [];
  }

  #resume(x: Exchange | null): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#socket.resume();
    if (x !== null && x.reading) this.#deadline(x, this.#opts.bodyTimeoutMs, "request body");
  }

  #abortRequest(x: Exchange): void {
    this.#abort(x, "FastCGI ABORT_REQUEST");
    if (x.writer !== null) return x.writer.endAborted();
    // Aborted before its params ended: no handler saw it, END_REQUEST all the same.
    this.#socket.write(endRequest(x.id, 1, PROTOCOL_STATUS.REQUEST_COMPLETE));
    this.#finished(x, "end");
  }

  #abort(x: Exchange, why: string): void {
    if (x.aborted) return;
    const reason = new DOMException(why, "AbortError");
    x.abort(reason);
    x.fail?.(reason);
  }

  /** The response ended (or was cut): the connection is free for the next request, or closes. */
  #finished(x: Exchange, how: "end" | "abort"): void {
    if (this.#x !== x) return;
    this.#clearDeadline(x);
    this.#x = null;
    this.#opts.onBusy?.(this.#socket, false);
    if (how === "abort") return;
    this.#resume(null); // the rest of an unread body is dropped as it arrives
    if (this.#closesAfter(x)) this.#socket.end();
    else this.#arm();
  }

  #closesAfter(x: Exchange): boolean {
    return !x.keepConn || this.#opts.closeAfterResponse?.() === true;
  }

  /** The connection is going or gone: an open request aborts. */
  #lose(why: string): void {
    const x = this.#x;
    if (x !== null) {
      this.#abort(x, why);
      this.#clearDeadline(x);
      this.#x = null;
      this.#opts.onBusy?.(this.#socket, false);
      x.writer?.lost();
    }
    if (!this.#socket.destroyed) this.#socket.destroy();
  }

  /** Ends the connection for cause, with one log line. */
  #end(why: string): void {
    this.#opts.log(`fastcgi: ${why}; closing the connection`);
    this.#lose(why);
  }

  #deadline(x: Exchange, ms: number, what: string): void {
    this.#clearDeadline(x);
    x.due = { ms, what };
    if (!this.#reading) this.#startDeadline(x);
  }

  #startDeadline(x: Exchange): void {
    const { ms, what } = x.due!;
    x.deadline = setTimeout(() => this.#end(`${what} not complete within ${ms} ms`), ms);
  }

  #clearDeadline(x: Exchange): void {
    if (x.deadline !== null) clearTimeout(x.deadline);
    x.deadline = null;
    x.due = null;
  }

  /**
   * A started record must finish within the head bound; a connection closes after the idle
   * bound of silence, unless a request is open (its own deadlines bound it). The socket's timer
   * is changed only between those two, not per request.
   */
  #arm(): void {
    const ms = this.#parser.partial ? this.#opts.headersTimeoutMs : this.#opts.idleTimeoutMs;
    if (ms === this.#timeoutMs) return;
    this.#timeoutMs = ms;
    this.#socket.setTimeout(ms);
  }

  #onTimeout(): void {
    if (this.#parser.partial) this.#end(`record not complete within ${this.#timeoutMs} ms`);
    else if (this.#x === null) this.#socket.destroy();
    else this.#socket.setTimeout(this.#timeoutMs); // a request is open: look again later
  }
}

/** A listener whose connections speak FastCGI; `listen()` it on a port or a unix socket path. */
export function createFastCgiServer(opts: ResponderOptions, handler: FastCgiHandler): net.Server {
  const server = net.createServer((socket) => new FastCgiConnection(socket, opts, handler));
  server.maxConnections = Math.ceil(opts.maxConns / Math.max(1, opts.processes));
  return server;
}
