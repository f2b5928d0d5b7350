/**
 * A site's circuit breaker, per worker (pure: times are passed in). Every limit hit (CPU or
 * memory) holds the worker for up to `--timeout` before the sandbox is abandoned, and the other
 * sites' requests wait behind it. A site whose requests keep hitting limits is therefore answered
 * 503 at once, with Retry-After, for a cool-down: when hits in a row (no answer from the site's
 * code in between) have cost 2 x `--timeout`, or hits have taken half of the last 10 s whatever
 * else it answered. After a cool-down, one more hit within 30 s trips it again, for twice as long
 * (up to 5 minutes).
 */
export const COOL_DOWN_MS = 5000;
const MAX_COOL_DOWN_MS = 5 * 60_000;
const STREAK_TIMEOUTS = 2;
const WINDOW_MS = 10_000;
const WINDOW_SHARE = 0.5;
const PROBATION_MS = 30_000;

export interface Trip {
  /** Why, in words for the log. */
  reason: string;
  coolDownMs: number;
}

export class Breaker {
  #streakKills = 0;
  #streakMs = 0;
  #recent: { at: number; ms: number }[] = [];
  #openUntil = 0;
  #probationUntil = 0;
  #nextCoolDownMs = COOL_DOWN_MS;

  /** The site's code produced a response: a streak of limit hits is broken. */
  answer(): void {
    this.#streakKills = 0;
    this.#streakMs = 0;
  }

  /** A limit hit that held the worker `costMs`; returns the trip it causes, if any. */
  kill(costMs: number, timeoutMs: number, now: number): Trip | null {
    this.#streakKills++;
    this.#streakMs += costMs;
    this.#recent.push({ at: now, ms: costMs });
    while (this.#recent[0]!.at < now - WINDOW_MS) this.#recent.shift();
    if (now < this.#openUntil) return null; // hits already under way when it tripped
    const windowMs = this.#recent.reduce((n, r) => n + r.ms, 0);
    let reason: string | null = null;
    if (now < this.#probationUntil) reason = "a request hit a limit again after a cool-down";
    else {
      this.#nextCoolDownMs = COOL_DOWN_MS;
      if (this.#streakMs >= STREAK_TIMEOUTS * timeoutMs)
        reason =
          `${this.#streakKills} requests in a row hit a limit ` +
          `(${Math.round(this.#streakMs)} ms of site code)`;
      else if (windowMs >= WINDOW_SHARE * WINDOW_MS)
        reason = `limit hits took ${Math.round(windowMs)} ms of the last ${WINDOW_MS / 1000} s`;
    }
    if (reason === null) return null;
    const coolDownMs = this.#nextCoolDownMs;
    this.#nextCoolDownMs = Math.min(MAX_COOL_DOWN_MS, coolDownMs * 2);
    this.#openUntil = now + coolDownMs;
    this.#probationUntil = this.#openUntil + PROBATION_MS;
    this.answer();
    this.#recent = [];
    return { reason, coolDownMs };
  }

  /** ms of cool-down left (0: the site's requests may run). */
  refusing(now: number): number {
    return now < this.#openUntil ? this.#openUntil - now : 0;
  }
}
