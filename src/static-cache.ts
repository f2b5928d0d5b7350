/**
 * Small static files from memory: a per-worker cache in front of static.ts, with each file's
 * bytes, metadata and 200 headers prepared, so a hit makes no file system call (`watch`,
 * `forever`) or one stat (`stat`).
 *
 * Containment holds by construction: bytes enter the cache only from a descriptor that
 * contained-open.ts judged inside public/, and only for a file whose real path is the requested
 * path itself (no symlink on the way; symlinked files are served as before, uncached). A cached
 * entry is therefore always bytes that were inside the site; a name swapped for a symlink
 * leading out afterwards is never read through by the cache, and the next fresh lookup refuses
 * it. What each policy promises about staleness:
 *
 * - `watch`: inotify watches (fs.watch) on the file and every folder from public/ down to it are
 *   made before its bytes are read, and a stat after the read must still name the file opened;
 *   so any change (edit, atomic save, rename, symlink swap, folder moved) is either in the bytes,
 *   or refuses the entry, or queues an event that drops it on the next loop turn: as prompt as
 *   an uncached read, without a debounce. (The file's own watch sees an edit made through a hard
 *   link elsewhere.) Nothing is watched for a request that finds no file.
 * - `stat`: each hit stats the path (follows symlinks) and compares inode, device, size, mtime
 *   and ctime with the fstat the bytes were read under; any difference is a miss. One syscall
 *   per request, the same bargain as the module policy. A file whose stamps are under RACY_MS
 *   (snapshot.ts) old is not cached: a same-tick rewrite of equal size would keep every stamp.
 * - `forever`: never looks again; SIGHUP restarts the workers, which empties it.
 * - `none`, `legacy`: no cache (every request reads the disk, as a CGI server or Apache would).
 *
 * Every policy also drops a site's entries when its generation changes (the owner check). Bounded
 * by MAX_FILE per file, MAX_BYTES and MAX_ENTRIES per worker, least recently used out first.
 */
import fs from "node:fs";
import path from "node:path";
import { SiteboxError } from "./errors.js";
import { readAt } from "./read-at.js";
import { RACY_MS } from "./snapshot.js";
import {
  lookupStatic,
  planStatic,
  sendStatic,
  serveStatic,
  type StaticMeta,
  type StaticRequest,
  type StaticSink,
} from "./static.js";

export const STATIC_CACHE_LIMITS = Object.freeze({
  /** Larger files are read per request (and streamed past static.ts SMALL_FILE). */
  fileBytes: 256 * 1024,
  /** Body bytes plus ENTRY_OVERHEAD per entry, per worker. */
  totalBytes: 16 * 1024 * 1024,
  /** Also bounds the inotify watches a worker holds under `watch`. */
  entries: 2048,
});

/** What an entry costs beyond its body (key, headers, watch bookkeeping), for the bound. */
const ENTRY_OVERHEAD = 1024;

export type StaticCachePolicy = "watch" | "stat" | "forever" | "none" | "legacy";

export interface StaticCacheFigures {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  watches: number;
}

interface Entry {
  readonly key: string;
  /** The generation it was filled under: another one means the site was reloaded. */
  readonly owner: object;
  /** The real path of the file (the requested path: no symlink in it). */
  readonly file: string;
  readonly meta: StaticMeta;
  readonly body: Buffer;
  /** The full 200 answer's head, shared by every hit (never mutated). */
  readonly headers: readonly string[];
  readonly stat: fs.Stats;
  readonly cost: number;
  /** The clock (hits and fills so far) when it last moved to the newest end. */
  moved: number;
  /** `watch`: the watches that drop it, and the child name it is kept under in each. */
  readonly watches: Watch[];
  readonly children: string[];
}

interface Watch {
  readonly path: string;
  readonly watcher: fs.FSWatcher;
  /** A folder's entries by the child name their path goes through; a file's own under "". */
  readonly byChild: Map<string, Set<Entry>>;
}

export class StaticCache {
  readonly #policy: StaticCachePolicy;
  readonly #enabled: boolean;
  readonly #entries = new Map<string, Entry>();
  readonly #watches = new Map<string, Watch>();
  #bytes = 0;
  #clock = 0;
  #hits = 0;
  #misses = 0;

