// TextEncoderStream, TextDecoderStream (Encoding spec) and CompressionStream,
// DecompressionStream (Compression spec): each a TransformStream behind the spec's
// readable/writable pair. Compression runs in the host's zlib (Node's, exact), one engine per
// stream, behind a handle the sandbox cannot forge; each chunk is processed synchronously.
const TextDecoderCtor = TextDecoder;
const textDecoderDecode = TextDecoder.prototype.decode;
const textDecoderGetters = {};
for (const name of ["encoding", "fatal", "ignoreBOM"]) {
  textDecoderGetters[name] = ObjectGetOwnPropertyDescriptor(TextDecoder.prototype, name).get;
}
const STREAM_DECODE = ObjectFreeze({ stream: true });

// Shared by the four classes: the pair, with brand-checked getters.
class GenericTransformStream {
  #transform;
  constructor(key, transformer) {
    if (key !== INTERNAL) throw new TypeError("Illegal constructor");
    this.#transform = new TransformStream(transformer);
  }
  static brand(v, what) {
    if (!isObject(v) || !(#transform in v)) throw new TypeError(`not a ${what}`);
    return v.#transform;
  }
}

function installPair(Class) {
  const tag = Class.name;
  for (const name of ["readable", "writable"]) {
    ObjectDefineProperty(Class.prototype, name, {
      get() {
        return GenericTransformStream.brand(this, tag)[name];
      },
      enumerable: true,
      configurable: true,
    });
  }
  setToStringTag(Class, tag);
  defineGlobal(tag, Class);
}

class TextEncoderStream extends GenericTransformStream {
  constructor() {
    let pending = ""; // a high surrogate waiting for its other half in the next chunk
    super(INTERNAL, {
      transform(chunk, controller) {
        let s = pending + toDOMString(chunk);
        pending = "";
        const last = StringPrototypeCharCodeAt(s, s.length - 1);
        if (last >= 0xd800 && last <= 0xdbff) {
          pending = s[s.length - 1];
          s = s.slice(0, -1);
        }
        if (s !== "") controller.enqueue(utf8Encode(s));
      },
      flush(controller) {
        if (pending !== "") controller.enqueue(new Uint8Array([0xef, 0xbf, 0xbd]));
      },
    });
  }
  get encoding() {
    GenericTransformStream.brand(this, "TextEncoderStream");
    return "utf-8";
  }
}
installPair(TextEncoderStream);

const textDecoderOf = new SafeWeakMap();

class TextDecoderStream extends GenericTransformStream {
  constructor(label = "utf-8", options = {}) {
    // The global TextDecoder's streaming mode, built over its public API only.
    const decoder = new TextDecoderCtor(label, options);
    super(INTERNAL, {
      transform(chunk, controller) {
        const u8 = bytesOf(chunk);
        if (u8 === null) throw new TypeError("TextDecoderStream: a chunk must be a BufferSource");
        const s = FunctionPrototypeCall(textDecoderDecode, decoder, u8, STREAM_DECODE);
        if (s !== "") controller.enqueue(s);
      },
      flush(controller) {
        const s = FunctionPrototypeCall(textDecoderDecode, decoder);
        if (s !== "") controller.enqueue(s);
      },
    });
    textDecoderOf.set(this, decoder);
  }
}
for (const name of ["encoding", "fatal", "ignoreBOM"]) {
  ObjectDefineProperty(TextDecoderStream.prototype, name, {
    get() {
      GenericTransformStream.brand(this, "TextDecoderStream");
      return FunctionPrototypeCall(textDecoderGetters[name], textDecoderOf.get(this));
    },
    enumerable: true,
    configurable: true,
  });
}
installPair(TextDecoderStream);

const COMPRESSION_FORMATS = { deflate: 1, "deflate-raw": 1, gzip: 1 };

function compressionFormat(format, what) {
  const f = toDOMString(format);
  if (COMPRESSION_FORMATS[f] !== 1) {
    throw new TypeError(`${what}: unsupported compression format "${f}"`);
  }
  return f;
}

// The host's errors (bad data, truncated input, output over the bound) as the spec's TypeError.
function zlibCall(fn, a, b) {
  try {
    return new Uint8Array(fn(a, b));
  } catch (e) {
    throw new TypeError(e instanceof Error ? e.message : String(e));
  }
}

// The transformer of one (de)compression stream. The engine is opened at the first chunk, so a
// stream made and never used costs the host nothing; it is closed at the end, on error, and on
// cancel, and else freed when the sandbox's garbage collector frees its handle.
function zlibTransformer(format, decompress) {
  let engine = null;
  const open = () => (engine ??= host.zlibOpen(format, decompress));
  const close = () => {
    if (engine !== null) host.zlibClose(engine);
    engine = null;
  };
  return {
    transform(chunk, controller) {
      const u8 = bytesOf(chunk);
      if (u8 === null) throw new TypeError("a chunk must be a BufferSource");
      try {
        const out = zlibCall(host.zlibWrite, open(), bufferOf(copyBytes(u8)));
        if (out.byteLength > 0) controller.enqueue(out);
      } catch (e) {
        close();
        throw e;
      }
    },
    flush(controller) {
      try {
        const out = zlibCall(host.zlibEnd, open());
        if (out.byteLength > 0) controller.enqueue(out);
      } finally {
        close();
      }
    },
    cancel() {
      close();
    },
  };
}

class CompressionStream extends GenericTransformStream {
  constructor(format) {
    if (arguments.length === 0) throw new TypeError("CompressionStream: 1 argument required");
    super(INTERNAL, zlibTransformer(compressionFormat(format, "CompressionStream"), false));
  }
}
installPair(CompressionStream);

class DecompressionStream extends GenericTransformStream {
  constructor(format) {
    if (arguments.length === 0) throw new TypeError("DecompressionStream: 1 argument required");
    super(INTERNAL, zlibTransformer(compressionFormat(format, "DecompressionStream"), true));
  }
}
installPair(DecompressionStream);
