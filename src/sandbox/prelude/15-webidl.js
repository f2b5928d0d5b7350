// WebIDL argument conversions the constructors share (Headers, URLSearchParams, Blob, Event):
// records read keys in [[OwnPropertyKeys]] order, descriptor then value per key; sequences go
// through the object's own @@iterator, whatever it is; dictionaries are objects or null.
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
    ArrayPrototypePush(out, convertKey(key), convertValue(o[key]));
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

// sequence<T> through an iterator method already looked up.
function webidlSequence(o, method, convert, what) {
  const it = FunctionPrototypeCall(method, o);
  if (!isObject(it)) throw new TypeError(`${what}: the iterator is not an object`);
  const next = it.next;
  const out = [];
  for (;;) {
    const r = FunctionPrototypeCall(next, it);
    if (!isObject(r)) throw new TypeError(`${what}: an iterator result is not an object`);
    if (r.done) return out;
    ArrayPrototypePush(out, convert(r.value));
  }
}

// sequence<sequence<T>> of pairs: [a, b, a, b, ...].
function webidlPairs(o, method, convert, what) {
  const out = [];
  webidlSequence(
    o,
    method,
    (pair) => {
      if (!isObject(pair)) throw new TypeError(`${what}: each item must be a [name, value] pair`);
      const m = webidlIteratorMethod(pair, what);
      if (m === undefined) throw new TypeError(`${what}: each item must be a [name, value] pair`);
      const a = webidlSequence(pair, m, convert, what);
      if (a.length !== 2) throw new TypeError(`${what}: each pair must have exactly two items`);
      ArrayPrototypePush(out, a[0], a[1]);
    },
    what,
  );
  return out;
}

// A dictionary argument: undefined and null are {}, another non-object is a TypeError.
function webidlDictionary(v, what) {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new TypeError(`${what}: the options argument is not an object`);
  return v;
}
