// Blob, File, FormData, Headers, and the body shared by Request and Response.
let blobBytes; // (blob) -> Uint8Array, never mutated
let blobFromBytes; // (u8, type) -> Blob sharing u8
let isBlob; // (v) -> boolean, a brand check no Symbol.hasInstance can fool
let blobType; // (blob) -> its type, not a getter a site may have replaced

function normalizeBlobType(t) {
  if (t === undefined) return "";
  const s = String(t);
  for (let i = 0; i < s.length; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (c < 0x20 || c > 0x7e) return "";
  }
  return StringPrototypeToLowerCase(s);
}

function relativeIndex(v, size) {
  const n = MathTrunc(Number(v)) || 0;
  return n < 0 ? MathMax(size + n, 0) : MathMin(n, size);
}

class Blob {
  #bytes;
  #type;
  constructor(blobParts, options) {
    if (blobParts === INTERNAL) return;
    // WebIDL order: the parts are converted first, then the options (endings, then type).
    let items = [];
    if (blobParts !== undefined) {
      const method = isObject(blobParts) ? webidlIteratorMethod(blobParts, "Blob") : undefined;
      if (method === undefined) throw new TypeError("Blob: blobParts must be a sequence");
      items = webidlSequence(
        blobParts,
        method,
        (part) =>
          isObject(part) && (#bytes in part || bytesOf(part) !== null) ? part : toUSVString(part),
        "Blob",
      );
    }
    const o = webidlDictionary(options, "Blob");
    const endings = o?.endings === undefined ? "transparent" : toDOMString(o.endings);
    if (endings !== "transparent" && endings !== "native") {
      throw new TypeError("Blob: endings must be 'transparent' or 'native'");
    }
    const type = o?.type === undefined ? undefined : toDOMString(o.type);
    const parts = [];
    for (let i = 0; i < items.length; i++) {
      const part = items[i];
      if (typeof part === "string") {
        ArrayPrototypePush(
          parts,
          utf8Encode(endings === "native" ? part.replace(/\r\n?/g, "\n") : part),
        );
      } else if (#bytes in part) ArrayPrototypePush(parts, part.#bytes);
      else ArrayPrototypePush(parts, copyBytes(bytesOf(part)));
    }
    this.#bytes = parts.length === 0 ? new Uint8Array(0) : concatBytes(parts);
    this.#type = normalizeBlobType(type);
  }
  static {
    blobBytes = (b) => b.#bytes;
    isBlob = (v) => isObject(v) && #bytes in v;
    blobType = (b) => b.#type;
    blobFromBytes = (u8, type) => {
      const b = new Blob(INTERNAL);
      b.#bytes = u8;
      b.#type = normalizeBlobType(type);
      return b;
    };
  }
  get size() {
    return TypedArrayPrototypeGetByteLength(this.#bytes);
  }
  get type() {
    return this.#type;
  }
  slice(start, end, contentType) {
    const size = TypedArrayPrototypeGetByteLength(this.#bytes);
    const from = start === undefined ? 0 : relativeIndex(start, size);
    const to = end === undefined ? size : relativeIndex(end, size);
    const u8 = this.#bytes;
    const at = TypedArrayPrototypeGetByteOffset(u8) + from;
    const part = new Uint8Array(TypedArrayPrototypeGetBuffer(u8), at, MathMax(from, to) - from);
    return blobFromBytes(part, contentType);
  }
  text() {
    return PromiseResolve(utf8Decode(this.#bytes, false));
  }
  arrayBuffer() {
    return PromiseResolve(TypedArrayPrototypeGetBuffer(copyBytes(this.#bytes)));
  }
  bytes() {
    return PromiseResolve(copyBytes(this.#bytes));
  }
  stream() {
    return streamOfBytes(copyBytes(this.#bytes));
  }
  [INSPECT]() {
    return { size: this.size, type: this.#type };
  }
}
setToStringTag(Blob, "Blob");
defineGlobal("Blob", Blob);

class File extends Blob {
  #name;
  #lastModified;
  constructor(fileBits, fileName, options) {
    if (arguments.length < 2) throw new TypeError("File: 2 arguments required");
    super(fileBits, options);
    this.#name = toUSVString(fileName);
    const lm = options?.lastModified;
    this.#lastModified = lm === undefined ? DateNow() : MathTrunc(Number(lm)) || 0;
  }
  get name() {
    return this.#name;
  }
  get lastModified() {
    return this.#lastModified;
  }
  get webkitRelativePath() {
    return "";
  }
  [INSPECT]() {
    return { name: this.#name, size: this.size, type: this.type };
  }
}
setToStringTag(File, "File");
defineGlobal("File", File);

function formEntryValue(value, filename) {
  if (!(value instanceof Blob)) {
    if (filename !== undefined) throw new TypeError("FormData: filename requires a Blob value");
    return toUSVString(value);
  }
  if (value instanceof File && filename === undefined) return value;
  const name =
    filename !== undefined ? toUSVString(filename) : value instanceof File ? value.name : "blob";
  const options = { type: value.type };
  if (value instanceof File) options.lastModified = value.lastModified;
  return new File([value], name, options);
}

let formList; // (formData) -> flat [name, value, ...]
let isFormData; // (v) -> boolean

class FormData {
  #list = [];
  constructor(form) {
    if (form !== undefined) throw new TypeError("FormData: form elements are not supported");
  }
  static {
    installPairIterable(this.prototype, (f) => f.#list);
    formList = (f) => f.#list;
    isFormData = (v) => isObject(v) && #list in v;
  }
  append(name, value, filename) {
    if (arguments.length < 2) throw new TypeError("FormData.append: 2 arguments required");
    ArrayPrototypePush(this.#list, toUSVString(name), formEntryValue(value, filename));
  }
  set(name, value, filename) {
    if (arguments.length < 2) throw new TypeError("FormData.set: 2 arguments required");
    this.#list = pairsSet(this.#list, toUSVString(name), formEntryValue(value, filename));
  }
  delete(name) {
    this.#list = pairsWithout(this.#list, toUSVString(name), undefined);
  }
  get(name) {
    return pairsGet(this.#list, toUSVString(name));
  }
  getAll(name) {
    return pairsGetAll(this.#list, toUSVString(name));
  }
  has(name) {
    return pairsHas(this.#list, toUSVString(name), undefined);
  }
  [INSPECT]() {
    return ArrayFrom(this.entries());
  }
}
setToStringTag(FormData, "FormData");
defineGlobal("FormData", FormData);

let headersList; // (headers) -> flat list
let isHeaders; // (object) -> boolean
let headersIsImmutable; // (headers) -> boolean
let headersWrap; // (list, immutable) -> Headers over that very list

class Headers {
  #list;
  #immutable = false;
  #sorted = null;
  constructor(init) {
    if (init === INTERNAL) return;
    this.#list = headersFrom(init); // null throws: HeadersInit is not nullable
  }
  static {
    headersList = (h) => h.#list;
    isHeaders = (v) => #list in v;
    headersIsImmutable = (h) => h.#immutable;
    headersWrap = (list, immutable) => {
      const h = new Headers(INTERNAL);
      h.#list = list;
      h.#immutable = !!immutable;
      return h;
    };
  }
  #mutate() {
    if (this.#immutable) throw new TypeError("Headers are immutable");
    this.#sorted = null;
  }
  append(name, value) {
    const n = headerName(name);
    const v = headerValue(value);
    this.#mutate();
    ArrayPrototypePush(this.#list, n, v);
  }
  delete(name) {
    const n = headerName(name);
    this.#mutate();
    const list = this.#list;
    let j = 0;
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] !== n) {
        list[j++] = list[i];
        list[j++] = list[i + 1];
      }
    }
    list.length = j;
  }
  get(name) {
    return listGet(this.#list, headerName(name));
  }
  getSetCookie() {
    const list = this.#list;
    const out = [];
    for (let i = 0; i < list.length; i += 2)
      if (list[i] === "set-cookie") ArrayPrototypePush(out, list[i + 1]);
    return out;
  }
  has(name) {
    return listIndex(this.#list, headerName(name)) >= 0;
  }
  set(name, value) {
    const n = headerName(name);
    const v = headerValue(value);
    this.#mutate();
    const list = this.#list;
    const first = listIndex(list, n);
    if (first < 0) {
      ArrayPrototypePush(list, n, v);
      return;
    }
    list[first + 1] = v;
    let j = first + 2;
    for (let i = first + 2; i < list.length; i += 2) {
      if (list[i] !== n) {
        list[j++] = list[i];
        list[j++] = list[i + 1];
      }
    }
    list.length = j;
  }
  #pairs() {
    return (this.#sorted ??= sortAndCombine(this.#list));
  }
  forEach(callback, thisArg) {
    if (!isCallable(callback)) throw new TypeError("Headers.forEach: callback is not a function");
    for (let i = 0; i < this.#pairs().length; i++) {
      const pair = this.#pairs()[i];
      FunctionPrototypeCall(callback, thisArg, pair[1], pair[0], this);
    }
  }
  *entries() {
    for (let i = 0; i < this.#pairs().length; i++) yield arrayCopy(this.#pairs()[i], 0);
  }
  *keys() {
    for (let i = 0; i < this.#pairs().length; i++) yield this.#pairs()[i][0];
  }
  *values() {
    for (let i = 0; i < this.#pairs().length; i++) yield this.#pairs()[i][1];
  }
  [SymbolIterator]() {
    return this.entries();
  }
  [INSPECT]() {
    const o = {};
    for (const [n, v] of this.#pairs()) o[n] = n in o ? [].concat(o[n], v) : v;
    return o;
  }
}
setToStringTag(Headers, "Headers");
defineGlobal("Headers", Headers);

// Body state of a Request or Response. kind: "text" (data: string), "bytes" (data: Uint8Array;
// owned: nobody else holds it) or "stream" (stream set at once). For text and bytes the stream is
// made only when someone reads `.body`; until then reads take the data directly.
// fromClient: the bytes came from the HTTP client (an incoming request's body), so a failure to
// parse them is the client's error (see clientBodyError).
function newBody(kind, data, owned) {
  return { kind, data, owned, stream: null, used: false, fromClient: false };
}
const NO_BODY = ObjectFreeze(newBody("none", null, false));
// A text body already handed to the host (shared, so never given a stream of its own).
const USED_BODY = newBody("text", "", false);
USED_BODY.used = true;
ObjectFreeze(USED_BODY);

let extractedType = null; // content type found by the last extractBody call

// The fetch spec's "extract a body": sets extractedType to the default content type or null.
// A string comes back as it is (Response keeps it so until needed: the hot path), anything else
// as a body state.
function extractBody(init) {
  extractedType = null;
  if (typeof init === "string") {
    extractedType = "text/plain;charset=UTF-8";
    return init;
  }
  if (isObject(init)) {
    const u8 = bytesOf(init);
    if (u8 !== null) return newBody("bytes", copyBytes(u8), true);
    if (isBlob(init)) {
      const type = blobType(init);
      if (type !== "") extractedType = type;
      return newBody("bytes", blobBytes(init), false);
    }
    if (isParams(init)) {
      extractedType = "application/x-www-form-urlencoded;charset=UTF-8";
      return paramsSerialize(init);
    }
    if (isFormData(init)) {
      const { bytes, type } = serializeMultipart(formList(init));
      extractedType = type;
      return newBody("bytes", bytes, true);
    }
    if (isReadableStream(init)) {
      if (streamUnusable(init))
        throw new TypeError("the ReadableStream is locked or has been read");
      const b = newBody("stream", null, false);
      b.stream = init;
      return b;
    }
  }
  extractedType = "text/plain;charset=UTF-8";
  return toUSVString(init);
}

function bodyUnusable(b) {
  return b.used || (b.stream !== null && streamUnusable(b.stream));
}

function bodyUsed(b) {
  return b.used || (b.stream !== null && streamDisturbed(b.stream));
}

function bodyStream(b) {
  if (b.kind === "none") return null;
  if (b.stream === null) {
    if (b.used) {
      const s = streamUsed();
      if (b === USED_BODY) return s;
      b.stream = s;
    } else if (b.kind === "text") b.stream = streamOfBytes(utf8Encode(b.data));
    else b.stream = streamOfBytes(b.owned ? b.data : copyBytes(b.data));
  }
  return b.stream;
}

function unusableError() {
  return new TypeError("Body is unusable: the body has already been read");
}

// Promise of the body as a string (asText) or a Uint8Array the caller may keep.
function bodyConsume(b, asText) {
  if (b.kind === "none") return PromiseResolve(asText ? "" : new Uint8Array(0));
  if (bodyUnusable(b)) return PromiseReject(unusableError());
  if (b.stream === null) {
    b.used = true;
    // A text body may hold lone surrogates (a string is kept as given): text() gives U+FFFD.
    if (b.kind === "text") {
      return PromiseResolve(asText ? StringPrototypeToWellFormed(b.data) : utf8Encode(b.data));
    }
    if (asText) return PromiseResolve(utf8Decode(b.data, false));
    return PromiseResolve(b.owned ? b.data : copyBytes(b.data));
  }
  const all = streamReadAll(b.stream);
  return asText ? then(all, (u8) => utf8Decode(u8, false)) : all;
}

function bodyArrayBuffer(b) {
  return then(bodyConsume(b, false), bufferOf);
}

// Errors from parsing a client's body (malformed JSON or form data). The dispatcher answers 400,
// not 500, when a handler lets one of these very errors escape.
const CLIENT_BODY_ERRORS = new SafeWeakSet();

function clientBodyError(b, e) {
  if (b.fromClient && isObject(e)) CLIENT_BODY_ERRORS.add(e);
  return e;
}

function isClientBodyError(e) {
  return isObject(e) && CLIENT_BODY_ERRORS.has(e);
}

function bodyJSON(b) {
  return then(bodyConsume(b, true), (text) => {
    try {
      return JSONparse(text);
    } catch (e) {
      throw clientBodyError(b, e);
    }
  });
}

function bodyBlob(b, contentType) {
  return then(bodyConsume(b, false), (u8) => blobFromBytes(u8, contentType ?? ""));
}

function bodyFormData(b, contentType) {
  const type = contentType ?? "";
  const essence = StringPrototypeToLowerCase(
    StringPrototypeTrim(StringPrototypeSplit(type, ";")[0]),
  );
  if (essence === "multipart/form-data") {
    const boundary = multipartBoundary(type);
    if (boundary === null) {
      return PromiseReject(clientBodyError(b, multipartError("no boundary in the Content-Type")));
    }
    return then(bodyConsume(b, false), (u8) => {
      const fd = new FormData();
      try {
        const list = parseMultipart(u8, boundary);
        const into = formList(fd);
        for (let i = 0; i < list.length; i++) ArrayPrototypePush(into, list[i]);
      } catch (e) {
        throw clientBodyError(b, e);
      }
      return fd;
    });
  }
  if (essence !== "application/x-www-form-urlencoded") {
    return PromiseReject(
      clientBodyError(b, new TypeError("the body's content type is not a form")),
    );
  }
  return then(bodyConsume(b, true), (text) => {
    const fd = new FormData();
    parseUrlencoded(text, formList(fd));
    return fd;
  });
}

// For clone(): the original keeps b (or a tee branch); returns the copy's state.
function bodyClone(b) {
  if (b.kind === "none") return NO_BODY;
  if (bodyUnusable(b)) throw unusableError();
  if (b.stream === null && b.kind === "text") return newBody("text", b.data, false);
  if (b.stream === null && b.kind === "bytes") {
    const c = newBody("bytes", b.owned ? copyBytes(b.data) : b.data, b.owned);
    c.fromClient = b.fromClient;
    return c;
  }
  const branches = streamTee(b.stream);
  const s1 = branches[0];
  const s2 = branches[1];
  b.stream = s1;
  const c = newBody("stream", null, false);
  c.stream = s2;
  c.fromClient = b.fromClient;
  return c;
}
