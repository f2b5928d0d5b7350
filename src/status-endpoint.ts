/**
 * /.sitebox/status and /.sitebox/status.json in a worker: the figures come from the primary,
 * which gathers every worker's; loopback clients only unless --status-allow names the address.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Config } from "./config.js";
import { health, HEALTH_PATH } from "./health.js";
import { aggregateSites, renderStatusHtml, type StatusSnapshot } from "./status.js";

/** The page is self-contained: inline style, no script, no external asset, not framable. */
const HTML_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export class StatusEndpoint {
  #config: Config;
  #ask: (reqId: number) => void;
  #next = 1;
  #waiting = new Map<number, (s: StatusSnapshot | null) => void>();

  constructor(config: Config, ask: (reqId: number) => void) {
    this.#config = config;
    this.#ask = ask;
  }

  /** True when the path is a status path (answered, possibly with 403/404). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? "").split("?")[0];
    if (path === HEALTH_PATH) return health.respond(res);
    if (path !== "/.sitebox/status" && path !== "/.sitebox/status.json") return false;
    const addr = req.socket.remoteAddress ?? "";
    if (!LOOPBACK.test(addr) && !this.#config.statusAllow.includes(addr.replace(/^::ffff:/, ""))) {
      res.writeHead(403, { "content-type": "text/plain; charset=utf-8" }).end("Forbidden\n");
      return true;
    }
    const reqId = this.#next++;
    const timer = setTimeout(() => this.settle(reqId, null), 3000);
    this.#waiting.set(reqId, (snap) => {
      clearTimeout(timer);
      if (res.destroyed) return;
      if (snap === null) {
        res
          .writeHead(503, { "content-type": "text/plain; charset=utf-8" })
          .end("status unavailable\n");
      } else if (path.endsWith(".json")) {
        // The snapshot as the primary sent it, plus the per-site aggregate the HTML shows.
        const body = JSON.stringify({ ...snap, sites: aggregateSites(snap) }, null, 2);
        res
          .writeHead(200, {
            "content-type": "application/json; charset=utf-8",
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
          })
          .end(body);
      } else {
        res.writeHead(200, HTML_HEADERS).end(renderStatusHtml(snap));
      }
    });
    this.#ask(reqId);
    return true;
  }

  settle(reqId: number, snapshot: unknown): void {
    const done = this.#waiting.get(reqId);
    if (done === undefined) return;
    this.#waiting.delete(reqId);
    done(snapshot as StatusSnapshot | null);
  }
}
