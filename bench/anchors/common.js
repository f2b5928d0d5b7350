// Shared by the anchors: a free loopback port, an HTTP probe, and a folder the servers' own
// unprivileged users can read (as root, Apache's children and php-fpm's run as www-data).
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

export const asRoot = () => process.getuid?.() === 0;

/** A port free now on 127.0.0.1 (the kernel's choice; a daemon binds it a moment later). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** True once GET `url` answers 200. */
export async function answers200(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * A folder under the bench's temp folder that other users can read: the temp folder itself is
 * made traversable (not listable), the new folder readable.
 */
export function sharedDir(tmp, name) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  if (asRoot()) {
    fs.chmodSync(tmp, 0o711);
    fs.chmodSync(dir, 0o755);
  }
  return dir;
}

/** Copies `files` (name → source path) into `dir`, world-readable. */
export function copyInto(dir, files) {
  for (const [name, from] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true, mode: 0o755 });
    fs.copyFileSync(from, path.join(dir, name));
    fs.chmodSync(path.join(dir, name), 0o644);
  }
}

/** The Unix user a daemon's children run as when it is started as root (Debian's web user). */
export const WEB_USER = "www-data";
