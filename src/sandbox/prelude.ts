/**
 * Reads the in-sandbox prelude (plain JS files, see prelude/README.md) once per process: our own
 * files, and two npm packages read from node_modules as they are installed (nothing generated is
 * committed).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** src/ and dist/ sit side by side, so the prelude is found from either. */
const DIR = join(dirname(fileURLToPath(import.meta.url)), "../../src/sandbox/prelude");
const require = createRequire(import.meta.url);

/**
 * A package's UMD/CommonJS build, evaluated as a function inside the prelude's scope: its free
 * names (queueMicrotask, DOMException, AbortController, structuredClone) resolve to the
 * prelude's own, captured before site code runs, not to globals a site may replace.
 */
function vendored(name: string, src: string): string {
  return (
    `const ${name} = (function () {\nconst module = { exports: {} };\nconst exports = module.exports;\n` +
    `${src}\n;return module.exports;\n})();`
  );
}

/** The source of a package evaluated on first use only (see 85-urlpattern.js). */
function deferred(name: string, src: string): string {
  return `const ${name} = ${JSON.stringify(src)};`;
}

/** One of our files, or a package's file wrapped as `vendored` or `deferred` under a name. */
type Part = string | { file: string; wrap: (name: string, src: string) => string; name: string };
const ORDER: Part[] = [
  "05-primordials.js",
  "10-base.js",
  "12-instance.js",
  "15-host-async.js",
  "15-webidl.js",
  "20-encoding.js",
  "30-url.js",
  "40-events.js",
  // The WHATWG reference implementation, as web-streams-polyfill's ponyfill build.
  { file: "web-streams-polyfill/dist/ponyfill.js", wrap: vendored, name: "webStreams" },
  "50-streams.js",
  "55-transform-streams.js",
  "60-body.js",
  "65-multipart.js",
  "70-fetch.js",
  "75-intl.js",
  "78-crypto.js",
  "80-misc.js",
  { file: "urlpattern-polyfill/urlpattern", wrap: deferred, name: "URL_PATTERN_SOURCE" },
  "85-platform.js",
  "87-load-errors.js",
  "90-dispatch.js",
];

const fileOf = (p: Part) => (typeof p === "string" ? join(DIR, p) : require.resolve(p.file));

/** The files the prelude is made of, in order. */
export function preludeFiles(): string[] {
  return ORDER.map(fileOf);
}

/** The prelude as one script whose value is the dispatcher's entry object, read from disk. */
function readPrelude(): string {
  return (
    '(function (host) {\n"use strict";\n' +
    ORDER.map((p) => {
      const src = readFileSync(fileOf(p), "utf8");
      return typeof p === "string" ? `// ${p}\n${src}` : p.wrap(p.name, src);
    }).join("\n") +
    "\n})(globalThis.__host)"
  );
}

let source: string | undefined;

/** The prelude, read once per process. */
export function preludeSource(): string {
  source ??= readPrelude();
  return source;
}

export const PRELUDE_NAME = "<sitebox>";
