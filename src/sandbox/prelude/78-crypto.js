// crypto and crypto.subtle. getRandomValues, randomUUID and digest are synchronous host calls;
// every other SubtleCrypto method runs in Node's WebCrypto on the host (host/crypto.ts) and
// settles later (15-host-async.js). Keys live on the host: a CryptoKey holds an opaque handle
// and the attributes the standard exposes, never the key material.
const RANDOM_ARRAY_TAGS = [
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "BigInt64Array",
  "BigUint64Array",
];
const DIGESTS = { "SHA-1": 1, "SHA-256": 1, "SHA-384": 1, "SHA-512": 1 };

// Members of the dictionaries SubtleCrypto takes (algorithms, JsonWebKey and its "oth"),
// in the lexicographic order WebIDL reads them.
const SUBTLE_MEMBERS = [
  "additionalData",
  "alg",
  "counter",
  "crv",
  "d",
  "dp",
  "dq",
  "e",
  "ext",
  "hash",
  "info",
  "iterations",
  "iv",
  "k",
  "key_ops",
  "kty",
  "label",
  "length",
  "modulusLength",
  "n",
  "name",
  "namedCurve",
  "oth",
  "p",
  "public",
  "publicExponent",
  "q",
  "qi",
  "r",
  "salt",
  "saltLength",
  "t",
  "tagLength",
  "use",
  "x",
  "y",
];

let keyHandleOf;
let cloneCryptoKey; // (key, cloneMember) -> a new CryptoKey over the same host key, or undefined

