// URL and URLSearchParams. Parsing is the host's WHATWG parser; setters rebuild an href and parse
// it again, which matches the spec's state-override parsing for all but odd inputs.
// Name-value lists of URLSearchParams and FormData: flat [name, value, name, value, ...] arrays.
function pairsGet(list, name) {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return null;
}

function pairsGetAll(list, name) {
  const out = [];
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) out.push(list[i + 1]);
  return out;
}

// value undefined: any value.
function pairsHas(list, name, value) {
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === name && (value === undefined || list[i + 1] === value)) return true;
  }
  return false;
}

function pairsWithout(list, name, value) {
  const out = [];
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] !== name || (value !== undefined && list[i + 1] !== value)) {
      out.push(list[i], list[i + 1]);
    }
  }
  return out;
}

// The first pair of that name gets the value, the others go; appended if none.
function pairsSet(list, name, value) {
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
  return out;
}

function pairsForEach(owner, getList, callback, thisArg) {
  if (!isCallable(callback)) throw new TypeError("forEach: callback is not a function");
  for (let i = 0; i < getList().length; i += 2) {
    callback.call(thisArg, getList()[i + 1], getList()[i], owner);
  }
}

// Live iteration, as WebIDL's: each step looks at the list as it is now.
function* pairsIterate(getList, kind) {
  for (let i = 0; i < getList().length; i += 2) {
    const list = getList();
    yield kind === "keys" ? list[i] : kind === "values" ? list[i + 1] : [list[i], list[i + 1]];
  }
}

// WebIDL's iterable<name, value> (forEach, entries, keys, values, @@iterator = entries) for a
// class whose instances hold a flat [name, value, ...] list: URLSearchParams and FormData.
function installPairIterable(proto, listOf) {
  const methods = {
    forEach(callback, thisArg) {
      pairsForEach(this, () => listOf(this), callback, thisArg);
    },
    entries() {
      return pairsIterate(() => listOf(this), "entries");
    },
    keys() {
      return pairsIterate(() => listOf(this), "keys");
    },
    values() {
      return pairsIterate(() => listOf(this), "values");
    },
  };
  for (const name of ["forEach", "entries", "keys", "values"])
    ObjectDefineProperty(proto, name, { value: methods[name], writable: true, configurable: true });
  ObjectDefineProperty(proto, SymbolIterator, {
    value: methods.entries,
    writable: true,
    configurable: true,
  });
}

let paramsAttach; // (params, url, list) for URL.searchParams
let paramsReplace; // (params, list) after the URL's query changed
let urlSetQuery; // (url, serialized) after the params changed

class URLSearchParams {
  #list = [];
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
    installPairIterable(this.prototype, (p) => p.#list);
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
    const v = value === undefined ? undefined : toUSVString(value);
    this.#list = pairsWithout(this.#list, toUSVString(name), v);
    this.#update();
  }
  get(name) {
    return pairsGet(this.#list, toUSVString(name));
  }
  getAll(name) {
    return pairsGetAll(this.#list, toUSVString(name));
  }
  has(name, value) {
    return pairsHas(
      this.#list,
      toUSVString(name),
      value === undefined ? value : toUSVString(value),
    );
  }
  set(name, value) {
    this.#list = pairsSet(this.#list, toUSVString(name), toUSVString(value));
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
  toString() {
    return serializeUrlencoded(this.#list);
  }
  [INSPECT]() {
    return Object.fromEntries(this.entries());
  }
}
setToStringTag(URLSearchParams, "URLSearchParams");
defineGlobal("URLSearchParams", URLSearchParams);

const SPECIAL_SCHEMES = { "ftp:": 1, "file:": 1, "http:": 1, "https:": 1, "ws:": 1, "wss:": 1 };

// Parsed parts of recently seen absolute URLs (handlers run `new URL(request.url)` a lot). The
// parts objects are frozen and shared: a URL replaces its parts, never mutates them.
const URL_CACHE = new Map();

function parseURLParts(input, base) {
  if (base === undefined) {
    const s = typeof input === "string" ? input : toUSVString(input);
    const hit = URL_CACHE.get(s);
    if (hit !== undefined) return hit;
    const json = host.parseURL(s.toWellFormed());
    if (json === "") return null;
    if (URL_CACHE.size >= 256) URL_CACHE.clear();
    const p = ObjectFreeze(JSONparse(json));
    URL_CACHE.set(s, p);
    return p;
  }
  const json = host.parseURL(toUSVString(input), toUSVString(base));
  return json === "" ? null : ObjectFreeze(JSONparse(json));
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
      const [pre, , frag] = splitHref(u.#p.href);
      const search = serialized === "" ? "" : "?" + serialized;
      u.#p = ObjectFreeze({ ...u.#p, search, href: pre + search + frag });
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
    const hostname = colon < 0 ? s : s.slice(0, colon);
    // '@' would turn into userinfo when reparsed; it is a forbidden host code point anyway.
    if (hostname.includes("@")) return;
    if (hostname === "" && (special || !this.#hasAuthority())) return; // no change, as Node
    const change = { hostname };
    if (colon >= 0) {
      if (!withPort || this.#p.protocol === "file:") return;
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
    // A non-opaque path always serializes with a leading "/", except an empty one after a host.
    const keepEmpty = path === "" && !special && this.#hasAuthority();
    if (!keepEmpty && first !== "/" && !(special && first === "\\")) path = "/" + path;
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
