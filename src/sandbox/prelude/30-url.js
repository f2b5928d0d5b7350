// URL and URLSearchParams. Parsing is the host's WHATWG parser; setters rebuild an href and parse
// it again, which matches the spec's state-override parsing for all but odd inputs.
const HEX_BYTE = [];
for (let i = 0; i < 256; i++)
  HEX_BYTE.push("%" + (i < 16 ? "0" : "") + i.toString(16).toUpperCase());

// application/x-www-form-urlencoded: bytes left as they are (space becomes '+').
const FORM_SAFE = new Uint8Array(128);
for (const c of "*-._0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  FORM_SAFE[c.charCodeAt(0)] = 1;
}
// Userinfo percent-encode set, for the username and password setters.
const USERINFO_SAFE = new Uint8Array(128);
for (let c = 0x21; c < 0x7f; c++) {
  if (!' "#<>?`{}/:;=@[\\]^|'.includes(StringFromCharCode(c))) USERINFO_SAFE[c] = 1;
}
USERINFO_SAFE[37] = 1; // '%' stays, as the spec leaves it

// Code point at s[i] (lone surrogates become U+FFFD).
function codePointAt(s, i, n) {
  const c = s.charCodeAt(i);
  if (c < 0xd800 || c > 0xdfff) return c;
  const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
  if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff)
    return 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
  return 0xfffd;
}

function percentEncodeCodePoint(c) {
  if (c < 0x800) return HEX_BYTE[0xc0 | (c >> 6)] + HEX_BYTE[0x80 | (c & 63)];
  if (c < 0x10000) {
    return (
      HEX_BYTE[0xe0 | (c >> 12)] + HEX_BYTE[0x80 | ((c >> 6) & 63)] + HEX_BYTE[0x80 | (c & 63)]
    );
  }
  return (
    HEX_BYTE[0xf0 | (c >> 18)] +
    HEX_BYTE[0x80 | ((c >> 12) & 63)] +
    HEX_BYTE[0x80 | ((c >> 6) & 63)] +
    HEX_BYTE[0x80 | (c & 63)]
  );
}

function percentEncode(s, safe, spaceAsPlus) {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || safe[c] === 0) break;
  }
  if (i === n) return s;
  let out = s.slice(0, i);
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) {
      if (safe[c] === 1) out += s[i];
      else out += c === 32 && spaceAsPlus ? "+" : HEX_BYTE[c];
    } else {
      const cp = codePointAt(s, i, n);
      if (cp > 0xffff) i++;
      out += percentEncodeCodePoint(cp);
    }
  }
  return out;
}

function hexValue(c) {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

// Percent-decodes, then UTF-8 decodes without BOM, as the urlencoded parser does.
function decodeFormComponent(s) {
  if (s.includes("+")) s = s.replaceAll("+", " ");
  if (!s.includes("%")) return s.toWellFormed();
  const bytes = utf8Encode(s);
  const n = bytes.length;
  const out = new Uint8Array(n);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 37 && i + 2 < n) {
      const h = hexValue(bytes[i + 1]);
      const l = hexValue(bytes[i + 2]);
      if (h >= 0 && l >= 0) {
        out[j++] = (h << 4) | l;
        i += 2;
        continue;
      }
    }
    out[j++] = b;
  }
  return utf8Decode(out.subarray(0, j), false, true);
}

function parseUrlencoded(s, list) {
  const n = s.length;
  let start = 0;
  while (start < n) {
    let amp = s.indexOf("&", start);
    if (amp < 0) amp = n;
    if (amp > start) {
      const eq = s.indexOf("=", start);
      if (eq >= 0 && eq < amp) {
        list.push(
          decodeFormComponent(s.slice(start, eq)),
          decodeFormComponent(s.slice(eq + 1, amp)),
        );
      } else {
        list.push(decodeFormComponent(s.slice(start, amp)), "");
      }
    }
    start = amp + 1;
  }
  return list;
}

function serializeUrlencoded(list) {
  let out = "";
  for (let i = 0; i < list.length; i += 2) {
    if (i > 0) out += "&";
    out +=
      percentEncode(list[i], FORM_SAFE, true) + "=" + percentEncode(list[i + 1], FORM_SAFE, true);
  }
  return out;
}

