// WebIDL argument conversions the constructors share (Headers, URLSearchParams, Blob, Event):
// records read keys in [[OwnPropertyKeys]] order, descriptor then value per key; sequences go
// through the object's own @@iterator, whatever it is; dictionaries are objects or null.
// A conversion given as undefined is the identity (no call per item).
// [[GetOwnProperty]] without allocating a descriptor: the hot path is `{ headers: {...} }`.
const propertyIsEnumerable = uncurryThis(ObjectPrototype.propertyIsEnumerable);

// WebIDL DOMString: ToString, which throws for a Symbol (String(symbol) does not).
function toDOMString(v) {
  return typeof v === "string" ? v : `${v}`;
}

// record<K, V>: [key, value, key, value, ...] after convertKey / convertValue.
function webidlRecord(o, convertKey, convertValue, what) {
  if (!isObject(o)) throw new TypeError(`${what}: not an object`);
  const out = [];
  const keys = ReflectOwnKeys(o);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (!propertyIsEnumerable(o, key)) continue;
    if (typeof key === "symbol") throw new TypeError(`${what}: a key is a Symbol`);
    const value = o[key];
    const n = out.length;
    out[n] = convertKey === undefined ? key : convertKey(key);
    out[n + 1] = convertValue === undefined ? value : convertValue(value);
  }
  return out;
}

// The object's @@iterator method (undefined if it has none; a TypeError if not callable).
function webidlIteratorMethod(o, what) {
  const method = o[SymbolIterator];
  if (method === undefined || method === null) return undefined;
  if (!isCallable(method)) throw new TypeError(`${what}: @@iterator is not callable`);
  return method;
}

// Fast path: an iterator from the original %Array.prototype.values% over a genuine Array (or a
// Proxy of one), whose next is still the original, yields o[0], o[1], ... while the index is
// below o's length, read anew before each item: exactly what reading by index does, without a
// call per item. The iterator is still made and its next read, as the spec path does (a site's
// getter of next sees the same receiver); a site that replaced either gets the spec path.
function isArrayIteration(o, method, next) {
  return next === ArrayIteratorPrototypeNext && method === ArrayPrototypeValues && isArray(o);
}

// The length the original array iterator reads, for what a Proxy of an Array may answer (a
// genuine Array's is a uint32 already): QuickJS converts it with ToUint32 (not the spec's
// ToLength), through ToNumber, so a BigInt or Symbol throws the same TypeError.
function iteratedLength(v) {
  return MathTrunc(v) >>> 0;
}

// sequence<T> through an iterator method already looked up.
function webidlSequence(o, method, convert, what) {
  const it = FunctionPrototypeCall(method, o);
  if (!isObject(it)) throw new TypeError(`${what}: the iterator is not an object`);
  const next = it.next;
  const out = [];
  if (isArrayIteration(o, method, next)) {
    for (let i = 0; ; i++) {
      let len = o.length;
      if (typeof len !== "number" || len >>> 0 !== len) len = iteratedLength(len);
      if (i >= len) return out;
      const v = o[i];
      out[i] = convert === undefined ? v : convert(v);
    }
  }
  for (;;) {
    const r = FunctionPrototypeCall(next, it);
    if (!isObject(r)) throw new TypeError(`${what}: an iterator result is not an object`);
    if (r.done) return out;
    ArrayPrototypePush(out, convert === undefined ? r.value : convert(r.value));
  }
}

// sequence<sequence<T>> of pairs: [a, b, a, b, ...].
function webidlPairs(o, method, convert, what) {
  const it = FunctionPrototypeCall(method, o);
  if (!isObject(it)) throw new TypeError(`${what}: the iterator is not an object`);
  const next = it.next;
  const out = [];
  if (isArrayIteration(o, method, next)) {
    for (let i = 0; ; i++) {
      let len = o.length;
      if (typeof len !== "number" || len >>> 0 !== len) len = iteratedLength(len);
      if (i >= len) return out;
      webidlPair(out, o[i], convert, what);
    }
  }
  for (;;) {
    const r = FunctionPrototypeCall(next, it);
    if (!isObject(r)) throw new TypeError(`${what}: an iterator result is not an object`);
    if (r.done) return out;
    webidlPair(out, r.value, convert, what);
  }
}

// One item of webidlPairs: a sequence<T> of exactly two, appended to out. (isObject,
// webidlIteratorMethod and isArrayIteration inlined: this runs once per header of a Headers init.)
function webidlPair(out, pair, convert, what) {
  const type = typeof pair;
  if ((type !== "object" || pair === null) && type !== "function") {
    throw new TypeError(`${what}: each item must be a [name, value] pair`);
  }
  const method = pair[SymbolIterator];
  if (method === undefined || method === null) {
    throw new TypeError(`${what}: each item must be a [name, value] pair`);
  }
  if (typeof method !== "function") throw new TypeError(`${what}: @@iterator is not callable`);
  const it = FunctionPrototypeCall(method, pair);
  const itType = typeof it;
  if ((itType !== "object" || it === null) && itType !== "function") {
    throw new TypeError(`${what}: the iterator is not an object`);
  }
  const next = it.next;
  let n = 0;
  let a;
  let b;
  if (next === ArrayIteratorPrototypeNext && method === ArrayPrototypeValues && isArray(pair)) {
    for (; ; n++) {
      let len = pair.length;
      if (typeof len !== "number" || len >>> 0 !== len) len = iteratedLength(len);
      if (n >= len) break;
      let v = pair[n];
      if (convert !== undefined) v = convert(v);
      if (n === 0) a = v;
      else if (n === 1) b = v;
    }
  } else {
    for (; ; n++) {
      const r = FunctionPrototypeCall(next, it);
      if (!isObject(r)) throw new TypeError(`${what}: an iterator result is not an object`);
      if (r.done) break;
      let v = r.value;
      if (convert !== undefined) v = convert(v);
      if (n === 0) a = v;
      else if (n === 1) b = v;
    }
  }
  if (n !== 2) throw new TypeError(`${what}: each pair must have exactly two items`);
  const k = out.length;
  out[k] = a;
  out[k + 1] = b;
}

// A dictionary argument: undefined and null are {}, another non-object is a TypeError.
function webidlDictionary(v, what) {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new TypeError(`${what}: the options argument is not an object`);
  return v;
}