  constructor(policy: StaticCachePolicy) {
    this.#policy = policy;
    this.#enabled = policy === "watch" || policy === "stat" || policy === "forever";
  }

  figures(): StaticCacheFigures {
    return {
      entries: this.#entries.size,
      bytes: this.#bytes,
      hits: this.#hits,
      misses: this.#misses,
      watches: this.#watches.size,
    };
  }

  /**
   * serveStatic (static.ts) through the cache: answers a GET or HEAD for `relPath` under
   * `publicRoot` (the site's generation `owner`), or returns false when there is no such file.
   */
  serve(
    req: StaticRequest,
    out: StaticSink,
    publicRoot: string,
    relPath: string,
    owner: object,
  ): boolean {
    if (!this.#enabled) return serveStatic(req, out, publicRoot, relPath);
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const key = publicRoot + "\0" + relPath;
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      if (hit.owner === owner && this.#fresh(hit)) {
        this.#hits++;
        // Least recently used first: a hit in the older half moves to the end (the newer half
        // is never evicted before it, so moving those would only cost).
        if (++this.#clock - hit.moved > this.#entries.size >> 1) {
          hit.moved = this.#clock;
          this.#entries.delete(key);
          this.#entries.set(key, hit);
        }
        send(hit.meta, hit.headers, hit.body, req, out);
        return true;
      }
      this.#drop(hit);
    }
    this.#misses++;
    return this.#fill(req, out, publicRoot, relPath, key, owner);
  }

  /** `stat`: the path still names the very file the bytes came from, unchanged. */
  #fresh(e: Entry): boolean {
    if (this.#policy !== "stat") return true;
    const now = fs.statSync(e.file, { throwIfNoEntry: false });
    return now !== undefined && sameFile(now, e.stat);
  }

