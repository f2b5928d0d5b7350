/**
 * Pure routing: URL path → route module, from a site's file list. No file system here; `sites.ts`
 * and `snapshot.ts` do the reading.
 */

/** A decoded request path as segments, or null when it is malformed or tries to climb out. */
export function decodePath(rawUrl: string): string[] | null {
  const q = rawUrl.indexOf("?");
  const raw = q === -1 ? rawUrl : rawUrl.slice(0, q);
  if (raw[0] !== "/") return null;
  let decoded: string;
  try {
    decoded = raw.includes("%") ? decodeURIComponent(raw) : raw;
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  const segments = decoded.split("/").filter((s) => s !== "");
  for (const s of segments) if (s === "." || s === "..") return null;
  return segments;
}

export const MODULE_EXT = /\.m?js$/;

/** True for a file that can be a route: a module outside public/ with no `_`-prefixed segment. */
export function isRouteFile(file: string): boolean {
  if (!MODULE_EXT.test(file)) return false;
  const segments = file.split("/");
  if (segments[0] === "public" || segments[0] === "node_modules") return false;
  return !segments.some((s) => s.startsWith("_") || s.startsWith("."));
}

/** URL path of a route file: `a/b.js` → `/a/b`, `a/b/index.js` → `/a/b`, `index.js` → `/`. */
export function routePath(file: string): string {
  let p = file.replace(MODULE_EXT, "");
  if (p === "index") return "/";
  if (p.endsWith("/index")) p = p.slice(0, -"/index".length);
  return "/" + p;
}

export interface RouteIndex {
  /** Every request goes here when set (site.json "main"). */
  readonly main: string | null;
  /** URL path → module file. */
  readonly routes: ReadonlyMap<string, string>;
}

/**
 * Builds the route table. When two files claim one path, `a.js` beats `a/index.js` and `.js`
 * beats `.mjs`; the choice is deterministic so every worker routes alike.
 */
export function buildRouteIndex(files: Iterable<string>, main: string | null): RouteIndex {
  const routes = new Map<string, string>();
  const rank = (f: string) =>
    (f.endsWith("/index.js") || f.endsWith("/index.mjs") ? 2 : 0) + (f.endsWith(".mjs") ? 1 : 0);
  for (const file of [...files].sort()) {
    if (!isRouteFile(file)) continue;
    const path = routePath(file);
    const existing = routes.get(path);
    if (existing === undefined || rank(file) < rank(existing)) routes.set(path, file);
  }
  return { main, routes };
}

/** The module that answers `segments`, or null. */
export function matchRoute(index: RouteIndex, segments: readonly string[]): string | null {
  if (index.main !== null) return index.main;
  return index.routes.get("/" + segments.join("/")) ?? null;
}

/** The site folder for a Host header: the lower-cased name without port, if such a site exists. */
export function siteForHost(host: string | undefined, sites: ReadonlySet<string>): string | null {
  if (!host) return sites.has("default") ? "default" : null;
  let name = host.toLowerCase();
  if (name.startsWith("[")) name = name.slice(0, name.indexOf("]") + 1);
  else {
    const colon = name.indexOf(":");
    if (colon !== -1) name = name.slice(0, colon);
  }
  if (name.endsWith(".")) name = name.slice(0, -1);
  if (
    name !== "" &&
    name !== "default" &&
    sites.has(name) &&
    !name.includes("/") &&
    name[0] !== "."
  )
    return name;
  return sites.has("default") ? "default" : null;
}
