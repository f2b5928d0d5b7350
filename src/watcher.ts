/**
 * `--cache watch`: file events in the primary. Events are hints, the disk is the truth: an event
 * only names the site, which is re-read after a short quiet window, so an editor's atomic save
 * (unlink + add), a burst of writes or a deploy of many files becomes one generation.
 *
 * One shallow watcher on the sites folder sees sites come and go; each site the primary has read
 * gets its own watcher on the folder it was read from, over the very tree the snapshot walks
 * (snapshot.ts: no symlinked folders, no public/, bounded depth), and is dropped if the site
 * grows past the snapshot's bound. Watches are made for a folder, not a path: `verify()` (on a
 * timer, and on every event about a site folder) re-creates any watch whose folder was removed,
 * replaced or renamed over, the sites folder's included. Whatever the events still miss, the
 * primary's periodic re-scan catches (generations.ts `rescan`).
 */
import { watch, type FSWatcher } from "chokidar";
import { realpathSync, statSync } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { Log } from "./log.js";
import { isSkipped, WALK_LIMITS } from "./snapshot.js";

export interface WatchHooks {
  /** Something under the site changed (or the site folder itself): re-read it. */
  onSite(site: string): void;
  /** A site folder appeared, vanished or was replaced: workers re-list the sites folder. */
  onSitesList(): void;
}

interface SiteWatch {
  root: string;
  /** The folder's inode when the watch was made: a folder replaced at the same path differs. */
  ino: bigint;
  watcher: FSWatcher;
  /** Entries chokidar added since the watch was made: past the walk's bound, the watch goes. */
  adds: number;
}

/** At most this long between the first event of a burst and the re-read, however busy. */
const MAX_WAIT_FACTOR = 20;

export class SitesWatcher {
  readonly #sitesDir: string;
  readonly #debounceMs: number;
  readonly #log: Log;
  readonly #hooks: WatchHooks;
  readonly #timers = new Map<string, { timer: NodeJS.Timeout; first: number }>();
  readonly #sites = new Map<string, SiteWatch>();
  /** Real target of each symlinked site folder, to notice a flipped release. */
  readonly #links = new Map<string, string>();
  #top: { watcher: FSWatcher; ino: bigint } | null = null;
  /** The sites folder's stamp at the last look: any entry added, removed or renamed moves it. */
  #topStamp = "";
  #ticker: NodeJS.Timeout;
  #closed = false;

  constructor(sitesDir: string, debounceMs: number, log: Log, hooks: WatchHooks) {
    this.#sitesDir = sitesDir;
    this.#debounceMs = debounceMs;
    this.#log = log;
    this.#hooks = hooks;
    void this.#watchTop();
    this.#ticker = setInterval(() => void this.#tick(), 200);
    this.#ticker.unref();
  }

  /**
   * Every 200 ms, one stat of the sites folder: if an entry came, went or was renamed over (with
   * or without an event), every watch is verified. And since chokidar follows no symlink,
   * re-resolving each symlinked site folder catches a flipped release.
   */
  async #tick(): Promise<void> {
    const st = await stat(this.#sitesDir, { bigint: true }).catch(() => null);
    const stamp = st === null ? "" : `${st.ino}:${st.mtimeNs}:${st.ctimeNs}`;
    if (stamp !== this.#topStamp) {
      const first = this.#topStamp === "";
      this.#topStamp = stamp;
      if (!first) {
        this.#hooks.onSitesList();
        await this.verify();
      }
    }
    await this.#checkLinks();
  }

