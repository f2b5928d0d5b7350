/**
 * Response bytes waiting in a worker for clients that read slowly or not at all: bounded per
 * worker and per site, so that one site answering big bodies to clients that never read cannot
 * take the worker's memory (or the other sites' share of it). Pure counting; the exchange
 * reports what its front end holds (`ResponseWriter.buffered`) after every write and at close.
 *
 * A body whose bytes are all in memory before it is sent (a text or binary answer) is admitted
 * only if it fits; streams and files are pulled as the socket drains, so they hold at most one
 * high-water mark plus one chunk each. Small bodies are always admitted: they are bounded by the
 * number of connections, and refusing them would fail a healthy site for another site's doing.
 */
const MiB = 1024 * 1024;

/** Per worker: response bytes held for slow clients before big bodies get 503. */
export const WORKER_RESPONSE_BYTES = 64 * MiB;
/** Per site: half the worker's, so one site cannot take it all. */
export const SITE_RESPONSE_BYTES = 32 * MiB;
/** Bodies up to this size are always admitted (and still counted). */
export const ALWAYS_ADMITTED_BYTES = 64 * 1024;

export class ResponseBudget {
  #worker = 0;
  readonly #sites = new Map<string, number>();

  /** Bytes held now in the worker, and for `site`. */
  held(site?: string): number {
    return site === undefined ? this.#worker : (this.#sites.get(site) ?? 0);
  }

  /**
   * Null when a body of `bytes` may be queued for `site`, else the sentence for the log. Something
   * must already be held for a bound to refuse: a lone body larger than the bound still goes (it
   * is bounded by the site's --memory, where it was made).
   */
  refusal(site: string, bytes: number): string | null {
    if (bytes <= ALWAYS_ADMITTED_BYTES) return null;
    const siteHeld = this.#sites.get(site) ?? 0;
    if (siteHeld > 0 && siteHeld + bytes > SITE_RESPONSE_BYTES)
      return (
        `response of ${bytes} bytes refused: the site already holds ${siteHeld} bytes for ` +
        `clients that read slowly (bound ${SITE_RESPONSE_BYTES / MiB} MiB per site)`
      );
    if (this.#worker > 0 && this.#worker + bytes > WORKER_RESPONSE_BYTES)
      return (
        `response of ${bytes} bytes refused: the worker already holds ${this.#worker} bytes for ` +
        `clients that read slowly (bound ${WORKER_RESPONSE_BYTES / MiB} MiB per worker)`
      );
    return null;
  }

  /** `site` holds `delta` more bytes (or fewer, when negative). */
  move(site: string, delta: number): void {
    if (delta === 0) return;
    this.#worker += delta;
    const now = (this.#sites.get(site) ?? 0) + delta;
    if (now === 0) this.#sites.delete(site);
    else this.#sites.set(site, now);
  }
}