  #fill(
    req: StaticRequest,
    out: StaticSink,
    publicRoot: string,
    relPath: string,
    key: string,
    owner: object,
  ): boolean {
    const file = lookupStatic(publicRoot, relPath);
    if (file === null) return false;
    const asked = path.join(publicRoot, relPath);
    const size = file.meta.size;
    let watches: Watch[] = [];
    // Not for the cache (too large, symlinked, just written): answered as without one.
    const uncached = () => {
      this.#release(watches);
      sendStatic(req, out, file);
      return true;
    };
    if (size > STATIC_CACHE_LIMITS.fileBytes) return uncached();
    if (file.real !== asked && file.real !== path.join(asked, "index.html")) return uncached();
    if (this.#policy === "stat" && racy(file.stat)) return uncached();
    if (this.#policy === "watch") {
      // Watches before the bytes are read: a change from here on is an event that drops the
      // entry; one since the open is in the bytes read below, or fails the stat after them.
      watches = this.#watchPath(publicRoot, file.real);
      if (watches.length === 0) return uncached();
    }
    const body = Buffer.allocUnsafeSlow(size);
    let n: number;
    try {
      n = readAt(file.fd, body, 0, size, 0);
    } catch {
      n = -1; // a read error: as a file that shrank
    }
    if (n !== size) {
      this.#release(watches);
      fs.closeSync(file.fd);
      throw new SiteboxError("ERR_UNAVAILABLE", "file shrank while read");
    }
    fs.closeSync(file.fd);
    if (this.#policy === "watch") {
      const now = fs.statSync(file.real, { throwIfNoEntry: false });
      if (now === undefined || !sameFile(now, file.stat)) {
        this.#release(watches);
        send(file.meta, null, body, req, out);
        return true;
      }
    }
    const e: Entry = {
      key,
      owner,
      file: file.real,
      meta: file.meta,
      body,
      headers: planStatic(file.meta, { method: "GET", header: () => undefined }).headers,
      stat: file.stat,
      cost: size + ENTRY_OVERHEAD + key.length,
      moved: ++this.#clock,
      watches,
      children: watches.map((w) => (w.path === file.real ? "" : childOf(w.path, file.real))),
    };
    for (let i = 0; i < watches.length; i++) {
      const w = watches[i]!;
      let set = w.byChild.get(e.children[i]!);
      if (set === undefined) w.byChild.set(e.children[i]!, (set = new Set()));
      set.add(e);
    }
    this.#entries.set(key, e);
    this.#bytes += e.cost;
    this.#evict();
    send(e.meta, e.headers, e.body, req, out);
    return true;
  }

  /** Watches on public/, each folder below it down to the file, and the file itself. */
  #watchPath(publicRoot: string, real: string): Watch[] {
    const out: Watch[] = [];
    let p = publicRoot;
    const chain = [publicRoot];
    for (const part of real.slice(publicRoot.length + 1).split("/")) chain.push((p += "/" + part));
    for (const link of chain) {
      const w = this.#watch(link);
      if (w === null) {
        this.#release(out);
        return [];
      }
      out.push(w);
    }
    return out;
  }

  #watch(p: string): Watch | null {
    const have = this.#watches.get(p);
    if (have !== undefined) return have;
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(p, { persistent: false });
    } catch {
      return null; // gone already
    }
    const w: Watch = { path: p, watcher, byChild: new Map() };
    const base = path.basename(p);
    watcher.on("change", (event, name) => {
      const child = typeof name === "string" ? name : null;
      // A folder moved or removed itself, or no name given: everything through it goes.
      if (child === null || (event === "rename" && child === base)) return this.#dropAll(w);
      // Entries through that child, and the file's own entry (its events name the file).
      for (const c of [child, ""]) {
        const set = w.byChild.get(c);
        if (set !== undefined) for (const e of [...set]) this.#drop(e);
      }
    });
    watcher.on("error", () => this.#dropAll(w));
    this.#watches.set(p, w);
    return w;
  }

  #dropAll(w: Watch): void {
    for (const set of [...w.byChild.values()]) for (const e of [...set]) this.#drop(e);
    this.#close(w);
  }

  /** Watches made for an entry that was not cached after all: close those nobody else uses. */
  #release(watches: Watch[]): void {
    for (const w of watches) if (w.byChild.size === 0) this.#close(w);
  }

  #close(w: Watch): void {
    if (this.#watches.get(w.path) !== w) return;
    this.#watches.delete(w.path);
    w.watcher.close();
  }

  #drop(e: Entry): void {
    if (this.#entries.get(e.key) !== e) return;
    this.#entries.delete(e.key);
    this.#bytes -= e.cost;
    for (let i = 0; i < e.watches.length; i++) {
      const w = e.watches[i]!;
      const set = w.byChild.get(e.children[i]!);
      set?.delete(e);
      if (set?.size === 0) w.byChild.delete(e.children[i]!);
      if (w.byChild.size === 0) this.#close(w);
    }
  }

  #evict(): void {
    for (const e of this.#entries.values()) {
      if (this.#bytes <= STATIC_CACHE_LIMITS.totalBytes) {
        if (this.#entries.size <= STATIC_CACHE_LIMITS.entries) return;
      }
      this.#drop(e);
    }
  }
}

/**
 * The prepared head and body for a plain GET or HEAD (`headers`, when given), else the pure plan
 * (conditional requests, ranges) over the bytes in memory.
 */
function send(
  meta: StaticMeta,
  headers: readonly string[] | null,
  body: Buffer,
  req: StaticRequest,
  out: StaticSink,
): void {
  if (
    headers !== null &&
    req.header("range") === undefined &&
    req.header("if-none-match") === undefined &&
    req.header("if-modified-since") === undefined
  ) {
    out.head(200, headers as string[]);
    out.end(body); // the exchange drops it for HEAD
    return;
  }
  const plan = planStatic(meta, req);
  out.head(plan.status, plan.headers);
  if (plan.length === 0) out.end();
  else out.end(body.subarray(plan.start, plan.start + plan.length));
}

/** The folder below `dir` that `file`'s path goes through (its own name for a direct child). */
function childOf(dir: string, file: string): string {
  const rest = file.slice(dir.length + 1);
  const slash = rest.indexOf("/");
  return slash === -1 ? rest : rest.slice(0, slash);
}

function sameFile(a: fs.Stats, b: fs.Stats): boolean {
  return (
    a.ino === b.ino &&
    a.dev === b.dev &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs
  );
}

function racy(st: fs.Stats): boolean {
  return Math.max(st.mtimeMs, st.ctimeMs) > Date.now() - RACY_MS;
}
