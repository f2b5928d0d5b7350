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
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

const QUIET_MS = 250;
const EXIT_GRACE_MS = 300;

interface State {
  busy: number;
  last: number;
  /** Whether a request has started on it yet. */
  used: boolean;
}

export class ConnectionDrain {
  #open = new Set<Socket>();
  #state = new WeakMap<Socket, State>();
  #lastConnection = 0;
  #draining = false;

  constructor(
    server: Server,
    private readonly firstRequestMs: number,
  ) {
    server.on("connection", (socket: Socket) => {
      this.#lastConnection = Date.now();
      this.#open.add(socket);
      this.#state.set(socket, { busy: 0, last: Date.now(), used: false });
      socket.once("close", () => this.#open.delete(socket));
    });
  }

  /** Called by the server as each request starts (no listener of our own on the hot path). */
  requestStarted(req: IncomingMessage, res: ServerResponse): void {
    const st = this.#state.get(req.socket);
    if (st !== undefined) {
      st.busy++;
      st.used = true;
      st.last = Date.now();
    }
    if (this.#draining) res.setHeader("connection", "close");
  }

  requestEnded(req: IncomingMessage): void {
    const st = this.#state.get(req.socket);
    if (st !== undefined) {
      st.busy--;
      st.last = Date.now();
    }
  }

  /** Stops accepting; resolves when every connection is gone and the grace period passed. */
  drain(server: Server): Promise<void> {
    this.#draining = true;
    this.#lastConnection = Date.now();
    server.closeIdleConnections = () => {}; // see above: close() must not cut them at once
    server.close();
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        const now = Date.now();
        for (const socket of this.#open) {
          const st = this.#state.get(socket);
          const quietMs = st?.used === false ? this.firstRequestMs : QUIET_MS;
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
