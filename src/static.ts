/**
 * Static files: a site's `public/` folder served at the URL path.
 *
 * Containment, conditional requests (ETag / Last-Modified → 304), single byte ranges (206 / 416,
 * If-Range) and HEAD. Everything the file system can refuse becomes "not found" (false), so the
 * caller can hand the request to a script instead.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream";

const TEXT = "; charset=utf-8";

// A Map, not an object literal: an extension like ".constructor" must not hit Object.prototype.
const TYPES = new Map<string, string>([
  ["html", "text/html" + TEXT],
  ["htm", "text/html" + TEXT],
  ["css", "text/css" + TEXT],
  ["js", "text/javascript" + TEXT],
  ["mjs", "text/javascript" + TEXT],
  ["json", "application/json" + TEXT],
  ["map", "application/json" + TEXT],
  ["txt", "text/plain" + TEXT],
  ["md", "text/markdown" + TEXT],
  ["csv", "text/csv" + TEXT],
  ["xml", "application/xml" + TEXT],
  ["svg", "image/svg+xml" + TEXT],
  ["png", "image/png"],
  ["jpg", "image/jpeg"],
  ["jpeg", "image/jpeg"],
  ["gif", "image/gif"],
  ["webp", "image/webp"],
  ["avif", "image/avif"],
  ["ico", "image/x-icon"],
  ["woff", "font/woff"],
  ["woff2", "font/woff2"],
  ["ttf", "font/ttf"],
  ["otf", "font/otf"],
  ["pdf", "application/pdf"],
  ["wasm", "application/wasm"],
  ["mp4", "video/mp4"],
  ["webm", "video/webm"],
  ["mp3", "audio/mpeg"],
  ["wav", "audio/wav"],
  ["ogg", "audio/ogg"],
  ["zip", "application/zip"],
]);

/** The content-type for a file name, by extension (case-insensitive); octet-stream if unknown. */
export function contentType(filePath: string): string {
  const ext = path.extname(filePath).slice(1).toLowerCase();
  return TYPES.get(ext) ?? "application/octet-stream";
}

/**
 * Serves `relPath` (already percent-decoded, "/"-separated, no leading "/", no "." or ".." segments,
 * no NUL) from `publicRoot` (the real path of the site's public folder, no trailing slash).
 * Resolves with the status and body bytes when it answered (200/206/304/416), false when there is
 * no such file, so the caller
 * can route the request to a script instead. Never throws for a missing/unreadable file.
 */
/** What was sent, for the access log. */
export interface Served {
  status: number;
  bytes: number;
}

