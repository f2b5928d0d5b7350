/**
 * `--cache watch`: chokidar on the sites folder, in the primary. Events are hints, the disk is the
 * truth: an event only names the site, which is re-read after a short quiet window, so an editor's
 * atomic save (unlink + add), a burst of writes or a deploy of many files becomes one generation.
 * A site folder that is a symlink is also re-resolved on a timer, to notice a flipped release.
 */
import { watch, type FSWatcher } from "chokidar";
import { readdir, realpath } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { Log } from "./log.js";

export interface SiteWatcher {
  close(): Promise<void>;
}

export function watchSites(
  sitesDir: string,
  debounceMs: number,
  log: Log,
  onSite: (site: string) => void,
  onSitesList: () => void,
): SiteWatcher {
  const timers = new Map<string, NodeJS.Timeout>();
  const roots = new Map<string, string>();
  const poke = (site: string) => {
    clearTimeout(timers.get(site));
    timers.set(
      site,
      setTimeout(() => {
        timers.delete(site);
        onSite(site);
      }, debounceMs),
    );
  };
  const watcher: FSWatcher = watch(sitesDir, {
    ignoreInitial: true,
    followSymlinks: true,
    atomic: false,
    ignored: (path: string) => /(^|[/\\])(node_modules|\.git)([/\\]|$)/.test(path),
  });
  watcher.on("all", (event, path) => {
    const rel = relative(sitesDir, path);
    if (rel === "" || rel.startsWith("..")) return;
    const site = rel.split(sep)[0]!;
    if (
      !rel.includes(sep) &&
      (event === "addDir" || event === "unlinkDir" || event === "add" || event === "unlink")
    )
      onSitesList();
    poke(site);
  });
  watcher.on("error", (err) => log.error({}, `watcher: ${(err as Error).message}`));

  // chokidar follows a symlinked site folder's old target; re-resolving the link catches a flip.
  const flips = setInterval(async () => {
    try {
      for (const entry of await readdir(sitesDir, { withFileTypes: true })) {
        if (!entry.isSymbolicLink()) continue;
        const real = await realpath(join(sitesDir, entry.name)).catch(() => "");
        const before = roots.get(entry.name);
        roots.set(entry.name, real);
        if (before !== undefined && before !== real) {
          onSitesList();
          poke(entry.name);
        }
      }
    } catch {
      // the sites folder itself vanished: nothing to re-resolve until it is back
    }
  }, 200);
  flips.unref();

  return {
    async close() {
      clearInterval(flips);
      for (const t of timers.values()) clearTimeout(t);
      await watcher.close();
    },
  };
}
