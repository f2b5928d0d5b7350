/**
 * Static files: a site's `public/` folder served at the URL path.
 *
 * Containment, conditional requests (ETag / Last-Modified → 304), single byte ranges (206 / 416,
 * If-Range) and HEAD. Everything the file system can refuse becomes "not found" (false), so the
 * caller can hand the request to a script instead. Three steps, so that a cache can stand in for
 * the first: lookup (open → metadata + descriptor), plan (pure: status, headers, range), send.
 */
import fs from "node:fs";
import path from "node:path";
import { openContained, type Contained } from "./contained-open.js";
import { SiteboxError } from "./errors.js";

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

/** What a request says that static answers depend on (a front end's request gives this). */
export interface StaticRequest {
  readonly method: string;
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
}

/**
 * What answering needs to know of a file, apart from its bytes. The file system gives it
 * (`lookupStatic`); an in-memory cache in front of it could keep it with the bytes.
 */
export interface StaticMeta {
  readonly size: number;
  readonly mtimeSec: number;
  readonly etag: string;
  readonly lastModified: string;
  readonly contentType: string;
}

/** A file of public/, open: its metadata and the descriptor the bytes will come from. */
export interface StaticFile {
  readonly meta: StaticMeta;
  readonly fd: number;
  /** The descriptor's fstat, and where the file is (no symlink in it): for a cache's checks. */
  readonly stat: fs.Stats;
  readonly real: string;
}

/** The status, headers and byte range to send for a request (pure; no body for HEAD/304/416). */
export interface StaticPlan {
  status: number;
  /** Flat list: name, value, name, value... */
  headers: string[];
  start: number;
  /** Body bytes to send from `start`; 0 for none. */
  length: number;
}

/**
 * Opens `relPath` (already percent-decoded, "/"-separated, no leading "/", no "." or ".."
 * segments, no NUL) under `publicRoot` (the real path of the site's public folder), through
 * contained-open.ts: the file actually opened must be inside public/ and not a dot-file. A folder
 * gives its index.html. Null when there is no such file (the caller may route to a script).
 * Synchronous on purpose: on a local disk these calls take microseconds, less than the
 * thread-pool round trips of their async forms (measured: async made static files 1/5 of a
 * script's rate).
 */
export function lookupStatic(publicRoot: string, relPath: string): StaticFile | null {
  if (isHidden(relPath)) return null;
  let file = openPublic(publicRoot, path.join(publicRoot, relPath));
  if (file?.stat.isDirectory()) {
    fs.closeSync(file.fd);
    file = openPublic(publicRoot, path.join(file.real, "index.html"));
  }
  if (file === null) return null;
  if (!file.stat.isFile()) {
    fs.closeSync(file.fd);
    return null;
  }
  const { stat, real, fd } = file;
  const mtimeSec = Math.floor(stat.mtimeMs / 1000);
  return {
    fd,
    stat,
    real,
    meta: {
      size: stat.size,
      mtimeSec,
      etag: `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`,
      lastModified: new Date(mtimeSec * 1000).toUTCString(),
      contentType: contentType(real),
    },
  };
}

function openPublic(publicRoot: string, candidate: string): Contained | null {
  const file = openContained(publicRoot, candidate);
  // A symlink inside public/ may still lead to a dot-file in it.
  if (file !== null && isHidden(file.real.slice(publicRoot.length + 1).replaceAll(path.sep, "/"))) {
    fs.closeSync(file.fd);
    return null;
  }
  return file;
}

/** Conditional requests, ranges and HEAD, decided from the metadata alone. */
export function planStatic(meta: StaticMeta, req: StaticRequest): StaticPlan {
  const { size, etag, mtimeSec, lastModified } = meta;
  if (notModified(req, etag, mtimeSec))
    return {
      status: 304,
      headers: ["etag", etag, "last-modified", lastModified],
      start: 0,
      length: 0,
    };
  const headers = [
    "content-type",
    meta.contentType,
    "content-length",
    String(size),
    "last-modified",
    lastModified,
    "etag",
    etag,
    "accept-ranges",
    "bytes",
  ];
  let status = 200;
  let start = 0;
  let length = size;
  const range = req.header("range");
  if (range !== undefined && size > 0 && ifRangeMatches(req.header("if-range"), etag, mtimeSec)) {
    const r = parseRange(range, size);
    if (r === "unsatisfiable") {
      const h = [
        "content-range",
        `bytes */${size}`,
        "content-length",
        "0",
        "accept-ranges",
        "bytes",
      ];
      return { status: 416, headers: h, start: 0, length: 0 };
    }
    if (r) {
      status = 206;
      start = r[0];
      length = r[1] - r[0] + 1;
      headers[3] = String(length);
      headers.push("content-range", `bytes ${r[0]}-${r[1]}/${size}`);
    }
  }
  return { status, headers, start, length: req.method === "HEAD" ? 0 : length };
}

/** Where a static answer goes: the pipeline's exchange, or any ResponseWriter-like sink. */
export interface StaticSink {
  head(status: number, headers: string[]): void;
  end(chunk?: Uint8Array): void;
  sendFile(fd: number, start: number, length: number): void;
}

/** Files up to this size are read in one synchronous call and sent with one write. */
export const SMALL_FILE = 64 * 1024;

/**
 * Answers a GET or HEAD from public/, or returns false when there is no such file (or another
 * method: it may belong to a script at the same path, a form POSTing to /contact). Length and
 * body come from the one open file. Throws SiteboxError ERR_UNAVAILABLE when a small file
 * shrank between its fstat and its read (a writer in place): nothing was sent yet.
 */
export function serveStatic(
  req: StaticRequest,
  out: StaticSink,
  publicRoot: string,
  relPath: string,
): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const file = lookupStatic(publicRoot, relPath);
  if (file === null) return false;
  sendStatic(req, out, file);
  return true;
}

/** Answers from a file `lookupStatic` opened; closes its descriptor or hands it to the sink. */
export function sendStatic(req: StaticRequest, out: StaticSink, file: StaticFile): void {
  const plan = planStatic(file.meta, req);
  if (plan.length === 0) {
    fs.closeSync(file.fd);
    out.head(plan.status, plan.headers);
    out.end();
  } else if (plan.length <= SMALL_FILE) {
    let body: Buffer;
    try {
      body = Buffer.allocUnsafe(plan.length);
      const n = fs.readSync(file.fd, body, 0, plan.length, plan.start);
      if (n !== plan.length) throw new SiteboxError("ERR_UNAVAILABLE", "file shrank while read");
    } finally {
      fs.closeSync(file.fd);
    }
    out.head(plan.status, plan.headers);
    out.end(body);
  } else {
    out.head(plan.status, plan.headers);
    // The sender owns the descriptor from here and closes it; a file that ends early cuts the
    // connection (the client sees a truncated response, never a wrong or hanging one).
    out.sendFile(file.fd, plan.start, plan.length);
  }
}

function isHidden(relPath: string): boolean {
  return relPath.startsWith(".") || relPath.includes("/.");
}

/** RFC 9110 §13.2.2: If-None-Match, when present, decides alone; else If-Modified-Since. */
function notModified(req: StaticRequest, etag: string, mtimeSec: number): boolean {
  const inm = req.header("if-none-match");
  if (inm !== undefined) {
    const ours = stripWeak(etag);
    return inm.split(",").some((tag) => {
      const t = tag.trim();
      return t === "*" || stripWeak(t) === ours;
    });
  }
  const ims = req.header("if-modified-since");
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
function ifRangeMatches(ifRange: string | undefined, etag: string, mtimeSec: number): boolean {
  if (ifRange === undefined) return true;
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
