/**
 * Draining a worker without failing a request. Closing "idle" keep-alive connections at once (what
 * `server.close()` does since Node 19) races a client that is sending its next request on one of
 * them: that request is lost. Instead, once draining, every response says `connection: close`
 * (the client closes after it, cleanly), and only connections quiet for a while are cut. A
 * connection that has not yet carried a request is waited for up to the headers timeout: its
 * client is sending a first request, which (unlike a reused keep-alive connection) no client
 * retries, and on a loaded machine it may take longer than QUIET_MS to be read. The process also
 * outlives its last connection briefly: node:cluster may be handing it one, which it must live to
 * refuse, or that client hangs.
 *
 * FastCGI has no `connection: close`; its equivalent is closing a kept-alive connection right
 * after END_REQUEST, which nginx notices before it reuses the connection (and a request it did
 * send on a connection closed under it is one nginx retries, as for a cached connection).
 */
import type { Server as HttpServer } from "node:http";
import type { Server, Socket } from "node:net";

const QUIET_MS = 250;
const EXIT_GRACE_MS = 300;

interface State {
  busy: number;
  last: number;
  /** Whether a request has started on it yet. */
  used: boolean;
}

export class ConnectionDrain {
  #servers: Server[] = [];
  #open = new Set<Socket>();
  #state = new WeakMap<Socket, State>();
  #lastConnection = 0;
  #draining = false;
  readonly #firstRequestMs: number;

  /** `firstRequestMs`: how long a connection that never carried a request is waited for. */
  constructor(firstRequestMs: number) {
    this.#firstRequestMs = firstRequestMs;
  }

  /** Counts `server`'s connections (HTTP and FastCGI alike). */
  watch(server: Server): void {
    this.#servers.push(server);
    server.on("connection", (socket: Socket) => {
      this.#lastConnection = Date.now();
      this.#open.add(socket);
      this.#state.set(socket, { busy: 0, last: Date.now(), used: false });
      socket.once("close", () => this.#open.delete(socket));
    });
  }

  /** True once drain() began: every response asks its connection to close after it. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Called by a front end as each request starts and ends (no listener on the hot path). */
  busy(socket: Socket, busy: boolean): void {
    const st = this.#state.get(socket);
    if (st === undefined) return;
    st.busy += busy ? 1 : -1;
    if (busy) st.used = true;
    st.last = Date.now();
  }

  /** Stops accepting; resolves when every connection is gone and the grace period passed. */
  drain(): Promise<void> {
    this.#draining = true;
    this.#lastConnection = Date.now();
    for (const server of this.#servers) {
      // See above: an HTTP server's close() must not cut its idle connections at once.
      if ("closeIdleConnections" in server) (server as HttpServer).closeIdleConnections = () => {};
      server.close();
    }
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        const now = Date.now();
        for (const socket of this.#open) {
          const st = this.#state.get(socket);
          const quietMs = st?.used === false ? this.#firstRequestMs : QUIET_MS;
          if (st === undefined || (st.busy === 0 && now - st.last > quietMs)) socket.destroy();
        }
        if (this.#open.size === 0 && now - this.#lastConnection > EXIT_GRACE_MS) {
          clearInterval(timer);
          resolve();
        }
      }, 50);
    });
  }
}
