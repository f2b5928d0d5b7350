/**
 * A sandbox's timers on the host side (pure: times are passed in). The sandbox runs all of them
 * from one Node timer, armed for the earliest due, and fires the due ones in one crossing per
 * owner: 5,000 intervals cost one call per tick, not 5,000. Each timer has an owner, the request
 * (or module load) it was set for, so a request's timers can be counted and ended with it.
 * Intervals are re-armed here, after their callback ran, unless it cleared them.
 */
export interface DueTimer {
  id: number;
  owner: number;
}

interface Timer {
  owner: number;
  ms: number;
  repeat: boolean;
  due: number;
  /** Bumped on each arming: a heap entry with an older one is stale. */
  seq: number;
}

export class TimerQueue {
  readonly #byId = new Map<number, Timer>();
  readonly #byOwner = new Map<number, Set<number>>();
  /** Min-heap of [due, seq, id]; cleared or re-armed timers leave stale entries, skipped. */
  #heap: [number, number, number][] = [];
  #seq = 0;

  get size(): number {
    return this.#byId.size;
  }

  countOf(owner: number): number {
    return this.#byOwner.get(owner)?.size ?? 0;
  }

  add(id: number, owner: number, ms: number, repeat: boolean, now: number): void {
    const t: Timer = { owner, ms, repeat, due: 0, seq: 0 };
    this.#byId.set(id, t);
    let set = this.#byOwner.get(owner);
    if (set === undefined) this.#byOwner.set(owner, (set = new Set()));
    set.add(id);
    this.#arm(id, t, now);
  }

  delete(id: number): void {
    const t = this.#byId.get(id);
    if (t === undefined) return;
    this.#byId.delete(id);
    const set = this.#byOwner.get(t.owner)!;
    set.delete(id);
    if (set.size === 0) this.#byOwner.delete(t.owner);
    this.#compact();
  }

  /** Removes every timer of `owner`; returns their ids. */
  dropOwner(owner: number): number[] {
    const set = this.#byOwner.get(owner);
    if (set === undefined) return [];
    const ids = [...set];
    for (const id of ids) this.#byId.delete(id);
    this.#byOwner.delete(owner);
    this.#compact();
    return ids;
  }

  clear(): void {
    this.#byId.clear();
    this.#byOwner.clear();
    this.#heap = [];
  }

  /** When the earliest timer is due, or Infinity. */
  nextDue(): number {
    this.#dropStale();
    return this.#heap.length === 0 ? Infinity : this.#heap[0]![0];
  }

  /**
   * Takes up to `max` timers due by `now`, in due order. They stay registered (so clearing one
   * inside its own callback works) until `fired` re-arms the intervals and forgets the rest.
   */
  takeDue(now: number, max: number): DueTimer[] {
    const out: DueTimer[] = [];
    while (out.length < max) {
      this.#dropStale();
      const top = this.#heap[0];
      if (top === undefined || top[0] > now) break;
      this.#pop();
      const t = this.#byId.get(top[2])!;
      t.seq = -1; // firing: no heap entry until `fired`
      out.push({ id: top[2], owner: t.owner });
    }
    return out;
  }

  /** After the callbacks of `ids` ran: intervals still registered are armed again. */
  fired(ids: readonly number[], now: number): void {
    for (const id of ids) {
      const t = this.#byId.get(id);
      if (t === undefined || t.seq !== -1) continue;
      if (t.repeat) this.#arm(id, t, now);
      else this.delete(id);
    }
  }

  #arm(id: number, t: Timer, now: number): void {
    t.due = now + t.ms;
    t.seq = ++this.#seq;
    this.#push([t.due, t.seq, id]);
  }

  /** Cleared timers leave their heap entries behind: rebuild once they outnumber the live. */
  #compact(): void {
    if (this.#heap.length < 64 || this.#heap.length < 2 * this.#byId.size) return;
    const live = this.#heap.filter(([, seq, id]) => this.#byId.get(id)?.seq === seq);
    this.#heap = live.sort((a, b) => (less(a, b) ? -1 : 1)); // a sorted array is a heap
  }

  #dropStale(): void {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined) return;
      const t = this.#byId.get(top[2]);
      if (t !== undefined && t.seq === top[1]) return;
      this.#pop();
    }
  }

  #push(e: [number, number, number]): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l]!, h[m]!)) m = l;
      if (r < h.length && less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

/** Earlier due first; among equal dues, the one armed first (as Node orders them). */
const less = (a: [number, number, number], b: [number, number, number]) =>
  a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
