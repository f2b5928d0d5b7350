/**
 * A site generation's source: every module file and site.json of one site, read at one moment and
 * identified by a content hash. Modules load from the snapshot, never from disk, so one generation
 * can never mix old and new files. Also records each file's and folder's stamp, for the `stat`
 * policy and the primary's periodic re-scan (`stale`), and to reuse unchanged files' text.
 *
 * The walk is bounded (WALK_LIMITS): it never follows a symlinked folder (so no link back into
 * an ancestor can make it loop), never enters public/, node_modules or dot folders, and stops
 * with a clear error past so many entries or so deep. The watcher walks exactly the same tree.
 */
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { lstat, readdir, realpath, stat } from "node:fs/promises";
import { readContained } from "./contained-open.js";
import { join, sep } from "node:path";
import { MODULE_EXT } from "./router.js";
import { SiteboxError } from "./errors.js";

/** mtime and ctime in ns, size and inode: a restore with an old mtime still changes ctime. */
export type Stamp = string;

export interface Snapshot {
  readonly site: string;
  /** Real path of the site folder when read (a flipped symlink gives a new root). */
  readonly root: string;
  /** Site-relative path ("api/time.js") → source text. */
  readonly files: Readonly<Record<string, string>>;
  /** File or folder path ("" for the root) → stamp when read. */
  readonly stamps: Readonly<Record<string, Stamp>>;
  readonly siteJson: string | null;
  readonly hash: string;

  /** Date.now() when the walk began: stamps this recent may hide a same-tick rewrite. */
  readonly readAtMs: number;
}

export const WALK_LIMITS = Object.freeze({
  /** Files and folders walked per site, of any kind (public/ and skipped names excepted). */
  entries: 10_000,
  /** Folders below the site folder. */
  depth: 32,
  moduleFiles: 5000,
  moduleBytes: 64 * 1024 * 1024,
});

/**
 * A file system's timestamps tick coarsely (ext4 ~4 ms, some 1-2 s): a rewrite of equal size in
 * the same tick keeps every stamp. A stamp within this margin of a walk is never trusted later.
 */
export const RACY_MS = 2000;

/** What the walk and the watcher never enter: dot names, node_modules, the site's public/. */
export function isSkipped(name: string, parentRel: string): boolean {
  return name.startsWith(".") || name === "node_modules" || (parentRel === "" && name === "public");
}

export function stampOf(s: { mtimeNs: bigint; ctimeNs: bigint; size: bigint; ino: bigint }): Stamp {
  return `${s.mtimeNs}:${s.ctimeNs}:${s.size}:${s.ino}`;
}

/** The site folder's inode when read: a folder replaced at the same path has another. */
export function rootInode(snapshot: Snapshot): bigint {
  return BigInt(snapshot.stamps[""]!.split(":")[3]!);
}

/** Milliseconds of the later of a stamp's mtime and ctime. */
function stampMs(stamp: Stamp): number {
  const [m, c] = stamp.split(":");
  return Number(BigInt(m!) > BigInt(c!) ? BigInt(m!) : BigInt(c!)) / 1e6;
}

/**
 * Reads one site. Throws SiteboxError("ERR_CONFIG") for a site too big or not a folder. With
 * `previous` (the same site's last snapshot), a file whose stamp is unchanged, and was not racy
 * then, keeps its text without being read again.
 */
