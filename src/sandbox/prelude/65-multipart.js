// multipart/form-data both ways: the HTML spec's encoding of a FormData body, and the parser
// Request/Response.formData() use (the Fetch spec's multipart/form-data parser, lenient where
// RFC 7578 and real clients are: parameters in any order, unquoted values, filename*).
// Parsing allocates in proportion to the body (parts share its bytes), which --max-body bounds.
const MULTIPART_MAX_BOUNDARY = 70; // RFC 2046

// HTML's escaping of names and filenames in a part's header, and newline normalization.
function multipartEscape(s) {
  return s.replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22");
}

function normalizeNewlines(s) {
  return s.replace(/\r\n|\r|\n/g, "\r\n");
}

function newBoundary() {
  const b = new Uint8Array(host.randomBytes(12));
  let hex = "";
  for (let i = 0; i < b.length; i++) hex += (b[i] < 16 ? "0" : "") + b[i].toString(16);
  return "----formdata-sitebox-" + hex;
}

// Entry list -> { bytes, type }: the body and its Content-Type with the boundary.
function serializeMultipart(list) {
  const boundary = newBoundary();
  const parts = [];
  for (let i = 0; i < list.length; i += 2) {
    const name = multipartEscape(normalizeNewlines(list[i]));
    const value = list[i + 1];
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${name}"`;
    if (typeof value === "string") {
      ArrayPrototypePush(parts, utf8Encode(head + "\r\n\r\n" + normalizeNewlines(value) + "\r\n"));
      continue;
    }
    head += `; filename="${multipartEscape(value.name)}"\r\n`;
    head += `Content-Type: ${value.type || "application/octet-stream"}\r\n\r\n`;
    ArrayPrototypePush(parts, utf8Encode(head), blobBytes(value), utf8Encode("\r\n"));
  }
  ArrayPrototypePush(parts, utf8Encode(`--${boundary}--\r\n`));
  return { bytes: concatBytes(parts), type: `multipart/form-data; boundary=${boundary}` };
}

function multipartError(what) {
  return new TypeError(`Failed to parse the body as multipart/form-data: ${what}`);
}

// The boundary parameter of a multipart/form-data Content-Type, or null.
function multipartBoundary(contentType) {
  const m = /;\s*boundary\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(contentType);
  if (m === null) return null;
  const b = m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2];
  return b.length === 0 || b.length > MULTIPART_MAX_BOUNDARY ? null : b;
}

// Bytes (header bytes are latin1: one char per byte) -> string, in slices for apply's limit.
function latin1(u8, from, to) {
  let s = "";
  for (let i = from; i < to; i += 8192) {
    s += ReflectApply(StringFromCharCode, null, u8.subarray(i, MathMin(i + 8192, to)));
  }
  return s;
}

// A latin1 string holding UTF-8 bytes -> the text.
function utf8OfLatin1(s) {
  const u8 = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u8[i] = StringPrototypeCharCodeAt(s, i);
  return utf8Decode(u8, false, true);
}

// Index of needle (a Uint8Array) in u8 from `from`, or -1.
function indexOfBytes(u8, needle, from) {
  const first = needle[0];
  const last = u8.length - needle.length;
  for (let i = u8.indexOf(first, from); i !== -1 && i <= last; i = u8.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && u8[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

// A quoted name or filename as browsers write them (%22, %0D, %0A), and backslash escapes as
// some other clients do.
function unquoteName(q) {
  return q
    .replace(/\\(.)/g, "$1")
    .replace(/%0A/gi, "\n")
    .replace(/%0D/gi, "\r")
    .replace(/%22/g, '"');
}

// Content-Disposition of a part -> { name, filename } (filename null for a text field).
function parseDisposition(value) {
  const m = /^form-data\s*(?=;|$)/i.exec(value);
  if (m === null) throw multipartError('a part\'s Content-Disposition is not "form-data"');
  const params = {};
  const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))\s*/g;
  re.lastIndex = m[0].length;
  let p;
  let at = m[0].length;
  while ((p = re.exec(value)) !== null && p.index === at) {
    const key = p[1].toLowerCase();
    if (!ObjectHasOwn(params, key)) params[key] = p[2] !== undefined ? unquoteName(p[2]) : p[3];
    at = re.lastIndex;
  }
  if (value.slice(at).trim() !== "") throw multipartError("a malformed Content-Disposition");
  if (params.name === undefined) throw multipartError("a part has no name");
  let filename = params.filename === undefined ? null : utf8OfLatin1(params.filename);
  const ext = params["filename*"];
  if (ext !== undefined) {
    // RFC 5987: charset'language'percent-encoded; it wins over filename (RFC 6266).
    const e = /^([^']*)'[^']*'(.*)$/.exec(ext);
    if (e === null || !/^utf-8$/i.test(e[1])) throw multipartError("a bad filename*");
    try {
      filename = decodeURIComponent(e[2]);
    } catch {
      throw multipartError("a bad filename*");
    }
  }
  return { name: utf8OfLatin1(params.name), filename };
}

// The Fetch spec's parser: body bytes and boundary -> flat [name, value, ...] entry list.
function parseMultipart(u8, boundary) {
  const dashBoundary = utf8Encode("--" + boundary);
  const delimiter = utf8Encode("\r\n--" + boundary);
  const list = [];
  let pos = 0;
  const startsWith = (bytes, at) => {
    if (at + bytes.length > u8.length) return false;
    for (let i = 0; i < bytes.length; i++) if (u8[at + i] !== bytes[i]) return false;
    return true;
  };
  const isCRLF = (at) => u8[at] === 13 && u8[at + 1] === 10;
  if (!startsWith(dashBoundary, 0)) throw multipartError("it does not start with the boundary");
  pos = dashBoundary.length;
  for (;;) {
    // After a delimiter: "--" (and an optional CRLF) ends the body, CRLF starts a part.
    if (u8[pos] === 45 && u8[pos + 1] === 45) {
      const rest = u8.length - pos - 2;
      if (rest === 0 || (rest === 2 && isCRLF(pos + 2))) return list;
      throw multipartError("data after the closing boundary");
    }
    if (!isCRLF(pos)) throw multipartError("no CRLF after a boundary");
    pos += 2;
    let name = null;
    let filename = null;
    let type = null;
    // Header lines up to the empty line.
    for (;;) {
      if (isCRLF(pos)) {
        pos += 2;
        break;
      }
      let end = u8.indexOf(13, pos);
      if (end === -1 || u8[end + 1] !== 10) throw multipartError("a part's headers do not end");
      const line = latin1(u8, pos, end);
      pos = end + 2;
      const colon = line.indexOf(":");
      const field = (colon < 0 ? "" : line.slice(0, colon)).trim();
      if (!isToken(field) || /\n/.test(line)) throw multipartError("a malformed part header");
      const value = line.slice(colon + 1).trim();
      const lower = field.toLowerCase();
      if (lower === "content-disposition") ({ name, filename } = parseDisposition(value));
      else if (lower === "content-type") type = value;
    }
    if (name === null) throw multipartError("a part has no Content-Disposition");
    const end = indexOfBytes(u8, delimiter, pos);
    if (end === -1) throw multipartError("a part is not closed by the boundary");
    const body = u8.subarray(pos, end);
    pos = end + delimiter.length;
    if (filename !== null) {
      // Not ASCII: no type, as the spec says.
      const t = type === null ? "text/plain" : /^[\x20-\x7e]*$/.test(type) ? type : "";
      ArrayPrototypePush(list, name, new File([body], filename, { type: t }));
    } else ArrayPrototypePush(list, name, utf8Decode(body, false, true));
  }
}
