/**
 * The request target (RFC 9112 §3.2) → the host that names the site and the path with its query.
 * Pure. Origin form ("/p?q") takes the host from the Host header; absolute form
 * ("http://h/p?q"), which a server must accept (§3.2.2), takes it from the target and ignores a
 * Host header that disagrees. Authority and asterisk forms name no resource here: null.
 */
export interface Target {
  /** The host as it names a site ("example.com:8080"), or undefined when none was sent. */
  host: string | undefined;
  /** Path and query, starting with "/". */
  path: string;
  /** True when the host came from the target rather than the Host header. */
  absolute: boolean;
}

const ABSOLUTE = /^https?:\/\//i;

export function parseTarget(target: string, hostHeader: string | undefined): Target | null {
  if (target.charCodeAt(0) === 47 /* "/" */)
    return { host: hostHeader, path: target, absolute: false };
  const scheme = ABSOLUTE.exec(target);
  if (scheme === null) return null;
  const rest = target.slice(scheme[0].length);
  let end = rest.length;
  for (const c of "/?#") {
    const i = rest.indexOf(c);
    if (i !== -1 && i < end) end = i;
  }
  let authority = rest.slice(0, end);
  const at = authority.lastIndexOf("@");
  if (at !== -1) authority = authority.slice(at + 1); // userinfo is not part of the host
  if (authority === "") return null;
  const after = rest.slice(end);
  const path = after === "" || after[0] === "#" ? "/" : after[0] === "?" ? "/" + after : after;
  return { host: authority, path, absolute: true };
}
