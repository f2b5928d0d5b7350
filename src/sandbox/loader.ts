/**
 * Module resolution inside one site: relative specifiers only, resolved against the importing
 * file, never leaving the site, and only to files of the sandbox's snapshot. Pure.
 */
import { posix } from "node:path";
import { PRELUDE_NAME } from "./prelude.js";

export const VERSION_SUFFIX = /\?v=\d+$/;

export type Resolution = { ok: true; name: string } | { ok: false; message: string };

/**
 * `versioned` only under the `legacy` policy: "x.js?v=2" then names a re-read of x.js from disk.
 * Under every other policy a suffix is part of the name, which no snapshot file has.
 */
export function resolveSpecifier(
  base: string,
  requested: string,
  files: Readonly<Record<string, string>>,
  versioned = false,
): Resolution {
  const from = base === PRELUDE_NAME ? "the router" : base;
  if (!requested.startsWith("./") && !requested.startsWith("../")) {
    return {
      ok: false,
      message:
        `${from}: cannot import "${requested}": only relative imports inside the site are ` +
        `allowed (bundle packages into the site with esbuild)`,
    };
  }
  const dir = base === PRELUDE_NAME ? "." : posix.dirname(base);
  const name = posix.normalize(posix.join(dir, requested));
  if (name === ".." || name.startsWith("../") || posix.isAbsolute(name))
    return { ok: false, message: `${from}: cannot import "${requested}": it is outside the site` };
  const file = versioned ? name.replace(VERSION_SUFFIX, "") : name;
  if (!Object.hasOwn(files, file))
    return {
      ok: false,
      message: `${from}: cannot import "${requested}": no such module (${name})`,
    };
  return { ok: true, name };
}
