// Request, Response, a fetch that always rejects (no outbound network), and the dispatcher's
// helpers: newIncomingRequest, abortIncomingRequest, responseParts, readStreamInto.
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
const REQUEST_OPTION_KEYS = ObjectKeys(REQUEST_DEFAULTS);

function normalizeMethod(m) {
  const s = String(m);
  if (!isToken(s)) throw new TypeError(`Invalid request method: "${s}"`);
  const lower = StringPrototypeToLowerCase(s);
  if (lower === "connect" || lower === "trace" || lower === "track") {
    throw new TypeError(`Forbidden request method: "${s}"`);
  }
  return ObjectHasOwn(NORMALIZED_METHODS, lower) ? NORMALIZED_METHODS[lower] : s;
}

let isRequest; // (v) -> boolean
let initIncoming; // (request, url, method, flatHeaders, body, signal)
let requestOpts; // (request) -> options record

class Request {
  #url;
  #method;
  #list; // flat header list; names as the host gave them until #headers exists, then lower case
  #headers; // Headers over #list, made on first use
  #body;
  #signal; // AbortSignal, or undefined until first use
  #opts; // undefined for REQUEST_DEFAULTS
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
      opts = from.#opts ?? REQUEST_DEFAULTS;
      signal = from.signal;
    } else {
      const p = parseURLParts(input);
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
    for (let i = 0; i < REQUEST_OPTION_KEYS.length; i++) {
      const key = REQUEST_OPTION_KEYS[i];
      const v = o[key];
      if (v !== undefined) {
        custom[key] = typeof REQUEST_DEFAULTS[key] === "boolean" ? !!v : String(v);
        changed = true;
      }
    }
    const redirect = custom.redirect;
    if (
      redirect !== undefined &&
      redirect !== "follow" &&
      redirect !== "error" &&
      redirect !== "manual"
    ) {
      throw new TypeError(`Request: invalid redirect mode "${custom.redirect}"`);
    }
    this.#opts = changed ? ObjectFreeze({ ...opts, ...custom }) : opts;
    const list =
      o.headers !== undefined
        ? headersFrom(o.headers)
        : from
          ? arrayCopy(from.#headerList(), 0)
          : [];
    const inputBody = from ? from.#body : NO_BODY;
    const hasBody = (o.body !== undefined && o.body !== null) || inputBody !== NO_BODY;
    if (hasBody && (this.#method === "GET" || this.#method === "HEAD")) {
      throw new TypeError("Request with GET/HEAD method cannot have body");
    }
    if (o.body !== undefined && o.body !== null) {
      const b = extractBody(o.body);
      this.#body = typeof b === "string" ? newBody("text", b, false) : b;
      if (extractedType !== null && listIndex(list, "content-type") < 0) {
        ArrayPrototypePush(list, "content-type", extractedType);
      }
    } else if (inputBody !== NO_BODY) {
      // The new request takes the input's body over; the input becomes used.
      if (bodyUnusable(inputBody)) throw unusableError();
      this.#body = { ...inputBody };
      inputBody.used = true;
    } else this.#body = NO_BODY;
    this.#list = list;
    this.#headers = headersWrap(list, false);
    // Like the spec, the new request's signal follows the given one.
    if (signal !== null) this.#signal = AbortSignal.any([signal]);
  }
  static {
    isRequest = (v) => isObject(v) && #url in v;
    requestOpts = (r) => r.#opts ?? REQUEST_DEFAULTS;
    initIncoming = (r, url, method, flat, body, signal) => {
      r.#url = url;
      r.#method = method;
      r.#list = flat;
      if (body === undefined) r.#body = NO_BODY;
      else {
        r.#body = newBody("bytes", new Uint8Array(body), true);
        r.#body.fromClient = true;
      }
      if (signal !== undefined && signal !== null) r.#signal = signal;
    };
  }
  #headerList() {
    if (this.#headers === undefined) {
      const list = this.#list; // the host's array, ours to change
      for (let i = 0; i < list.length; i += 2) list[i] = hostHeaderName(list[i]);
      this.#headers = headersWrap(list, false);
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
    if (this.#headers === undefined) this.#headerList();
    return this.#headers;
  }
  get signal() {
    return (this.#signal ??= newAbortSignal());
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
    r.#list = arrayCopy(this.#headerList(), 0);
    r.#headers = headersWrap(r.#list, false);
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
// Options a server-side request only stores (cache, mode, redirect, ...) and fixed values.
for (const key of ObjectKeys(REQUEST_DEFAULTS)) {
  ObjectDefineProperty(Request.prototype, key, {
    get() {
      return requestOpts(this)[key];
    },
    configurable: true,
  });
}
for (const [key, value] of [
  ["destination", ""],
  ["duplex", "half"],
  ["isHistoryNavigation", false],
  ["isReloadNavigation", false],
]) {
  ObjectDefineProperty(Request.prototype, key, { get: () => value, configurable: true });
}
setToStringTag(Request, "Request");
defineGlobal("Request", Request);

// Request handed to a handler: no URL parsing; headers (a flat [name, value, ...] list, names in
// any case) and body (ArrayBuffer or undefined, now owned by the request) are looked at only
// when used. signal: an AbortSignal the dispatcher aborts, or undefined (then see below).
function newIncomingRequest(url, method, flatHeaders, body, signal) {
  const r = new Request(INTERNAL);
  initIncoming(r, url, method, flatHeaders, body, signal);
  return r;
}

// Aborts request.signal (made now if nobody has read it yet), e.g. when the client went away.
function abortIncomingRequest(request, reason) {
  signalAbort(request.signal, reason);
}

function toStatus(v) {
  if (typeof v === "number" && (v | 0) === v) return v;
  const n = MathTrunc(Number(v));
  return NumberIsFinite(n) ? ((n % 65536) + 65536) % 65536 : 0;
}

// reason-phrase: HTAB, SP, VCHAR, obs-text.
function checkStatusText(s) {
  for (let i = 0; i < s.length; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if ((c < 0x20 && c !== 9) || c === 0x7f || c > 0xff) {
      throw new TypeError(`Invalid statusText: "${s}"`);
    }
  }
  return s;
}

let isResponse; // (v) -> boolean
let responsePartsOf; // (response) -> parts
const IMMUTABLE = {}; // Response.#headers before the Headers object exists, for a guarded list

class Response {
  #status; // 0 only for Response.error()
  #statusText;
  #list;
  #headers; // Headers object, made on first use; or undefined / IMMUTABLE until then
  #body; // a string (text not yet read: no body state needed) or a body state
  constructor(body = null, init) {
    if (body === INTERNAL) return;
    if (body === null || body === undefined) this.#init(init, NO_BODY, null);
    else {
      const b = extractBody(body);
      this.#init(init, b, extractedType);
    }
  }
  #init(init, b, contentType) {
    let status = 200;
    let statusText = "";
    let list;
    if (init !== undefined && init !== null) {
      if (!isObject(init)) throw new TypeError("Response: init must be an object");
      // Each member is read once, in WebIDL's order (a getter may answer differently later).
      const headers = init.headers;
      const initStatus = init.status;
      const initStatusText = init.statusText;
      if (initStatus !== undefined) {
        status = toStatus(initStatus);
        if (status < 200 || status > 599) {
          throw new RangeError(`Response: status ${status} is not in the range 200 to 599`);
        }
      }
      if (initStatusText !== undefined) statusText = checkStatusText(String(initStatusText));
      list = headers === undefined ? [] : headersFrom(headers);
    } else list = [];
    if (b !== NO_BODY) {
      if (NULL_BODY_STATUS[status] === 1) {
        throw new TypeError(`Response with status ${status} cannot have a body`);
      }
      if (contentType !== null && listIndex(list, "content-type") < 0) {
        ArrayPrototypePush(list, "content-type", contentType);
      }
    }
    this.#status = status;
    this.#statusText = statusText;
    this.#list = list;
    this.#body = b;
  }
  #state() {
    const b = this.#body;
    return typeof b === "string" ? (this.#body = newBody("text", b, false)) : b;
  }
  static json(data, init) {
    const text = JSONstringify(data);
    if (text === undefined) throw new TypeError("Response.json: data is not JSON serializable");
    const r = new Response(INTERNAL);
    r.#init(init, text, "application/json");
    return r;
  }
  static redirect(url, status = 302) {
    const p = parseURLParts(url);
    if (p === null) throw new TypeError(`Invalid URL: ${String(url)}`);
    const s = toStatus(status);
    if (REDIRECT_STATUS[s] !== 1) throw new RangeError(`Invalid redirect status: ${s}`);
    const r = new Response(INTERNAL);
    r.#status = s;
    r.#statusText = "";
    r.#list = ["location", p.href];
    r.#headers = IMMUTABLE;
    r.#body = NO_BODY;
    return r;
  }
  static error() {
    const r = new Response(INTERNAL);
    r.#status = 0;
    r.#statusText = "";
    r.#list = [];
    r.#headers = IMMUTABLE;
    r.#body = NO_BODY;
    return r;
  }
  static {
    isResponse = (v) => isObject(v) && #body in v;
    responsePartsOf = (r) => {
      if (r.#status === 0) throw new TypeError("Response.error() cannot be sent");
      const b = r.#body;
      if (typeof b === "string") {
        r.#body = USED_BODY;
        return {
          status: r.#status,
          statusText: r.#statusText,
          headers: r.#list,
          kind: "text",
          body: b,
        };
      }
      // A body whose stream was made (`.body` was read) goes as that stream.
      const kind = b.stream !== null ? "stream" : b.kind;
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
    return this.#status === 0 ? "error" : "default";
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
    const h = this.#headers;
    if (h !== undefined && h !== IMMUTABLE) return h;
    return (this.#headers = headersWrap(this.#list, h === IMMUTABLE));
  }
  get body() {
    return bodyStream(this.#state());
  }
  get bodyUsed() {
    const b = this.#body;
    return typeof b === "string" ? false : bodyUsed(b);
  }
  clone() {
    const b = this.#body;
    const body = typeof b === "string" ? b : bodyClone(b);
    const r = new Response(INTERNAL);
    r.#status = this.#status;
    r.#statusText = this.#statusText;
    r.#list = arrayCopy(this.#list, 0);
    const h = this.#headers;
    r.#headers =
      h === IMMUTABLE || (h !== undefined && headersIsImmutable(h)) ? IMMUTABLE : undefined;
    r.#body = body;
    return r;
  }
  text() {
    return bodyConsume(this.#state(), true);
  }
  json() {
    return bodyJSON(this.#state());
  }
  arrayBuffer() {
    return bodyArrayBuffer(this.#state());
  }
  bytes() {
    return bodyConsume(this.#state(), false);
  }
  blob() {
    return bodyBlob(this.#state(), listGet(this.#list, "content-type"));
  }
  formData() {
    return bodyFormData(this.#state(), listGet(this.#list, "content-type"));
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
  return PromiseReject(
    new TypeError("fetch: outbound network access is not granted to sites in sitebox"),
  );
}
defineGlobal("fetch", fetch);

/**
 * For the dispatcher: feeds a response stream to the host. Chunks are strings or ArrayBuffers
 * (views are copied to a standalone buffer). onChunk returns false when the client is behind:
 * reading stops until resume() (backpressure, so an unread stream waits in its own queue,
 * inside the site's memory). Returns { cancel(reason), resume() }.
 */
function readStreamInto(stream, onChunk, onDone, onError) {
  let stopped = false;
  let paused = false;
  let reader;
  // The stream's own code may throw where it should reject (a site can break the reference
  // implementation by replacing what it calls): that fails the body too, never the dispatcher.
  const quietCancel = (reason) => {
    try {
      markHandled(streamCancelVia(reader, reason));
    } catch {}
  };
  const fail = (e) => {
    if (stopped) return;
    stopped = true;
    if (reader) quietCancel(e);
    onError(e);
  };
  const pull = () => {
    let p;
    try {
      p = streamRead(reader);
    } catch (e) {
      fail(e);
      return;
    }
    then(p, step, fail);
  };
  try {
    if (!isReadableStream(stream)) throw new TypeError("the response body is not a ReadableStream");
    reader = streamReader(stream);
  } catch (e) {
    reader = undefined;
    fail(e);
    return { cancel: noop, resume: noop };
  }
  const step = (r) => {
    if (stopped) return;
    if (r.done) {
      stopped = true;
      try {
        streamRelease(reader);
      } catch {}
      onDone();
      return;
    }
    const v = r.value;
    let out;
    // A view is read through the captured getters, not its own (which may lie), and copied.
    const u8 = typeof v === "string" ? null : bytesOf(v);
    if (typeof v === "string") out = v;
    else if (u8 !== null) out = isArrayBuffer(v) ? v : bufferOf(u8);
    else return fail(new TypeError("a response body chunk must be a string or a Uint8Array"));
    let more;
    try {
      more = onChunk(out);
    } catch (e) {
      return fail(e);
    }
    if (more) pull();
    else paused = true;
  };
  pull();
  return {
    cancel(reason) {
      if (stopped) return;
      stopped = true;
      quietCancel(reason);
    },
    resume() {
      if (stopped || !paused) return;
      paused = false;
      pull();
    },
  };
}
