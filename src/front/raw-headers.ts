/**
 * A request header from node:http's `rawHeaders`, by lower-case name, exactly as `req.headers`
 * would give it (lib/_http_incoming.js): the first of the fields Node keeps one of, `cookie`
 * joined with "; ", every other repeated field joined with ", ". Reading rawHeaders spares the
 * `req.headers` object, which Node builds on first use, on every request. Pure.
 */

/** The fields whose duplicates Node discards (matchKnownFields). */
const FIRST_WINS = new Set([
  "content-type",
  "content-length",
  "user-agent",
  "referer",
  "host",
  "authorization",
  "proxy-authorization",
  "if-modified-since",
  "if-unmodified-since",
  "from",
  "location",
  "max-forwards",
  "retry-after",
  "etag",
  "last-modified",
  "server",
  "age",
  "expires",
]);

export function rawHeader(raw: readonly string[], name: string): string | undefined {
  const first = FIRST_WINS.has(name);
  const sep = name === "cookie" ? "; " : ", ";
  let out: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length !== name.length || (n !== name && n.toLowerCase() !== name)) continue;
    if (out === undefined) {
      out = raw[i + 1]!;
      if (first) return out;
    } else out += sep + raw[i + 1]!;
  }
  return out;
}