  /** The primary read `site` from `root` (inode `ino`): watch that folder's tree. */
  track(site: string, root: string, ino: bigint): void {
    if (this.#closed) return;
    const have = this.#sites.get(site);
    if (have !== undefined && have.root === root && have.ino === ino) {
      have.adds = 0; // the read just proved the tree within bounds: count from here
      return;
    }
    if (have !== undefined) void have.watcher.close();
    const w: SiteWatch = { root, ino, adds: 0, watcher: null as unknown as FSWatcher };
    w.watcher = watch(root, {
      ignoreInitial: true,
      followSymlinks: false,
      atomic: false,
      depth: WALK_LIMITS.depth,
      ignored: (path: string) => {
        const rel = relative(root, path);
        if (rel === "" || rel.startsWith("..")) return false;
        const parts = rel.split(sep);
        return parts.some((name, i) => isSkipped(name, parts.slice(0, i).join("/")));
      },
    });
    w.watcher.on("all", (event) => {
      if ((event === "add" || event === "addDir") && ++w.adds > WALK_LIMITS.entries) {
        // The site outgrew what a snapshot may hold: stop watching its tree; the re-read
        // reports the bound, and the re-scan notices when it is back within it.
        this.untrack(site);
      }
      this.#poke(site);
    });
    w.watcher.on("error", (err) => this.#log.error({ site }, `watcher: ${(err as Error).message}`));
    this.#sites.set(site, w);
  }

  /** The site could not be read (gone, too big): nothing of it is watched. */
  untrack(site: string): void {
    const w = this.#sites.get(site);
    if (w === undefined) return;
    this.#sites.delete(site);
    void w.watcher.close();
  }

  /**
   * Re-checks that each watch still sees the folder it was made for; pokes every site whose
   * folder is gone or is another folder now (the re-read then tracks the new one).
   */
  async verify(): Promise<void> {
    if (this.#closed) return;
    const top = await stat(this.#sitesDir, { bigint: true }).catch(() => null);
    if (top !== null && this.#top !== null && top.ino !== this.#top.ino) {
      this.#log.info(`${this.#sitesDir} was replaced: watching the new folder`);
      await this.#watchTop();
      this.#hooks.onSitesList();
    }
    for (const site of [...this.#sites.keys()]) this.#verifySite(site);
  }

  /** Synchronous: two syscalls of a few µs each, where the async forms cost ~30 µs. */
  #verifySite(site: string): void {
    const w = this.#sites.get(site);
    if (w === undefined) return;
    const dir = join(this.#sitesDir, site);
    let same = false;
    try {
      same = realpathSync.native(dir) === w.root && statSync(dir, { bigint: true }).ino === w.ino;
    } catch {
      // gone
    }
    if (same) return;
    this.untrack(site);
    this.#hooks.onSitesList();
    this.#poke(site);
  }

  async #watchTop(): Promise<void> {
    const old = this.#top;
    const st = await stat(this.#sitesDir, { bigint: true }).catch(() => null);
    if (this.#closed || st === null) return;
    const watcher = watch(this.#sitesDir, {
      ignoreInitial: true,
      followSymlinks: false,
      atomic: false,
      depth: 0,
    });
    watcher.on("all", (event, path) => {
      const rel = relative(this.#sitesDir, path);
      if (rel === "" || rel.startsWith("..") || rel.includes(sep)) return;
      if (event === "addDir" || event === "unlinkDir" || event === "add" || event === "unlink")
        this.#hooks.onSitesList();
      this.#verifySite(rel);
      this.#poke(rel);
    });
    watcher.on("error", (err) => this.#log.error({}, `watcher: ${(err as Error).message}`));
    this.#top = { watcher, ino: st.ino };
    if (old !== null) await old.watcher.close();
  }

  async #checkLinks(): Promise<void> {
    try {
      for (const entry of await readdir(this.#sitesDir, { withFileTypes: true })) {
        if (!entry.isSymbolicLink()) continue;
        const real = await realpath(join(this.#sitesDir, entry.name)).catch(() => "");
        const before = this.#links.get(entry.name);
        this.#links.set(entry.name, real);
        if (before !== undefined && before !== real) {
          this.#hooks.onSitesList();
          this.#poke(entry.name);
        }
      }
    } catch {
      // the sites folder itself vanished: nothing to re-resolve until it is back
    }
  }

  /** Debounced per site, but never held off longer than MAX_WAIT_FACTOR quiet windows. */
  #poke(site: string): void {
    if (this.#closed) return;
    const now = Date.now();
    const have = this.#timers.get(site);
    const first = have?.first ?? now;
    clearTimeout(have?.timer);
    const wait = Math.min(this.#debounceMs, first + this.#debounceMs * MAX_WAIT_FACTOR - now);
    const timer = setTimeout(
      () => {
        this.#timers.delete(site);
        this.#hooks.onSite(site);
      },
      Math.max(0, wait),
    );
    this.#timers.set(site, { timer, first });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#ticker);
    for (const t of this.#timers.values()) clearTimeout(t.timer);
    const all = [...this.#sites.values()].map((w) => w.watcher);
    if (this.#top !== null) all.push(this.#top.watcher);
    this.#sites.clear();
    await Promise.all(all.map((w) => w.close()));
  }
}
