/**
 * A site generation's source: every module file and site.json of one site, read at one moment and
 * identified by a content hash. Modules load from the snapshot, never from disk, so one generation
 * can never mix old and new files. Also records each file's stamp for the `stat` policy.
 */
import { createHash } from "node:crypto";
import { readdir, realpath, stat } from "node:fs/promises";
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
}

const MAX_FILES = 5000;
const MAX_BYTES = 64 * 1024 * 1024;

export function stampOf(s: { mtimeNs: bigint; ctimeNs: bigint; size: bigint; ino: bigint }): Stamp {
  return `${s.mtimeNs}:${s.ctimeNs}:${s.size}:${s.ino}`;
}

/** Reads one site. Throws SiteboxError("ERR_CONFIG") for a site too big or not a folder. */
export async function readSnapshot(sitesDir: string, site: string): Promise<Snapshot> {
  const root = await realpath(join(sitesDir, site));
  const files: Record<string, string> = {};
  const stamps: Record<string, Stamp> = {};
  let siteJson: string | null = null;
  let bytes = 0;
  let count = 0;
  const walk = async (rel: string): Promise<void> => {
    const dir = rel === "" ? root : join(root, rel);
    stamps[rel] = stampOf(await stat(dir, { bigint: true }));
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const name = entry.name;
      if (name.startsWith(".") || name === "node_modules" || (rel === "" && name === "public"))
        continue;
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
        if (isDir) continue; // no symlinked folders: avoids cycles
      }
      if (isDir) {
        await walk(relPath);
        continue;
      }
      const isJson = rel === "" && name === "site.json";
      if (!isFile || (!isJson && !MODULE_EXT.test(name))) continue;
      if (++count > MAX_FILES) throw tooBig(site, `more than ${MAX_FILES} module files`);
      // Read through the open file, judged inside the site once open (contained-open.ts): a
      // symlink swapped in since the readdir cannot lead the read outside.
      const read = await readContained(root, abs);
      if (read === null) continue;
      const { text, stat: st } = read;
      bytes += text.length;
      if (bytes > MAX_BYTES) throw tooBig(site, `more than ${MAX_BYTES >> 20} MiB of modules`);
      stamps[relPath] = stampOf(st);
      if (isJson) siteJson = text;
      else files[relPath] = text;
    }
  };
  await walk("");
  const hash = createHash("sha1");
  for (const name of Object.keys(files).sort())
    hash.update(name).update("\0").update(files[name]!).update("\0");
  hash.update(siteJson ?? "");
  return { site, root, files, stamps, siteJson, hash: hash.digest("hex").slice(0, 12) };
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