export async function serveStatic(
  req: IncomingMessage,
  res: ServerResponse,
  publicRoot: string,
  relPath: string,
): Promise<Served | false> {
  // Other methods may belong to a script at the same path (a form POSTing to /contact).
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  if (isHidden(relPath)) return false;

  let file = lookup(publicRoot, path.join(publicRoot, relPath));
  if (file?.stat.isDirectory()) file = lookup(publicRoot, path.join(file.real, "index.html"));
  if (!file || !file.stat.isFile()) return false;

  const { real, stat } = file;
  const size = stat.size;
  const etag = `W/"${size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
  const mtimeSec = Math.floor(stat.mtimeMs / 1000);
  const lastModified = new Date(mtimeSec * 1000).toUTCString();

  if (notModified(req, etag, mtimeSec)) {
    res.writeHead(304, { etag, "last-modified": lastModified });
    res.end();
    return { status: 304, bytes: 0 };
  }

  const headers: OutgoingHttpHeaders = {
    "content-type": contentType(real),
    "content-length": size,
    "last-modified": lastModified,
    etag,
    "accept-ranges": "bytes",
  };
  let status = 200;
  let start = 0;
  let end = size - 1;

  const range = req.headers.range;
  if (range !== undefined && size > 0 && ifRangeMatches(req.headers["if-range"], etag, mtimeSec)) {
    const r = parseRange(range, size);
    if (r === "unsatisfiable") {
      res.writeHead(416, {
        "content-range": `bytes */${size}`,
        "content-length": 0,
        "accept-ranges": "bytes",
      });
      res.end();
      return { status: 416, bytes: 0 };
    }
    if (r) {
      [start, end] = r;
      status = 206;
      headers["content-range"] = `bytes ${start}-${end}/${size}`;
      headers["content-length"] = end - start + 1;
    }
  }

  if (req.method === "HEAD" || size === 0) {
    res.writeHead(status, headers);
    res.end();
    return { status, bytes: 0 };
  }

  if (end - start < SMALL_FILE) {
    let body: Buffer;
    try {
      body = readRange(real, start, end - start + 1);
    } catch {
      return false; // vanished since the stat: still "not found", not a 500
    }
    res.writeHead(status, headers);
    res.end(body);
    return { status, bytes: body.length };
  }

  const stream = fs.createReadStream(real, { start, end });
  try {
    // Wait for the open so a file that vanished since the stat is still "not found", not a 500.
    await once(stream, "ready");
  } catch {
    stream.destroy();
    return false;
  }
  res.writeHead(status, headers);
  // pipeline destroys the file stream (closing its fd) when the client goes away, and destroys
  // the response when the read fails midway: the client sees a cut connection, not a short file.
  pipeline(stream, res, () => {});
  return { status, bytes: end - start + 1 };
}

interface Found {
  real: string;
  stat: fs.Stats;
}

/** realpath + stat, or undefined when missing, unreadable, hidden or outside `publicRoot`. */
/**
 * Synchronous on purpose: on a local disk realpath and stat take microseconds, less than the two
 * thread-pool round trips their async forms cost (measured: static files ran at 1/5 of a script's
 * rate with the async forms).
 */
function lookup(publicRoot: string, candidate: string): Found | undefined {
  try {
    const real = fs.realpathSync.native(candidate);
    // The separator matters: "/site/public-evil" starts with "/site/public" (sirv's bug).
    if (real !== publicRoot) {
      const prefix = publicRoot.endsWith(path.sep) ? publicRoot : publicRoot + path.sep;
      if (!real.startsWith(prefix)) return undefined;
      // A symlink inside public/ may still point at a dot-file in it.
      if (isHidden(real.slice(prefix.length).split(path.sep).join("/"))) return undefined;
    }
    return { real, stat: fs.statSync(real) };
  } catch {
    return undefined;
  }
}

/** Files below this size are read in one synchronous call and sent with one write. */
const SMALL_FILE = 64 * 1024;

function readRange(file: string, start: number, length: number): Buffer {
  const fd = fs.openSync(file, "r");
  try {
    const body = Buffer.allocUnsafe(length);
    const n = fs.readSync(fd, body, 0, length, start);
    return n === length ? body : body.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

function isHidden(relPath: string): boolean {
  return relPath.startsWith(".") || relPath.includes("/.");
}

/** RFC 9110 §13.2.2: If-None-Match, when present, decides alone; else If-Modified-Since. */
function notModified(req: IncomingMessage, etag: string, mtimeSec: number): boolean {
  const inm = req.headers["if-none-match"];
  if (inm !== undefined) {
    const ours = stripWeak(etag);
    return inm.split(",").some((tag) => {
      const t = tag.trim();
      return t === "*" || stripWeak(t) === ours;
    });
  }
  const ims = req.headers["if-modified-since"];
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && mtimeSec <= Math.floor(since / 1000);
}

function stripWeak(tag: string): string {
  return tag.startsWith("W/") ? tag.slice(2) : tag;
}

/**
 * No If-Range, or one that still names this version. Our ETag is weak, so RFC 9110's strong
 * comparison would never match; an exact match of the tag we sent is accepted instead, as it is as
 * strong as the date it is built from. A date must equal Last-Modified exactly.
 */
function ifRangeMatches(
  ifRange: string | string[] | undefined,
  etag: string,
  mtimeSec: number,
): boolean {
  if (ifRange === undefined) return true;
  if (typeof ifRange !== "string") return false; // repeated header: not a validator we know
  const v = ifRange.trim();
  if (v.startsWith('"') || v.startsWith("W/")) return v === etag;
  return Date.parse(v) === mtimeSec * 1000;
}

/**
 * One `bytes=a-b` / `a-` / `-n` range → inclusive [start, end], clamped to the file.
 * undefined for anything to ignore (bad syntax, other units, several ranges, b < a): full file.
 */
function parseRange(header: string, size: number): [number, number] | "unsatisfiable" | undefined {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === "" && b === "") return undefined;
  if (a === "") {
    const n = Number(b);
    return n === 0 ? "unsatisfiable" : [Math.max(0, size - n), size - 1];
  }
  const start = Number(a);
  if (b !== "" && Number(b) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return [start, b === "" ? size - 1 : Math.min(Number(b), size - 1)];
}
