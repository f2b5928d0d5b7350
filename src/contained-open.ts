/**
 * Opening a file on a site's behalf: the one way the server reads a site's files (static files,
 * module snapshots, the `legacy` re-read). It refuses any file that is not, at the moment it is
 * open, inside the site's folder.
 *
 * Why open first and check the open file: any check made on a path before opening it (realpath,
 * lstat) can be undone by a rename or a symlink swap before the open, and a site owner can swap
 * as fast as the server reads. So the file is opened (following symlinks, non-blocking so a FIFO
 * cannot stall the worker), and what is judged is the open file itself: fstat says whether it is
 * a regular file, and the kernel's own path of the open file (`/proc/self/fd/N` on Linux) says
 * where it is. No swap can change which file a descriptor refers to, so the length and body read
 * from it afterwards are that file's. Node has no openat(2) to walk from a held directory handle
 * with O_NOFOLLOW at every step, which would be the other sound design.
 *
 * Without /proc (not Linux), the fallback compares the open file's inode with a fresh
 * realpath + stat of the path: it narrows the race to that window but cannot close it.
 */
import fs from "node:fs";
import { open as openAsync, readlink as readlinkAsync } from "node:fs/promises";
import path from "node:path";

const FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOCTTY ?? 0);

export interface Contained {
  fd: number;
  stat: fs.Stats;
  /** Where the open file is: inside `root`, no symlink in it. */
  real: string;
}

/** `real` is `root` itself or below it (the separator matters: "/site-evil" is not in "/site"). */
export function isInside(root: string, real: string): boolean {
  return real === root || (real.startsWith(root) && real[root.length] === path.sep);
}

let procFd = process.platform === "linux";

function kernelPath(fd: number, candidate: string, stat: fs.Stats): string | null {
  if (procFd) {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      procFd = false;
    }
  }
  try {
    const real = fs.realpathSync.native(candidate);
    const now = fs.statSync(real);
    return now.ino === stat.ino && now.dev === stat.dev ? real : null;
  } catch {
    return null;
  }
}

/**
 * Opens `candidate` (an absolute path meant to be inside `root`, itself a real path) and returns
 * the descriptor with its stat and real path, or null when it is missing, unreadable, not a file
 * or folder, or not inside `root` once open. The caller owns the descriptor and closes it.
 */
export function openContained(root: string, candidate: string): Contained | null {
  let fd: number;
  try {
    fd = fs.openSync(candidate, FLAGS);
  } catch {
    return null;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (stat.isFile() || stat.isDirectory()) {
      const real = kernelPath(fd, candidate, stat);
      if (real !== null && isInside(root, real)) return { fd, stat, real };
    }
  } catch {
    // fall through: refused
  }
  fs.closeSync(fd);
  return null;
}

/** A module source on disk now, for the `legacy` re-read; undefined when refused. */
export function readContainedSync(root: string, candidate: string): string | undefined {
  const file = openContained(root, candidate);
  if (file === null) return undefined;
  try {
    return file.stat.isFile() ? fs.readFileSync(file.fd, "utf8") : undefined;
  } catch {
    return undefined;
  } finally {
    fs.closeSync(file.fd);
  }
}

/** The async form for the snapshot walk (the primary must not block): text and stat, or null. */
export async function readContained(
  root: string,
  candidate: string,
): Promise<{ text: string; stat: fs.BigIntStats } | null> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await openAsync(candidate, FLAGS);
  } catch {
    return null;
  }
  try {
    const stat = await handle.stat({ bigint: true });
    if (!stat.isFile()) return null;
    let real: string | null = null;
    if (procFd) real = await readlinkAsync(`/proc/self/fd/${handle.fd}`).catch(() => null);
    if (real === null) {
      const small = await handle.stat();
      real = kernelPath(handle.fd, candidate, small);
    }
    if (real === null || !isInside(root, real)) return null;
    return { text: await handle.readFile("utf8"), stat };
  } catch {
    return null;
  } finally {
    await handle.close().catch(() => {});
  }
}