class CryptoKey {
  #handle;
  #type;
  #extractable;
  #algorithm;
  #usages;
  constructor(key, handle, desc) {
    if (key !== INTERNAL) throw new TypeError("Illegal constructor");
    this.#handle = handle;
    this.#type = desc.type;
    this.#extractable = desc.extractable;
    const algorithm = desc.algorithm;
    if (isArray(algorithm.publicExponent)) {
      algorithm.publicExponent = new Uint8Array(algorithm.publicExponent);
    }
    this.#algorithm = algorithm;
    this.#usages = desc.usages;
  }
  get type() {
    return this.#type;
  }
  get extractable() {
    return this.#extractable;
  }
  get algorithm() {
    return this.#algorithm;
  }
  get usages() {
    return this.#usages;
  }
  [INSPECT]() {
    const { type, extractable, algorithm, usages } = this;
    return { type, extractable, algorithm, usages };
  }
  static {
    keyHandleOf = (k) => (isObject(k) && #handle in k ? k.#handle : undefined);
    // CryptoKey is serializable: a clone in the same realm holds the same key material.
    cloneCryptoKey = (k, cloneMember) => {
      if (!isObject(k) || !(#handle in k)) return undefined;
      return new CryptoKey(INTERNAL, k.#handle, {
        type: k.#type,
        extractable: k.#extractable,
        algorithm: cloneMember(k.#algorithm),
        usages: cloneMember(k.#usages),
      });
    };
  }
}
setToStringTag(CryptoKey, "CryptoKey");

// An argument as host/crypto.ts reads it: JSON, with BufferSources and keys passed beside it.
function wireSubtle(v, extras, depth) {
  switch (typeof v) {
    case "undefined":
      return { $u: 1 };
    case "boolean":
    case "string":
      return v;
    case "number":
      return NumberIsFinite(v) ? v : { $n: String(v) };
    case "bigint":
      throw new TypeError("Cannot convert a BigInt value to a number");
    case "symbol":
      throw new TypeError("Cannot convert a Symbol value to a string");
  }
  if (v === null) return null;
  const handle = keyHandleOf(v);
  if (handle !== undefined) return { $k: ArrayPrototypePush(extras, handle) - 1 };
  const u8 = bytesOf(v);
  if (u8 !== null) return { $b: ArrayPrototypePush(extras, bufferOf(u8)) - 1 };
  if (depth > 8) throw new TypeError("SubtleCrypto: argument nested too deeply");
  if (isArray(v) || typeof v[SymbolIterator] === "function") {
    return ArrayFrom(v, (x) => wireSubtle(x, extras, depth + 1));
  }
  const out = {};
  for (let i = 0; i < SUBTLE_MEMBERS.length; i++) {
    const m = SUBTLE_MEMBERS[i];
    const x = v[m];
    if (x !== undefined) out[m] = wireSubtle(x, extras, depth + 1);
  }
  return out;
}

function subtleResult(tag, a, b, c, d) {
  switch (tag) {
    case "bool":
    case "buffer":
      return a;
    case "key":
      return new CryptoKey(INTERNAL, a, JSONparse(b));
    case "pair":
      return {
        publicKey: new CryptoKey(INTERNAL, a, JSONparse(b)),
        privateKey: new CryptoKey(INTERNAL, c, JSONparse(d)),
      };
    case "json":
      return JSONparse(a);
  }
  return undefined;
}

function subtleCall(op, args) {
  try {
    const extras = [];
    const wired = [];
    for (let i = 0; i < args.length; i++) ArrayPrototypePush(wired, wireSubtle(args[i], extras, 0));
    // (No spread: it would go through Array.prototype[Symbol.iterator].)
    const hostArgs = [op, JSONstringify(wired)];
    for (let i = 0; i < extras.length; i++) ArrayPrototypePush(hostArgs, extras[i]);
    const ticket = ReflectApply(host.subtle, host, hostArgs);
    return hostOperation(ticket, subtleResult);
  } catch (e) {
    return PromiseReject(e);
  }
}

class SubtleCrypto {
  constructor(key) {
    if (key !== INTERNAL) throw new TypeError("Illegal constructor");
  }
  digest(algorithm, data) {
    try {
      const name = isObject(algorithm) ? algorithm.name : algorithm;
      if (name === undefined) throw new TypeError("digest: algorithm name is missing");
      const alg = StringPrototypeToUpperCase(String(name));
      if (DIGESTS[alg] !== 1) {
        throw new DOMException(`Unrecognized algorithm name: ${name}`, "NotSupportedError");
      }
      const u8 = bytesOf(data);
      if (u8 === null) throw new TypeError("digest: data must be a BufferSource");
      return PromiseResolve(host.digest(alg, bufferOf(u8)));
    } catch (e) {
      return PromiseReject(e);
    }
  }
  encrypt(algorithm, key, data) {
    return subtleCall("encrypt", arguments);
  }
  decrypt(algorithm, key, data) {
    return subtleCall("decrypt", arguments);
  }
  sign(algorithm, key, data) {
    return subtleCall("sign", arguments);
  }
  verify(algorithm, key, signature, data) {
    return subtleCall("verify", arguments);
  }
  generateKey(algorithm, extractable, keyUsages) {
    return subtleCall("generateKey", arguments);
  }
  deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages) {
    return subtleCall("deriveKey", arguments);
  }
  deriveBits(algorithm, baseKey, length) {
    return subtleCall("deriveBits", arguments);
  }
  importKey(format, keyData, algorithm, extractable, keyUsages) {
    return subtleCall("importKey", arguments);
  }
  exportKey(format, key) {
    return subtleCall("exportKey", arguments);
  }
  wrapKey(format, key, wrappingKey, wrapAlgorithm) {
    return subtleCall("wrapKey", arguments);
  }
  unwrapKey(
    format,
    wrappedKey,
    unwrappingKey,
    unwrapAlgorithm,
    unwrappedKeyAlgorithm,
    extractable,
    keyUsages,
  ) {
    return subtleCall("unwrapKey", arguments);
  }
}
setToStringTag(SubtleCrypto, "SubtleCrypto");

class Crypto {
  #subtle = new SubtleCrypto(INTERNAL);
  constructor(key) {
    if (key !== INTERNAL) throw new TypeError("Illegal constructor");
  }
  get subtle() {
    return this.#subtle;
  }
  getRandomValues(array) {
    if (!ArrayPrototypeIncludes(RANDOM_ARRAY_TAGS, typedTag(array))) {
      throw new DOMException("getRandomValues: not an integer typed array", "TypeMismatchError");
    }
    const n = TypedArrayPrototypeGetByteLength(array);
    if (n > 65536) {
      throw new DOMException(`getRandomValues: ${n} bytes exceeds 65536`, "QuotaExceededError");
    }
    if (n > 0)
      TypedArrayPrototypeSet(
        new Uint8Array(
          TypedArrayPrototypeGetBuffer(array),
          TypedArrayPrototypeGetByteOffset(array),
          n,
        ),
        new Uint8Array(host.randomBytes(n)),
      );
    return array;
  }
  randomUUID() {
    return host.uuid();
  }
}
setToStringTag(Crypto, "Crypto");
defineGlobal("Crypto", Crypto);
defineGlobal("SubtleCrypto", SubtleCrypto);
defineGlobal("CryptoKey", CryptoKey);
defineGlobal("crypto", new Crypto(INTERNAL));
