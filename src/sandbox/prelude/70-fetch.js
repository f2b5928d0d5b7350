// Request, Response and a fetch that always rejects (sandboxes have no outbound network).
const NORMALIZED_METHODS = {
  delete: "DELETE",
  get: "GET",
  head: "HEAD",
  options: "OPTIONS",
  post: "POST",
  put: "PUT",
};
const NULL_BODY_STATUS = { 101: 1, 103: 1, 204: 1, 205: 1, 304: 1 };
const REDIRECT_STATUS = { 301: 1, 302: 1, 303: 1, 307: 1, 308: 1 };
const REQUEST_DEFAULTS = ObjectFreeze({
  cache: "default",
  credentials: "same-origin",
  integrity: "",
  keepalive: false,
  mode: "cors",
  redirect: "follow",
  referrer: "about:client",
  referrerPolicy: "",
});

function normalizeMethod(m) {
  const s = String(m);
  if (!isToken(s)) throw new TypeError(`Invalid request method: "${s}"`);
  const lower = s.toLowerCase();
  if (lower === "connect" || lower === "trace" || lower === "track") {
    throw new TypeError(`Forbidden request method: "${s}"`);
  }
  return ObjectHasOwn(NORMALIZED_METHODS, lower) ? NORMALIZED_METHODS[lower] : s;
}

let isRequest; // (v) -> boolean
let initIncoming; // (request, url, method, flatHeaders, body, signal)
let abortIncoming; // (request, reason)

