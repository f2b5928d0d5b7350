/**
 * Opening a file on a site's behalf: the one way the server reads a site's files (static files,
 * module snapshots, the `legacy` re-read). It refuses any file that is not, at the moment it is
 * judged, inside the site's folder, and reads only the file it judged.
 *
 * Why judge the open file rather than the path: any check made on a path before opening it
 * (realpath, lstat) can be undone by a rename or a symlink swap before the open, and a site
 * owner can swap as fast as the server reads. A descriptor cannot be swapped. On Linux the path
 * is first opened with O_PATH, which names the inode without opening it for I/O (no device or
 * FIFO outside the site is ever really opened, so none can have a side effect or block); fstat
 * says whether it is a regular file and the kernel's own path of the descriptor
 * (/proc/self/fd/N) says where it is; only then is that same inode opened for reading, through
 * the descriptor's /proc link, which resolves to the inode and not by path. The length and body
 * sent are read from that descriptor. Node has no openat(2) to walk from a held directory handle
 * with O_NOFOLLOW at every step, which would be the other sound design.
 *
 * Elsewhere (no O_PATH, no /proc) the file is opened non-blocking and its inode compared with a
 * fresh realpath + stat of the path: that narrows the race to a window, it cannot close it.
 */
import fs from "node:fs";
import { open as openAsync, readlink as readlinkAsync } from "node:fs/promises";
import path from "node:path";

/** Linux's O_PATH (the generic value, as on x86 and ARM); Node does not export it. */
const O_PATH = 0o10000000;
const READ = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOCTTY ?? 0);

let procFd = process.platform === "linux" && fs.existsSync("/proc/self/fd");

export interface Contained {
  /** Open for reading for a file; for a folder, an O_PATH (or plain) descriptor to close. */
  fd: number;
  stat: fs.Stats;
  /** Where the file is: inside `root`, no symlink in it. */
  real: string;
}

/** `real` is `root` itself or below it (the separator matters: "/site-evil" is not in "/site"). */
export function isInside(root: string, real: string): boolean {
  return real === root || (real.startsWith(root) && real[root.length] === path.sep);
}

/**
 * Opens `candidate` (an absolute path meant to be inside `root`, itself a real path) and returns
 * the descriptor with its stat and real path, or null when it is missing, unreadable, not a file
 * or folder, or not inside `root`. The caller owns the descriptor and closes it.
 */
export function openContained(root: string, candidate: string): Contained | null {
  if (procFd) {
    let handle: number;
    try {
      handle = fs.openSync(candidate, O_PATH);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EINVAL") procFd = false;
      else return null;
      return openContained(root, candidate);
    }
    try {
      const stat = fs.fstatSync(handle);
      if (!stat.isFile() && !stat.isDirectory()) return close(handle);
      const real = fs.readlinkSync(`/proc/self/fd/${handle}`);
      if (!isInside(root, real)) return close(handle);
      if (stat.isDirectory()) return { fd: handle, stat, real };
      const fd = fs.openSync(`/proc/self/fd/${handle}`, READ);
      fs.closeSync(handle);
      return { fd, stat, real };
    } catch {
      return close(handle);
    }
  }
  let fd: number;
  try {
    fd = fs.openSync(candidate, READ);
  } catch {
    return null;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() && !stat.isDirectory()) return close(fd);
    const real = fs.realpathSync.native(candidate);
    const now = fs.statSync(real);
    if (now.ino !== stat.ino || now.dev !== stat.dev || !isInside(root, real)) return close(fd);
    return { fd, stat, real };
  } catch {
    return close(fd);
  }
}

function close(fd: number): null {
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

/**
 * The async form, for the snapshot walk in the primary (which must not block): the text and
 * stat of a regular file inside `root`, or null. Same judgement as openContained.
 */
export async function readContained(
  root: string,
  candidate: string,
): Promise<{ text: string; stat: fs.BigIntStats } | null> {
  if (!procFd) {
    const file = openContained(root, candidate);
    if (file === null) return null;
    try {
      if (!file.stat.isFile()) return null;
      const stat = fs.fstatSync(file.fd, { bigint: true });
      return { text: fs.readFileSync(file.fd, "utf8"), stat };
    } finally {
      fs.closeSync(file.fd);
    }
  }
  let handle: fs.promises.FileHandle;
  try {
    handle = await openAsync(candidate, O_PATH);
  } catch {
    return null;
  }
  let reading: fs.promises.FileHandle | undefined;
  try {
    const stat = await handle.stat({ bigint: true });
    if (!stat.isFile()) return null;
    const link = `/proc/self/fd/${handle.fd}`;
    if (!isInside(root, await readlinkAsync(link))) return null;
    reading = await openAsync(link, READ);
    return { text: await reading.readFile("utf8"), stat };
  } catch {
    return null;
  } finally {
    await reading?.close().catch(() => {});
    await handle.close().catch(() => {});
  }
}
