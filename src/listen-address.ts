/** How a listening address reads in log lines: `127.0.0.1:8080`, `[::1]:9000`, `/run/x.sock`. */
import type { FastCgiAddress } from "./fastcgi/address.js";

export function describeAddress(a: FastCgiAddress): string {
  if (a.kind === "unix") return a.path;
  return `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
}