class Request {
  #url;
  #method;
  #list; // flat header list (lower-case names), or undefined until built from #raw
  #raw; // flat header list from the host, names in any case
  #headers; // Headers object, made on first access
  #body;
  #signal; // AbortSignal, or undefined until first access
  #opts;
  constructor(input, init) {
    if (input === INTERNAL) return;
    if (arguments.length === 0) throw new TypeError("Request: 1 argument required");
    if (init !== undefined && init !== null && !isObject(init)) {
      throw new TypeError("Request: init must be an object");
    }
    const o = init ?? {};
    const from = isObject(input) && #url in input ? input : null;
    let signal = null;
    let opts = REQUEST_DEFAULTS;
    if (from !== null) {
      this.#url = from.#url;
      this.#method = from.#method;
      opts = from.#opts;
      signal = from.signal;
    } else {
      const p = parseURLParts(String(input));
      if (p === null) throw new TypeError(`Invalid URL: ${String(input)}`);
      if (p.username || p.password) throw new TypeError("Request: URL includes credentials");
      this.#url = p.href;
      this.#method = "GET";
    }
    if (o.method !== undefined) this.#method = normalizeMethod(o.method);
    if (o.signal !== undefined) {
      if (o.signal !== null && !(o.signal instanceof AbortSignal)) {
        throw new TypeError("Request: signal is not an AbortSignal");
      }
      signal = o.signal;
    }
    const custom = {};
    let changed = false;
    for (const key of ObjectKeys(REQUEST_DEFAULTS)) {
      if (o[key] !== undefined) {
        custom[key] = typeof REQUEST_DEFAULTS[key] === "boolean" ? !!o[key] : String(o[key]);
        changed = true;
      }
    }
    if (custom.redirect !== undefined && !["follow", "error", "manual"].includes(custom.redirect)) {
      throw new TypeError(`Request: invalid redirect mode "${custom.redirect}"`);
    }
    if (changed) opts = ObjectFreeze({ ...opts, ...custom });
    this.#opts = opts;
    const list =
      o.headers !== undefined ? headersFill([], o.headers) : from ? from.#headerList().slice() : [];
    const inputBody = from ? from.#body : NO_BODY;
    const hasBody = (o.body !== undefined && o.body !== null) || inputBody !== NO_BODY;
    if (hasBody && (this.#method === "GET" || this.#method === "HEAD")) {
      throw new TypeError("Request with GET/HEAD method cannot have body");
    }
    if (o.body !== undefined && o.body !== null) {
      this.#body = extractBody(o.body);
      if (extractedType !== null && listIndex(list, "content-type") < 0) {
        list.push("content-type", extractedType);
      }
    } else if (inputBody !== NO_BODY) {
      // The new request takes the input's body over; the input becomes used.
      if (bodyUnusable(inputBody)) throw unusableError();
      this.#body = { ...inputBody };
      inputBody.used = true;
    } else this.#body = NO_BODY;
    this.#list = list;
    // Like the spec, the new request's signal follows the given one.
    this.#signal = signal === null ? undefined : AbortSignal.any([signal]);
  }
  static {
    isRequest = (v) => isObject(v) && #url in v;
    initIncoming = (r, url, method, flat, body, signal) => {
      r.#url = url;
      r.#method = method;
      r.#raw = flat;
      r.#body = body === undefined ? NO_BODY : newBody("bytes", new Uint8Array(body), true);
      r.#signal = signal ?? undefined;
      r.#opts = REQUEST_DEFAULTS;
    };
    abortIncoming = (r, reason) => signalAbort(r.signal, reason);
  }
  #headerList() {
    if (this.#list === undefined) {
      const raw = this.#raw;
      const list = new Array(raw.length);
      for (let i = 0; i < raw.length; i += 2) {
        list[i] = raw[i].toLowerCase();
        list[i + 1] = raw[i + 1];
      }
      this.#list = list;
      this.#raw = undefined;
    }
    return this.#list;
  }
  get method() {
    return this.#method;
  }
  get url() {
    return this.#url;
  }
  get headers() {
    return (this.#headers ??= headersWrap(this.#headerList(), false));
  }
  get signal() {
    return (this.#signal ??= newAbortSignal());
  }
  get destination() {
    return "";
  }
  get referrer() {
    return this.#opts.referrer;
  }
  get referrerPolicy() {
    return this.#opts.referrerPolicy;
  }
  get mode() {
    return this.#opts.mode;
  }
  get credentials() {
    return this.#opts.credentials;
  }
  get cache() {
    return this.#opts.cache;
  }
  get redirect() {
    return this.#opts.redirect;
  }
  get integrity() {
    return this.#opts.integrity;
  }
  get keepalive() {
    return this.#opts.keepalive;
  }
  get isReloadNavigation() {
    return false;
  }
  get isHistoryNavigation() {
    return false;
  }
  get duplex() {
    return "half";
  }
  get body() {
    return bodyStream(this.#body);
  }
  get bodyUsed() {
    return bodyUsed(this.#body);
  }
  clone() {
    const body = bodyClone(this.#body);
    const r = new Request(INTERNAL);
    r.#url = this.#url;
    r.#method = this.#method;
    r.#list = this.#headerList().slice();
    r.#body = body;
    r.#opts = this.#opts;
    r.#signal = AbortSignal.any([this.signal]);
    return r;
  }
  text() {
    return bodyConsume(this.#body, true);
  }
  json() {
    return bodyJSON(this.#body);
  }
  arrayBuffer() {
    return bodyArrayBuffer(this.#body);
  }
  bytes() {
    return bodyConsume(this.#body, false);
  }
  blob() {
    return bodyBlob(this.#body, listGet(this.#headerList(), "content-type"));
  }
  formData() {
    return bodyFormData(this.#body, listGet(this.#headerList(), "content-type"));
  }
  [INSPECT]() {
    const { method, url, headers, body, bodyUsed } = this;
    return { method, url, headers, body, bodyUsed };
  }
}
setToStringTag(Request, "Request");
defineGlobal("Request", Request);

// Request handed to a handler: no URL parsing, headers and body made only when used.
function newIncomingRequest(url, method, flatHeaders, body, signal) {
  const r = new Request(INTERNAL);
  initIncoming(r, url, method, flatHeaders, body, signal);
  return r;
}

// Aborts request.signal (made now if nobody has read it yet), e.g. when the client went away.
function abortIncomingRequest(request, reason) {
  abortIncoming(request, reason);
}

function toStatus(v) {
  if (typeof v === "number" && (v | 0) === v) return v;
  const n = MathTrunc(Number(v));
  return NumberIsFinite(n) ? ((n % 65536) + 65536) % 65536 : 0;
}

// reason-phrase: HTAB, SP, VCHAR, obs-text.
function checkStatusText(s) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 9) || c === 0x7f || c > 0xff) {
      throw new TypeError(`Invalid statusText: "${s}"`);
    }
  }
  return s;
}

let isResponse; // (v) -> boolean
let responsePartsOf; // (response) -> parts

class Response {
  #status;
  #statusText;
  #list;
  #headers; // Headers object, made on first access
  #immutable; // headers guard, for error() and redirect()
  #body;
  #type;
  constructor(body = null, init) {
    if (body === INTERNAL) return;
    const b = body === null || body === undefined ? NO_BODY : extractBody(body);
    this.#init(init, b, b === NO_BODY ? null : extractedType);
  }
  #init(init, b, contentType) {
    let status = 200;
    let statusText = "";
    let list;
    if (init !== undefined && init !== null) {
      if (!isObject(init)) throw new TypeError("Response: init must be an object");
      if (init.status !== undefined) {
        status = toStatus(init.status);
        if (status < 200 || status > 599) {
          throw new RangeError(`Response: status ${status} is not in the range 200 to 599`);
        }
      }
      if (init.statusText !== undefined) statusText = checkStatusText(String(init.statusText));
      list = init.headers === undefined ? [] : headersFill([], init.headers);
    } else list = [];
    if (b !== NO_BODY) {
      if (NULL_BODY_STATUS[status] === 1) {
        throw new TypeError(`Response with status ${status} cannot have a body`);
      }
      if (contentType !== null && listIndex(list, "content-type") < 0) {
        list.push("content-type", contentType);
      }
    }
    this.#status = status;
    this.#statusText = statusText;
    this.#list = list;
    this.#immutable = false;
    this.#body = b;
    this.#type = "default";
  }
  static json(data, init) {
    const text = JSONstringify(data);
    if (text === undefined) throw new TypeError("Response.json: data is not JSON serializable");
    const r = new Response(INTERNAL);
    r.#init(init, newBody("text", text, false), "application/json");
    return r;
  }
  static redirect(url, status = 302) {
    const p = parseURLParts(url);
    if (p === null) throw new TypeError(`Invalid URL: ${String(url)}`);
    const s = toStatus(status);
    if (REDIRECT_STATUS[s] !== 1) throw new RangeError(`Invalid redirect status: ${s}`);
    const r = new Response(INTERNAL);
    r.#init({ status: s }, NO_BODY, null);
    r.#list.push("location", p.href);
    r.#immutable = true;
    return r;
  }
  static error() {
    const r = new Response(INTERNAL);
    r.#init(undefined, NO_BODY, null);
    r.#status = 0;
    r.#immutable = true;
    r.#type = "error";
    return r;
  }
  static {
    isResponse = (v) => isObject(v) && #body in v;
    responsePartsOf = (r) => {
      const b = r.#body;
      if (r.#type === "error") throw new TypeError("Response.error() cannot be sent");
      let kind = b.kind;
      let data;
      if (kind !== "none") {
        if (bodyUnusable(b)) throw new TypeError("the Response body has already been used");
        if (kind === "stream") data = b.stream;
        else {
          b.used = true;
          data = kind === "text" ? b.data : bufferOf(b.data);
        }
      }
      return { status: r.#status, statusText: r.#statusText, headers: r.#list, kind, body: data };
    };
  }
  get type() {
    return this.#type;
  }
  get url() {
    return "";
  }
  get redirected() {
    return false;
  }
  get status() {
    return this.#status;
  }
  get ok() {
    return this.#status >= 200 && this.#status <= 299;
  }
  get statusText() {
    return this.#statusText;
  }
  get headers() {
    return (this.#headers ??= headersWrap(this.#list, this.#immutable));
  }
  get body() {
    return bodyStream(this.#body);
  }
  get bodyUsed() {
    return bodyUsed(this.#body);
  }
  clone() {
    const body = bodyClone(this.#body);
    const r = new Response(INTERNAL);
    r.#status = this.#status;
    r.#statusText = this.#statusText;
    r.#list = this.#list.slice();
    r.#immutable = this.#immutable;
    r.#body = body;
    r.#type = this.#type;
    return r;
  }
  text() {
    return bodyConsume(this.#body, true);
  }
  json() {
    return bodyJSON(this.#body);
  }
  arrayBuffer() {
    return bodyArrayBuffer(this.#body);
  }
  bytes() {
    return bodyConsume(this.#body, false);
  }
  blob() {
    return bodyBlob(this.#body, listGet(this.#list, "content-type"));
  }
  formData() {
    return bodyFormData(this.#body, listGet(this.#list, "content-type"));
  }
  [INSPECT]() {
    const { status, statusText, ok, headers, body, bodyUsed, type, url, redirected } = this;
    return { status, statusText, ok, headers, body, bodyUsed, type, url, redirected };
  }
}
setToStringTag(Response, "Response");
defineGlobal("Response", Response);

// For the dispatcher: { status, statusText, headers: [name, value, ...], kind, body }, and the
// body counts as used. kind: "none" | "text" (string) | "bytes" (ArrayBuffer) | "stream".
function responseParts(response) {
  if (!isResponse(response)) throw new TypeError("the handler did not return a Response");
  return responsePartsOf(response);
}

function fetch() {
  return PromiseReject(new TypeError("fetch is not available in sitebox sandboxes"));
}
defineGlobal("fetch", fetch);
