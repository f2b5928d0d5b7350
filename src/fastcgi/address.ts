/**
 * Where the FastCGI front listens (`--fastcgi ADDR`): `HOST:PORT`,
 * `[V6]:PORT`, a bare port (loopback), or a unix socket path (anything with a "/"). A unix socket
 * is made group-accessible only (nginx joins sitebox's group) and a stale one from a killed run is
 * removed, but never a file that is not a socket or a socket someone still listens on.
 */
import { lstatSync, rmSync } from "node:fs";
import { chmod, lstat, unlink } from "node:fs/promises";
import net, { isIP } from "node:net";
import { resolve } from "node:path";

export type FastCgiAddress =
  { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

/** Owner and group read/write: the web server's user must be in sitebox's group. */
export const SOCKET_MODE = 0o660;

/** Parses `--fastcgi`'s value; throws an Error that says what would be accepted. */
export function parseFastCgiAddress(raw: string, cwd = process.cwd()): FastCgiAddress {
  if (raw.includes("/")) return { kind: "unix", path: resolve(cwd, raw) };
  const bad = new Error(
    `"${raw}" is not HOST:PORT, [IPv6]:PORT, a port, or a socket path (with a /)`,
  );
  const m = /^(?:(?:\[([^\]]+)\]|([^:[\]]+)):)?(\d{1,5})$/.exec(raw);
  if (m === null) throw bad;
  const [, v6, name, digits] = m;
  const port = Number(digits);
  if (port < 1 || port > 65535 || (v6 !== undefined && isIP(v6) !== 6)) throw bad;
  const host = v6 ?? name ?? "127.0.0.1";
  return { kind: "tcp", host, port };
}

/**
 * Before listening on a unix socket: removes a socket file nobody listens on (left by a killed
 * run); throws if the path is something else, or a live socket.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => null);
  if (st === null) return;
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
  const live = await new Promise<boolean>((done) => {
    const s = net.connect(path, () => (s.destroy(), done(true)));
    s.on("error", () => done(false));
  });
  if (live) throw new Error(`${path} is in use by another server`);
  await unlink(path);
}

/** After listening: the socket's mode; node:net removes the file when the server closes. */
export function restrictSocket(path: string): Promise<void> {
  return chmod(path, SOCKET_MODE);
}

/** The socket file's inode, to remove only our own file at exit; null if there is none. */
export function socketInode(path: string): number | null {
  try {
    const st = lstatSync(path);
    return st.isSocket() ? st.ino : null;
  } catch {
    return null;
  }
}

/** At exit: removes the socket file if it is still the one we made (node removes it on close). */
export function removeSocket(path: string, inode: number): void {
  if (socketInode(path) === inode) rmSync(path, { force: true });
}
