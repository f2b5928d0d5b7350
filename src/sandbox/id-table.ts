/**
 * Values by non-negative integer id: the tables a sandbox keeps per request in flight.
 *
 * Not a Map, for the garbage collector's sake. When a Map outgrows its hash table, V8 links the
 * old table to the new one (for live iterators) and leaves the old one's entries in place. A
 * Map that churns (an entry set and deleted per request) replaces its table every few requests;
 * once one table has reached the old generation, it keeps its successor alive through every
 * scavenge, that one the next, and each table what it held, until the next full collection.
 * With a turn's worth of requests in flight at each replacement, that promoted every request's
 * objects: under load ~1.2 MB per scavenge, which then took 3.6 ms instead of 0.9 (README
 * "Where the time goes"). These two arrays are only replaced when the table grows.
 *
 * Open addressing with linear probing, at most half full; a delete shifts the rest of its probe
 * run back, so there are no tombstones and a lookup stops at the first empty slot.
 */
const EMPTY = -1;

export class IdTable<T> {
  #ids: number[] = new Array<number>(8).fill(EMPTY);
  #values: (T | undefined)[] = new Array<T | undefined>(8).fill(undefined);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(id: number): T | undefined {
    const ids = this.#ids;
    const mask = ids.length - 1;
    for (let i = id & mask; ; i = (i + 1) & mask) {
      const at = ids[i]!;
      if (at === id) return this.#values[i];
      if (at === EMPTY) return undefined;
    }
  }

  set(id: number, value: T): void {
    if ((this.#size + 1) * 2 > this.#ids.length) this.#grow();
    const ids = this.#ids;
    const mask = ids.length - 1;
    let i = id & mask;
    while (ids[i] !== EMPTY && ids[i] !== id) i = (i + 1) & mask;
    if (ids[i] === EMPTY) {
      ids[i] = id;
      this.#size++;
    }
    this.#values[i] = value;
  }

  /** Removes `id`; true if it was there. */
  delete(id: number): boolean {
    const ids = this.#ids;
    const values = this.#values;
    const mask = ids.length - 1;
    let hole = id & mask;
    while (ids[hole] !== id) {
      if (ids[hole] === EMPTY) return false;
      hole = (hole + 1) & mask;
    }
    // Each later entry of the run that may sit at the hole (its home slot is not between the
    // hole and where it is) moves into it, so no lookup meets an empty slot before its id.
    for (let j = (hole + 1) & mask; ids[j] !== EMPTY; j = (j + 1) & mask) {
      const home = ids[j]! & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        ids[hole] = ids[j]!;
        values[hole] = values[j];
        hole = j;
      }
    }
    ids[hole] = EMPTY;
    values[hole] = undefined;
    this.#size--;
    return true;
  }

  /** A copy of the entries, in no particular order: callers may delete while they go. */
  entries(): [number, T][] {
    const out: [number, T][] = [];
    for (let i = 0; i < this.#ids.length; i++)
      if (this.#ids[i] !== EMPTY) out.push([this.#ids[i]!, this.#values[i]!]);
    return out;
  }

  values(): T[] {
    return this.entries().map((e) => e[1]);
  }

  /** Some value in the table (the only one, when size is 1), without copying. */
  any(): T | undefined {
    for (let i = 0; i < this.#ids.length; i++) if (this.#ids[i] !== EMPTY) return this.#values[i];
    return undefined;
  }

  clear(): void {
    this.#ids = new Array<number>(8).fill(EMPTY);
    this.#values = new Array<T | undefined>(8).fill(undefined);
    this.#size = 0;
  }

  #grow(): void {
    const old = this.entries();
    const capacity = this.#ids.length * 2;
    this.#ids = new Array<number>(capacity).fill(EMPTY);
    this.#values = new Array<T | undefined>(capacity).fill(undefined);
    this.#size = 0;
    for (const [id, value] of old) this.set(id, value);
  }
}