export async function readSnapshot(
  sitesDir: string,
  site: string,
  previous?: Snapshot,
): Promise<Snapshot> {
  const readAtMs = Date.now();
  const root = await realpath(join(sitesDir, site));
  const files: Record<string, string> = {};
  const stamps: Record<string, Stamp> = {};
  const reuse = previous?.root === root ? previous : undefined;
  const known = (rel: string, stamp: Stamp): string | null | undefined => {
    if (reuse === undefined || reuse.stamps[rel] !== stamp) return undefined;
    if (stampMs(stamp) > reuse.readAtMs - RACY_MS) return undefined;
    return rel === "site.json" ? reuse.siteJson : reuse.files[rel];
  };
  let siteJson: string | null = null;
  let bytes = 0;
  let count = 0;
  let entries = 0;
  const walk = async (rel: string, depth: number): Promise<void> => {
    if (depth > WALK_LIMITS.depth)
      throw tooBig(site, `folders nested deeper than ${WALK_LIMITS.depth} (${rel})`);
    const dir = rel === "" ? root : join(root, rel);
    stamps[rel] = stampOf(await stat(dir, { bigint: true }));
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const name = entry.name;
      if (isSkipped(name, rel)) continue;
      if (++entries > WALK_LIMITS.entries)
        throw tooBig(site, `more than ${WALK_LIMITS.entries} files and folders outside public/`);
      const relPath = rel === "" ? name : `${rel}/${name}`;
      const abs = join(dir, name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        // Symlinks are followed only while they stay inside the site.
        const target = await realpath(abs).catch(() => null);
        if (target === null || !(target === root || target.startsWith(root + sep))) continue;
        const st = await stat(abs);
        isDir = st.isDirectory();
        isFile = st.isFile();
        if (isDir) continue; // never a symlinked folder: no link back into an ancestor
      }
      if (isDir) {
        await walk(relPath, depth + 1);
        continue;
      }
      const isJson = rel === "" && name === "site.json";
      if (!isFile || (!isJson && !MODULE_EXT.test(name))) continue;
      if (++count > WALK_LIMITS.moduleFiles)
        throw tooBig(site, `more than ${WALK_LIMITS.moduleFiles} module files`);
      const st = await lstat(abs, { bigint: true }).then((l) =>
        l.isSymbolicLink() ? stat(abs, { bigint: true }) : l,
      );
      let stamp = stampOf(st);
      let text = known(relPath, stamp);
      if (text === undefined || text === null) {
        // Read through the open file, judged inside the site once open (contained-open.ts): a
        // symlink swapped in since the readdir cannot lead the read outside. Its stamp is the
        // stamp of what was read.
        const read = await readContained(root, abs);
        if (read === null) continue;
        text = read.text;
        stamp = stampOf(read.stat);
      }
      bytes += text.length;
      if (bytes > WALK_LIMITS.moduleBytes)
        throw tooBig(site, `more than ${WALK_LIMITS.moduleBytes >> 20} MiB of modules`);
      stamps[relPath] = stamp;
      if (isJson) siteJson = text;
      else files[relPath] = text;
    }
  };
  await walk("", 0);
  const hash = createHash("sha1");
  for (const name of Object.keys(files).sort())
    hash.update(name).update("\0").update(files[name]!).update("\0");
  hash.update(siteJson ?? "");
  return { site, root, files, stamps, siteJson, hash: hash.digest("hex").slice(0, 12), readAtMs };
}

/**
 * The re-scan's cheap test: true when the site folder is another one now, or any folder or file
 * the snapshot holds has a new stamp, is gone, or was racy when read. A stat per entry, no
 * reads; synchronous, because a sync stat costs ~4 µs and an async one ~30 µs (the caller
 * yields between sites).
 */
export function stale(sitesDir: string, snapshot: Snapshot): boolean {
  try {
    for (const [rel, want] of Object.entries(snapshot.stamps)) {
      if (stampMs(want) > snapshot.readAtMs - RACY_MS) return true;
      // The root through the sites folder: a flipped symlink or a folder put in its place differs.
      const path = rel === "" ? join(sitesDir, snapshot.site) : join(snapshot.root, rel);
      if (stampOf(statSync(path, { bigint: true })) !== want) return true;
    }
    return false;
  } catch {
    return true; // gone, or unreadable: let a full read say what it is
  }
}

function tooBig(site: string, what: string): SiteboxError {
  return new SiteboxError("ERR_CONFIG", `site ${site}: ${what}; bundle it or split it into sites`);
}

/** Files whose content differs between two snapshots (added, removed or changed). */
export function changedFiles(a: Snapshot, b: Snapshot): string[] {
  const out: string[] = [];
  for (const name of new Set([...Object.keys(a.files), ...Object.keys(b.files)]))
    if (a.files[name] !== b.files[name]) out.push(name);
  if (a.siteJson !== b.siteJson) out.push("site.json");
  return out.sort();
}
