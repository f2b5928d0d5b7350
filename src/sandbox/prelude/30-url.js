// URL and URLSearchParams. Parsing and the setters' state-override parsing are the host's WHATWG
// URL (Node's, exact).
// Name-value lists of URLSearchParams and FormData: flat [name, value, name, value, ...] arrays.
function pairsGet(list, name) {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return null;
}

function pairsGetAll(list, name) {
  const out = [];
  for (let i = 0; i < list.length; i += 2)
    if (list[i] === name) ArrayPrototypePush(out, list[i + 1]);
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
      ArrayPrototypePush(out, list[i], list[i + 1]);
    }
  }
  return out;
}

// The first pair of that name gets the value, the others go; appended if none.
function pairsSet(list, name, value) {
  const out = [];
  let found = false;
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] !== name) ArrayPrototypePush(out, list[i], list[i + 1]);
    else if (!found) {
      ArrayPrototypePush(out, name, value);
      found = true;
    }
  }
  if (!found) ArrayPrototypePush(out, name, value);
  return out;
}

function pairsForEach(owner, getList, callback, thisArg) {
  if (!isCallable(callback)) throw new TypeError("forEach: callback is not a function");
  for (let i = 0; i < getList().length; i += 2) {
    FunctionPrototypeCall(callback, thisArg, getList()[i + 1], getList()[i], owner);
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
let paramsEntries; // the original URLSearchParams.prototype.entries
let paramsReplace; // (params, list) after the URL's query changed
let urlSetQuery; // (url, serialized) after the params changed
let isParams; // (v) -> boolean
let paramsSerialize; // (params) -> application/x-www-form-urlencoded text

class URLSearchParams {
  #list = [];
  #url = null;
  constructor(init = "") {
    if (init === INTERNAL) return;
    const list = this.#list;
    if (isObject(init)) {
      const method = webidlIteratorMethod(init, "URLSearchParams");
      if (#list in init && method === paramsEntries) {
        this.#list = arrayCopy(init.#list, 0);
        return;
      }
      const flat =
        method !== undefined
          ? webidlPairs(init, method, toUSVString, "URLSearchParams")
          : webidlRecord(init, toUSVString, toUSVString, "URLSearchParams");
      for (let i = 0; i < flat.length; i++) ArrayPrototypePush(list, flat[i]);
    } else {
      const s = toUSVString(init);
      parseUrlencoded(
        StringPrototypeCharCodeAt(s, 0) === 63 ? StringPrototypeSlice(s, 1) : s,
        list,
      );
    }
  }
  static {
    installPairIterable(this.prototype, (p) => p.#list);
    paramsEntries = this.prototype.entries;
    paramsAttach = (p, url, list) => {
      p.#url = url;
      p.#list = list;
    };
    paramsReplace = (p, list) => {
      p.#list = list;
    };
    isParams = (v) => isObject(v) && #list in v;
    paramsSerialize = (p) => serializeUrlencoded(p.#list);
  }
  #update() {
    if (this.#url) urlSetQuery(this.#url, serializeUrlencoded(this.#list));
  }
  get size() {
    return this.#list.length >> 1;
  }
  append(name, value) {
    ArrayPrototypePush(this.#list, toUSVString(name), toUSVString(value));
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
    for (let i = 0; i < list.length; i += 2) ArrayPrototypePush(idx, i);
    idx.sort((a, b) => (list[a] < list[b] ? -1 : list[a] > list[b] ? 1 : a - b));
    const out = [];
    for (const i of idx) ArrayPrototypePush(out, list[i], list[i + 1]);
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

// Parsed parts of recently seen absolute URLs (handlers run `new URL(request.url)` a lot). The
// parts objects are frozen and shared: a URL replaces its parts, never mutates them.
const URL_CACHE = new SafeMap();

function parseURLParts(input, base) {
  if (base === undefined) {
    const s = typeof input === "string" ? input : toUSVString(input);
    const hit = URL_CACHE.get(s);
    if (hit !== undefined) return hit;
    const json = host.parseURL(StringPrototypeToWellFormed(s));
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
  let h = StringPrototypeIndexOf(href, "#");
  if (h < 0) h = href.length;
  let q = StringPrototypeIndexOf(href, "?");
  if (q < 0 || q > h) q = h;
  return [
    StringPrototypeSlice(href, 0, q),
    StringPrototypeSlice(href, q, h),
    StringPrototypeSlice(href, h),
  ];
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
      const parts = splitHref(u.#p.href);
      const pre = parts[0];
      const frag = parts[2];
      const search = serialized === "" ? "" : "?" + serialized;
      u.#p = ObjectFreeze({ ...u.#p, search, href: pre + search + frag });
    };
  }
  // Parses href and, if valid, adopts it; keeps searchParams in step.
  #reparse(href) {
    const p = parseURLParts(href);
    if (p === null) return false;
    this.#adopt(p);
    return true;
  }
  #adopt(p) {
    this.#p = p;
    if (this.#params)
      paramsReplace(this.#params, parseUrlencoded(StringPrototypeSlice(p.search, 1), []));
  }
  // The spec's setters (state-override parsing) are Node's, applied on the host.
  #set(name, v) {
    const json = host.urlSet(this.#p.href, name, toUSVString(v));
    if (json !== "") this.#adopt(ObjectFreeze(JSONparse(json)));
  }
  get href() {
    return this.#p.href;
  }
  set href(v) {
    if (!this.#reparse(toUSVString(v))) throw new TypeError(`Invalid URL: ${String(v)}`);
  }
  get origin() {
    return this.#p.origin;
  }
  get protocol() {
    return this.#p.protocol;
  }
  set protocol(v) {
    this.#set("protocol", v);
  }
  get username() {
    return this.#p.username;
  }
  set username(v) {
    this.#set("username", v);
  }
  get password() {
    return this.#p.password;
  }
  set password(v) {
    this.#set("password", v);
  }
  get host() {
    return this.#p.host;
  }
  set host(v) {
    this.#set("host", v);
  }
  get hostname() {
    return this.#p.hostname;
  }
  set hostname(v) {
    this.#set("hostname", v);
  }
  get port() {
    return this.#p.port;
  }
  set port(v) {
    this.#set("port", v);
  }
  get pathname() {
    return this.#p.pathname;
  }
  set pathname(v) {
    this.#set("pathname", v);
  }
  get search() {
    return this.#p.search;
  }
  set search(v) {
    this.#set("search", v);
  }
  get searchParams() {
    if (this.#params === null) {
      this.#params = new URLSearchParams(INTERNAL);
      paramsAttach(
        this.#params,
        this,
        parseUrlencoded(StringPrototypeSlice(this.#p.search, 1), []),
      );
    }
    return this.#params;
  }
  get hash() {
    return this.#p.hash;
  }
  set hash(v) {
    this.#set("hash", v);
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