let paramsAttach; // (params, url, list) for URL.searchParams
let paramsReplace; // (params, list) after the URL's query changed
let urlSetQuery; // (url, serialized) after the params changed

class URLSearchParams {
  #list = []; // flat: [name, value, name, value, ...]
  #url = null;
  constructor(init = "") {
    if (init === INTERNAL) return;
    const list = this.#list;
    if (isObject(init)) {
      if (#list in init) {
        this.#list = init.#list.slice();
      } else if (typeof init[SymbolIterator] === "function") {
        for (const pair of init) {
          if (!isObject(pair) || typeof pair[SymbolIterator] !== "function") {
            throw new TypeError("URLSearchParams: each pair must be an iterable [name, value]");
          }
          const a = ArrayFrom(pair);
          if (a.length !== 2) {
            throw new TypeError("URLSearchParams: each pair must have exactly two items");
          }
          list.push(toUSVString(a[0]), toUSVString(a[1]));
        }
      } else {
        for (const key of ObjectKeys(init)) list.push(toUSVString(key), toUSVString(init[key]));
      }
    } else {
      const s = toUSVString(init);
      parseUrlencoded(s.charCodeAt(0) === 63 ? s.slice(1) : s, list);
    }
  }
  static {
    paramsAttach = (p, url, list) => {
      p.#url = url;
      p.#list = list;
    };
    paramsReplace = (p, list) => {
      p.#list = list;
    };
  }
  #update() {
    if (this.#url) urlSetQuery(this.#url, serializeUrlencoded(this.#list));
  }
  get size() {
    return this.#list.length >> 1;
  }
  append(name, value) {
    this.#list.push(toUSVString(name), toUSVString(value));
    this.#update();
  }
  delete(name, value) {
    name = toUSVString(name);
    const match = value === undefined ? undefined : toUSVString(value);
    const list = this.#list;
    const kept = [];
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] !== name || (match !== undefined && list[i + 1] !== match)) {
        kept.push(list[i], list[i + 1]);
      }
    }
    this.#list = kept;
    this.#update();
  }
  get(name) {
    name = toUSVString(name);
    const list = this.#list;
    for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
    return null;
  }
  getAll(name) {
    name = toUSVString(name);
    const list = this.#list;
    const out = [];
    for (let i = 0; i < list.length; i += 2) if (list[i] === name) out.push(list[i + 1]);
    return out;
  }
  has(name, value) {
    name = toUSVString(name);
    const match = value === undefined ? undefined : toUSVString(value);
    const list = this.#list;
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === name && (match === undefined || list[i + 1] === match)) return true;
    }
    return false;
  }
  set(name, value) {
    name = toUSVString(name);
    value = toUSVString(value);
    const list = this.#list;
    const out = [];
    let found = false;
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] !== name) out.push(list[i], list[i + 1]);
      else if (!found) {
        out.push(name, value);
        found = true;
      }
    }
    if (!found) out.push(name, value);
    this.#list = out;
    this.#update();
  }
  // Stable sort by name in UTF-16 code units.
  sort() {
    const list = this.#list;
    const idx = [];
    for (let i = 0; i < list.length; i += 2) idx.push(i);
    idx.sort((a, b) => (list[a] < list[b] ? -1 : list[a] > list[b] ? 1 : a - b));
    const out = [];
    for (const i of idx) out.push(list[i], list[i + 1]);
    this.#list = out;
    this.#update();
  }
  forEach(callback, thisArg) {
    if (!isCallable(callback))
      throw new TypeError("URLSearchParams.forEach: callback is not a function");
    for (let i = 0; i < this.#list.length; i += 2) {
      callback.call(thisArg, this.#list[i + 1], this.#list[i], this);
    }
  }
  *entries() {
    for (let i = 0; i < this.#list.length; i += 2) yield [this.#list[i], this.#list[i + 1]];
  }
  *keys() {
    for (let i = 0; i < this.#list.length; i += 2) yield this.#list[i];
  }
  *values() {
    for (let i = 0; i < this.#list.length; i += 2) yield this.#list[i + 1];
  }
  [SymbolIterator]() {
    return this.entries();
  }
  toString() {
    return serializeUrlencoded(this.#list);
  }
  [INSPECT]() {
    return ObjectFromEntries(this.entries());
  }
}
const ObjectFromEntries = Object.fromEntries;
setToStringTag(URLSearchParams, "URLSearchParams");
defineGlobal("URLSearchParams", URLSearchParams);

const SPECIAL_SCHEMES = { "ftp:": 1, "file:": 1, "http:": 1, "https:": 1, "ws:": 1, "wss:": 1 };

function parseURLParts(input, base) {
  const json =
    base === undefined
      ? host.parseURL(toUSVString(input))
      : host.parseURL(toUSVString(input), toUSVString(base));
  return json === "" ? null : JSONparse(json);
}

// href -> [before query, query with '?', fragment with '#'] ('?' and '#' are always encoded
// elsewhere in a serialized URL).
function splitHref(href) {
  let h = href.indexOf("#");
  if (h < 0) h = href.length;
  let q = href.indexOf("?");
  if (q < 0 || q > h) q = h;
  return [href.slice(0, q), href.slice(q, h), href.slice(h)];
}

class URL {
  #p; // parts from the host: href, origin, protocol, username, ..., search, hash
  #params = null;
  constructor(url, base) {
    if (arguments.length === 0) throw new TypeError("URL: 1 argument required");
    const p = parseURLParts(url, base);
    if (p === null) throw new TypeError(`Invalid URL: ${String(url)}`);
    this.#p = p;
  }
  static canParse(url, base) {
    return parseURLParts(url, base) !== null;
  }
  static parse(url, base) {
    try {
      return new URL(url, base);
    } catch {
      return null;
    }
  }
  static {
    urlSetQuery = (u, serialized) => {
      const p = u.#p;
      const [pre, , frag] = splitHref(p.href);
      p.search = serialized === "" ? "" : "?" + serialized;
      p.href = pre + p.search + frag;
    };
  }
  #hasAuthority() {
    return this.#p.href.startsWith(this.#p.protocol + "//");
  }
  #opaquePath() {
    const p = this.#p;
    return !SPECIAL_SCHEMES[p.protocol] && !this.#hasAuthority() && !p.pathname.startsWith("/");
  }
  // Parses href and, if valid, adopts it; keeps searchParams in step.
  #reparse(href) {
    const p = parseURLParts(href);
    if (p === null) return false;
    this.#p = p;
    if (this.#params) paramsReplace(this.#params, parseUrlencoded(p.search.slice(1), []));
    return true;
  }
  #rebuild(change) {
    const p = { ...this.#p, ...change };
    let s = p.protocol + "//";
    if (p.username || p.password) {
      s += p.username + (p.password ? ":" + p.password : "") + "@";
    }
    s += p.hostname + (p.port ? ":" + p.port : "");
    const [, query, frag] = splitHref(this.#p.href);
    return this.#reparse(s + p.pathname + query + frag);
  }
  get href() {
    return this.#p.href;
  }
  set href(v) {
    if (!this.#reparse(String(v))) throw new TypeError(`Invalid URL: ${String(v)}`);
  }
  get origin() {
    return this.#p.origin;
  }
  get protocol() {
    return this.#p.protocol;
  }
  set protocol(v) {
    const p = this.#p;
    const s = String(v);
    const colon = s.indexOf(":");
    const scheme = (colon < 0 ? s : s.slice(0, colon)).toLowerCase() + ":";
    if (!/^[a-z][a-z0-9+.-]*:$/.test(scheme)) return;
    if (!SPECIAL_SCHEMES[scheme] !== !SPECIAL_SCHEMES[p.protocol]) return;
    if (scheme === "file:" && (p.username || p.password || p.port)) return;
    if (p.protocol === "file:" && p.hostname === "") return;
    this.#reparse(scheme + p.href.slice(p.protocol.length));
  }
  get username() {
    return this.#p.username;
  }
  set username(v) {
    if (this.#p.hostname === "" || this.#p.protocol === "file:") return;
    this.#rebuild({ username: percentEncode(String(v), USERINFO_SAFE, false) });
  }
  get password() {
    return this.#p.password;
  }
  set password(v) {
    if (this.#p.hostname === "" || this.#p.protocol === "file:") return;
    this.#rebuild({ password: percentEncode(String(v), USERINFO_SAFE, false) });
  }
  get host() {
    return this.#p.host;
  }
  set host(v) {
    this.#setHost(String(v), true);
  }
  get hostname() {
    return this.#p.hostname;
  }
  set hostname(v) {
    this.#setHost(String(v), false);
  }
  #setHost(s, withPort) {
    if (this.#opaquePath()) return;
    const special = !!SPECIAL_SCHEMES[this.#p.protocol];
    const end = s.search(special ? /[/?#\\]/ : /[/?#]/);
    if (end >= 0) s = s.slice(0, end);
    const close = s.startsWith("[") ? s.indexOf("]") : -1;
    const colon = s.indexOf(":", close < 0 ? 0 : close);
    let hostname = colon < 0 ? s : s.slice(0, colon);
    if (hostname === "" && special) return;
    const change = { hostname };
    if (colon >= 0) {
      if (!withPort) return;
      const digits = /^\d*/.exec(s.slice(colon + 1))[0];
      if (digits !== "") change.port = digits;
    }
    if (change.port === undefined && hostname === "") change.port = "";
    this.#rebuild(change);
  }
  get port() {
    return this.#p.port;
  }
  set port(v) {
    if (this.#p.hostname === "" || this.#p.protocol === "file:") return;
    const s = String(v);
    const digits = /^\d*/.exec(s)[0];
    if (s !== "" && digits === "") return;
    this.#rebuild({ port: digits });
  }
  get pathname() {
    return this.#p.pathname;
  }
  set pathname(v) {
    if (this.#opaquePath()) return;
    const p = this.#p;
    let path = String(v).replaceAll("?", "%3F").replaceAll("#", "%23");
    const special = !!SPECIAL_SCHEMES[p.protocol];
    const first = path[0];
    if ((special || this.#hasAuthority()) && first !== "/" && !(special && first === "\\")) {
      path = "/" + path;
    }
    const [pre, query, frag] = splitHref(p.href);
    let prefix = pre.slice(0, pre.length - p.pathname.length);
    if (prefix.endsWith(":/.") && !this.#hasAuthority()) prefix = prefix.slice(0, -2);
    if (!this.#hasAuthority() && path.startsWith("//")) prefix += "/.";
    this.#reparse(prefix + path + query + frag);
  }
  get search() {
    return this.#p.search;
  }
  set search(v) {
    let s = String(v);
    const [pre, , frag] = splitHref(this.#p.href);
    if (s === "") {
      this.#reparse(pre + frag);
      return;
    }
    if (s[0] === "?") s = s.slice(1);
    this.#reparse(pre + "?" + s.replaceAll("#", "%23") + frag);
  }
  get searchParams() {
    if (this.#params === null) {
      this.#params = new URLSearchParams(INTERNAL);
      paramsAttach(this.#params, this, parseUrlencoded(this.#p.search.slice(1), []));
    }
    return this.#params;
  }
  get hash() {
    return this.#p.hash;
  }
  set hash(v) {
    let s = String(v);
    const [pre, query] = splitHref(this.#p.href);
    if (s === "") {
      this.#reparse(pre + query);
      return;
    }
    if (s[0] === "#") s = s.slice(1);
    this.#reparse(pre + query + "#" + s);
  }
  toString() {
    return this.#p.href;
  }
  toJSON() {
    return this.#p.href;
  }
  [INSPECT]() {
    const { href, origin, protocol, username, password, host, hostname, port } = this.#p;
    const { pathname, search, hash } = this.#p;
    const sp = this.searchParams;
    const o = { href, origin, protocol, username, password, host, hostname, port, pathname };
    return { ...o, search, searchParams: sp, hash };
  }
}
setToStringTag(URL, "URL");
defineGlobal("URL", URL);
