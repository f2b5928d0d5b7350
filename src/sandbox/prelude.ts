/** Reads the in-sandbox prelude (plain JS files, see prelude/README.md) once per process. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** src/ and dist/ sit side by side, so the prelude is found from either. */
const DIR = join(dirname(fileURLToPath(import.meta.url)), "../../src/sandbox/prelude");

const ORDER = [
  "10-base.js",
  "12-instance.js",
  "20-encoding.js",
  "30-url.js",
  "40-events.js",
  "50-streams.js",
  "60-body.js",
  "70-fetch.js",
  "80-misc.js",
  "90-dispatch.js",
];

let source: string | undefined;

/** The prelude as one script whose value is the dispatcher's entry object. */
export function preludeSource(): string {
  source ??=
    '(function (host) {\n"use strict";\n' +
    ORDER.map((f) => `// ${f}\n` + readFileSync(join(DIR, f), "utf8")).join("\n") +
    "\n})(globalThis.__host)";
  return source;
}

export const PRELUDE_NAME = "<sitebox>";
