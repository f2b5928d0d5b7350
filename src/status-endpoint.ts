/**
 * /.sitebox/status and /.sitebox/status.json in a worker: the figures come from the primary,
 * which gathers every worker's; loopback clients only unless --status-allow names the address.
 */
import type { Config } from "./config.js";
import { health, HEALTH_PATH } from "./health.js";
import type { PlainReply } from "./pipeline.js";
import { aggregateSites, renderStatusHtml, type StatusSnapshot } from "./status.js";

/** The page is self-contained: inline style, no script, no external asset, not framable. */
const HTML_HEADERS = [
  "content-type",
  "text/html; charset=utf-8",
  "cache-control",
  "no-store",
  "content-security-policy",
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options",
  "nosniff",
  "referrer-policy",
  "no-referrer",
];
const JSON_HEADERS = [
  "content-type",
  "application/json; charset=utf-8",
  "cache-control",
  "no-store",
  "x-content-type-options",
  "nosniff",
];
const TEXT_HEADERS = ["content-type", "text/plain; charset=utf-8"];
const HEALTH_HEADERS = ["content-type", "application/json", "cache-control", "no-store"];

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

  /**
   * The answer for a status path, or null when `path` is not one (the pipeline routes it on).
   * The pipeline writes it, so it is logged and counted like any other response.
   */
  answer(path: string, clientAddress: string): Promise<PlainReply> | null {
    if (path === HEALTH_PATH) {
      const { status, body } = health.answer();
      return Promise.resolve({ status, headers: HEALTH_HEADERS, body });
    }
    if (path !== "/.sitebox/status" && path !== "/.sitebox/status.json") return null;
    if (
      !LOOPBACK.test(clientAddress) &&
      !this.#config.statusAllow.includes(clientAddress.replace(/^::ffff:/, ""))
    )
      return Promise.resolve({ status: 403, headers: TEXT_HEADERS, body: "Forbidden\n" });
    return new Promise((resolve) => {
      const reqId = this.#next++;
      const timer = setTimeout(() => this.settle(reqId, null), 3000);
      this.#waiting.set(reqId, (snap) => {
        clearTimeout(timer);
        if (snap === null)
          resolve({ status: 503, headers: TEXT_HEADERS, body: "status unavailable\n" });
        else if (path.endsWith(".json")) {
          // The snapshot as the primary sent it, plus the per-site aggregate the HTML shows.
          const body = JSON.stringify({ ...snap, sites: aggregateSites(snap) }, null, 2);
          resolve({ status: 200, headers: JSON_HEADERS, body });
        } else resolve({ status: 200, headers: HTML_HEADERS, body: renderStatusHtml(snap) });
      });
      this.#ask(reqId);
    });
  }

  settle(reqId: number, snapshot: unknown): void {
    const done = this.#waiting.get(reqId);
    if (done === undefined) return;
    this.#waiting.delete(reqId);
    done(snapshot as StatusSnapshot | null);
  }
}
