// The Streams standard is web-streams-polyfill's ponyfill (the WHATWG reference implementation,
// evaluated just before this file as `webStreams`). This file makes its classes the globals and
// holds the helpers the body code and the dispatcher use: they call methods captured now, so a
// site that replaces a stream prototype's methods breaks only its own streams.
const {
  ReadableStream,
  ReadableStreamDefaultReader,
  ReadableStreamBYOBReader,
  WritableStream,
  TransformStream,
} = webStreams;
for (const name of [
  "ReadableStream",
  "ReadableStreamDefaultReader",
  "ReadableStreamBYOBReader",
  "ReadableStreamBYOBRequest",
  "ReadableStreamDefaultController",
  "ReadableByteStreamController",
  "WritableStream",
  "WritableStreamDefaultWriter",
  "WritableStreamDefaultController",
  "TransformStream",
  "TransformStreamDefaultController",
  "ByteLengthQueuingStrategy",
  "CountQueuingStrategy",
]) {
  defineGlobal(name, webStreams[name]);
}

const streamLockedGetter = getterOf(ReadableStream.prototype, "locked");
const streamGetReader = uncurryThis(ReadableStream.prototype.getReader);
const streamTeeMethod = uncurryThis(ReadableStream.prototype.tee);
const streamCancelMethod = uncurryThis(ReadableStream.prototype.cancel);
const readerRead = uncurryThis(ReadableStreamDefaultReader.prototype.read);
const readerReleaseLock = uncurryThis(ReadableStreamDefaultReader.prototype.releaseLock);
const readerCancel = uncurryThis(ReadableStreamDefaultReader.prototype.cancel);
// The polyfill's brand check: `locked` throws for anything that is not one of its streams.
function isReadableStream(v) {
  if (!isObject(v)) return false;
  try {
    streamLockedGetter(v);
    return true;
  } catch {
    return false;
  }
}

function streamLocked(stream) {
  return streamLockedGetter(stream);
}

// The spec's [[disturbed]] slot: a read or cancel happened. The reference implementation keeps
// it as `_disturbed`; nothing public exposes it, and the Fetch spec needs it for bodyUsed.
function streamDisturbed(stream) {
  return stream._disturbed === true;
}

function streamUnusable(stream) {
  return streamDisturbed(stream) || streamLocked(stream);
}

function streamReader(stream) {
  return streamGetReader(stream);
}

function streamRead(reader) {
  return readerRead(reader);
}

function streamRelease(reader) {
  readerReleaseLock(reader);
}

function streamCancelVia(reader, reason) {
  return readerCancel(reader, reason);
}

function streamCancel(stream, reason) {
  return streamCancelMethod(stream, reason);
}

function streamTee(stream) {
  return streamTeeMethod(stream);
}

// A byte stream of one chunk, for a body given as bytes (the Fetch spec's bodies are byte
// streams, so BYOB readers work on them). The stream takes u8's buffer over: pass a copy.
function streamOfBytes(u8) {
  return new ReadableStream({
    type: "bytes",
    start(c) {
      if (u8.byteLength > 0) c.enqueue(u8);
      c.close();
    },
  });
}

// A closed stream that has been read: the body of a Request or Response already used.
function streamUsed() {
  const s = new ReadableStream({ type: "bytes", start: (c) => c.close() });
  const reader = streamReader(s);
  markHandled(streamRead(reader));
  streamRelease(reader);
  return s;
}

// Bytes of a chunk read from a body stream (strings are accepted too, unlike the spec).
function chunkBytes(chunk) {
  if (typeof chunk === "string") return utf8Encode(chunk);
  const u8 = bytesOf(chunk);
  if (u8 === null) throw new TypeError("a body stream chunk must be a Uint8Array");
  return u8;
}

// Reads a stream to its end: Promise of a Uint8Array with all the bytes. `limit` (optional)
// bounds the total: past it, the stream is cancelled and the promise rejects with a TypeError.
function streamReadAll(stream, limit) {
  const reader = streamReader(stream);
  const parts = [];
  let total = 0;
  const step = (r) => {
    if (r.done) return concatBytes(parts.length ? parts : [new Uint8Array(0)]);
    const u8 = chunkBytes(r.value);
    total += u8.byteLength;
    if (limit !== undefined && total > limit) {
      const e = new TypeError(`the body is larger than ${limit} bytes`);
      markHandled(streamCancelVia(reader, e));
      throw e;
    }
    ArrayPrototypePush(parts, copyBytes(u8));
    return then(streamRead(reader), step);
  };
  return then(streamRead(reader), step, (e) => {
    streamRelease(reader);
    throw e;
  });
}
