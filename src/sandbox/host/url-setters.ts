/**
 * URL setters for the sandbox's URL class: Node's WHATWG URL applies the spec's state-override
 * parsing exactly, so a setter is one host call on the href, and the sandbox adopts the parts.
 */
import type { QuickJSHandle } from "quickjs-emscripten";
import type { HostIO } from "./io.js";

const SETTERS = new Set([
  "href",
  "protocol",
  "username",
  "password",
  "host",
  "hostname",
  "port",
  "pathname",
  "search",
  "hash",
]);

type HostFn = (...args: QuickJSHandle[]) => QuickJSHandle | void;

/** The parts the sandbox keeps for a URL, as JSON (the same shape as parseURL's). */
export function urlPartsJSON(url: URL): string {
  const { href, origin, protocol, username, password, host, hostname, port, pathname } = url;
  const parts = { href, origin, protocol, username, password, host, hostname, port, pathname };
  return JSON.stringify({ ...parts, search: url.search, hash: url.hash });
}

/** urlSet(href, name, value): JSON parts after `url[name] = value`, or "" if href is invalid. */
export function urlSetterFunctions(io: HostIO): Record<string, HostFn> {
  const { str } = io; // str: every string crosses exactly (strings.ts)
  return {
    urlSet: (href, name, value) => {
      const setter = str(name);
      if (!SETTERS.has(setter)) throw new TypeError(`no URL setter "${setter}"`);
      let url: URL;
      try {
        url = new URL(str(href));
        (url as unknown as Record<string, string>)[setter] = str(value);
      } catch {
        return io.string("");
      }
      return io.string(urlPartsJSON(url));
    },
  };
}
