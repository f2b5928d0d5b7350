// ReadableStream (default controller and reader) after the WHATWG Streams spec's algorithms.
// State lives in a plain record `st` so that the reader, controller and body code can share it.
let streamState; // (stream) -> st

function streamDesiredSize(st) {
  if (st.state === "errored") return null;
  if (st.state === "closed") return 0;
  return st.hwm - st.queueTotal;
}

function streamShouldPull(st) {
  if (st.state !== "readable" || st.closeRequested || !st.started) return false;
  if (st.reader !== null && st.reader.requests.length > 0) return true;
  return st.hwm - st.queueTotal > 0;
}

function streamPullIfNeeded(st) {
  if (st.pull === undefined || !streamShouldPull(st)) return;
  if (st.pulling) {
    st.pullAgain = true;
    return;
  }
  st.pulling = true;
  promiseCall(st.pull, st.source, st.controller).then(
    () => {
      st.pulling = false;
      if (st.pullAgain) {
        st.pullAgain = false;
        streamPullIfNeeded(st);
      }
    },
    (e) => streamError(st, e),
  );
}

function streamClose(st) {
  st.state = "closed";
  st.pull = st.cancel = undefined;
  const r = st.reader;
  if (r !== null) {
    const requests = r.requests;
    r.requests = [];
    for (const d of requests) d.resolve({ value: undefined, done: true });
    r.closed.resolve(undefined);
  }
}

function streamError(st, e) {
  if (st.state !== "readable") return;
  st.state = "errored";
  st.storedError = e;
  st.queue = [];
  st.sizes = [];
  st.queueTotal = 0;
  st.pull = st.cancel = undefined;
  const r = st.reader;
  if (r !== null) {
    const requests = r.requests;
    r.requests = [];
    for (const d of requests) d.reject(e);
    r.closed.reject(e);
  }
}

function streamEnqueue(st, chunk) {
  if (st.closeRequested || st.state !== "readable") {
    throw new TypeError("ReadableStream: cannot enqueue into a closed or errored stream");
  }
  const r = st.reader;
  if (r !== null && r.requests.length > 0) {
    r.requests.shift().resolve({ value: chunk, done: false });
  } else {
    let size = 1;
    if (st.size !== undefined) {
      try {
        size = Number(st.size.call(undefined, chunk));
        if (!(size >= 0) || size === Infinity) throw new RangeError("invalid chunk size");
      } catch (e) {
        streamError(st, e);
        throw e;
      }
    }
    st.queue.push(chunk);
    st.sizes.push(size);
    st.queueTotal += size;
  }
  streamPullIfNeeded(st);
}

function streamCloseRequested(st) {
  if (st.closeRequested || st.state !== "readable") {
    throw new TypeError("ReadableStream: the stream is already closing or closed");
  }
  st.closeRequested = true;
  if (st.queue.length === 0) streamClose(st);
}

function streamRead(st) {
  st.disturbed = true;
  if (st.state === "closed") return PromiseResolve({ value: undefined, done: true });
  if (st.state === "errored") return PromiseReject(st.storedError);
  if (st.queue.length > 0) {
    const value = st.queue.shift();
    st.queueTotal -= st.sizes.shift();
    if (st.queue.length === 0) st.queueTotal = 0; // no float drift
    if (st.closeRequested && st.queue.length === 0) streamClose(st);
    else streamPullIfNeeded(st);
    return PromiseResolve({ value, done: false });
  }
  const d = newDeferred();
  st.reader.requests.push(d);
  streamPullIfNeeded(st);
  return d.promise;
}

function streamCancel(st, reason) {
  st.disturbed = true;
  if (st.state === "closed") return PromiseResolve(undefined);
  if (st.state === "errored") return PromiseReject(st.storedError);
  const cancel = st.cancel;
  st.queue = [];
  st.sizes = [];
  st.queueTotal = 0;
  streamClose(st);
  if (cancel === undefined) return PromiseResolve(undefined);
  return promiseCall(cancel, st.source, reason).then(noop);
}

class ReadableStreamDefaultController {
  #st;
  constructor(key, st) {
    if (key !== INTERNAL) throw new TypeError("Illegal constructor");
    this.#st = st;
  }
  get desiredSize() {
    return streamDesiredSize(this.#st);
  }
  close() {
    streamCloseRequested(this.#st);
  }
  enqueue(chunk) {
    streamEnqueue(this.#st, chunk);
  }
  error(e) {
    streamError(this.#st, e);
  }
  // For sources written for byte streams: there is never a BYOB request.
  get byobRequest() {
    return null;
  }
}
setToStringTag(ReadableStreamDefaultController, "ReadableStreamDefaultController");
defineGlobal("ReadableStreamDefaultController", ReadableStreamDefaultController);

class ReadableStream {
  #st;
  constructor(underlyingSource, strategy) {
    const src = underlyingSource ?? {};
    const bytes = src.type !== undefined && String(src.type) === "bytes";
    if (src.type !== undefined && !bytes) throw new RangeError("ReadableStream: invalid type");
    const s = strategy ?? {};
    let hwm = bytes ? 0 : 1;
    if (s.highWaterMark !== undefined) {
      hwm = Number(s.highWaterMark);
      if (NumberIsNaN(hwm) || hwm < 0)
        throw new RangeError("ReadableStream: invalid highWaterMark");
    }
    if (s.size !== undefined && !isCallable(s.size)) {
      throw new TypeError("ReadableStream: size is not a function");
    }
    const fn = (name) => {
      const f = src[name];
      if (f !== undefined && !isCallable(f))
        throw new TypeError(`ReadableStream: ${name} is not a function`);
      return f;
    };
    const start = fn("start");
    const st = {
      state: "readable",
      queue: [],
      sizes: [],
      queueTotal: 0,
      hwm,
      size: s.size,
      started: false,
      closeRequested: false,
      pulling: false,
      pullAgain: false,
      storedError: undefined,
      disturbed: false,
      reader: null,
      source: src,
      pull: fn("pull"),
      cancel: fn("cancel"),
      controller: null,
    };
    st.controller = new ReadableStreamDefaultController(INTERNAL, st);
    this.#st = st;
    const r = start === undefined ? undefined : start.call(src, st.controller);
    const ready = () => {
      st.started = true;
      streamPullIfNeeded(st);
    };
    if (r === undefined) PromiseResolve().then(ready);
    else PromiseResolve(r).then(ready, (e) => streamError(st, e));
  }
  static {
    streamState = (s) => s.#st;
  }
  get locked() {
    return this.#st.reader !== null;
  }
  cancel(reason) {
    if (!(#st in this)) return PromiseReject(new TypeError("not a ReadableStream"));
    if (this.#st.reader !== null) {
      return PromiseReject(new TypeError("ReadableStream: cannot cancel a locked stream"));
    }
    return streamCancel(this.#st, reason);
  }
  getReader(options) {
    const mode = options?.mode;
    if (mode !== undefined) {
      if (String(mode) === "byob")
        throw new TypeError("ReadableStream: BYOB readers are not supported");
      throw new RangeError("ReadableStream: invalid reader mode");
    }
    return new ReadableStreamDefaultReader(this);
  }
  tee() {
    return streamTee(this);
  }
  values(options) {
    return streamIterate(this.getReader(), !!options?.preventCancel);
  }
  [SymbolAsyncIterator](options) {
    return this.values(options);
  }
  static from(asyncIterable) {
    const asyncMethod = asyncIterable?.[SymbolAsyncIterator];
    let it;
    if (asyncMethod != null) it = asyncMethod.call(asyncIterable);
    else {
      const syncMethod = asyncIterable?.[SymbolIterator];
      if (!isCallable(syncMethod)) throw new TypeError("ReadableStream.from: not iterable");
      const sync = syncMethod.call(asyncIterable);
      it = {
        next: () => {
          const r = sync.next();
          return PromiseResolve(r.value).then((value) => ({ value, done: !!r.done }));
        },
        return: sync.return === undefined ? undefined : (v) => PromiseResolve(sync.return(v)),
      };
    }
    if (!isObject(it)) throw new TypeError("ReadableStream.from: iterator is not an object");
    return new ReadableStream(
      {
        pull(c) {
          return PromiseResolve(it.next()).then((r) => {
            if (!isObject(r)) throw new TypeError("iterator result is not an object");
            if (r.done) c.close();
            else c.enqueue(r.value);
          });
        },
        cancel(reason) {
          const ret = it.return;
          if (ret == null) return;
          return PromiseResolve(ret.call(it, reason)).then((r) => {
            if (!isObject(r)) throw new TypeError("iterator result is not an object");
          });
        },
      },
      { highWaterMark: 0 },
    );
  }
}
setToStringTag(ReadableStream, "ReadableStream");
defineGlobal("ReadableStream", ReadableStream);

class ReadableStreamDefaultReader {
  #st = null; // the stream's state while this reader holds the lock
  #rec;
  constructor(stream) {
    if (!(stream instanceof ReadableStream)) throw new TypeError("not a ReadableStream");
    const st = streamState(stream);
    if (st.reader !== null) throw new TypeError("ReadableStream is locked to another reader");
    const rec = { requests: [], closed: newDeferred() };
    markHandled(rec.closed.promise);
    if (st.state === "closed") rec.closed.resolve(undefined);
    else if (st.state === "errored") rec.closed.reject(st.storedError);
    st.reader = rec;
    this.#st = st;
    this.#rec = rec;
  }
  get closed() {
    return this.#rec.closed.promise;
  }
  read() {
    if (!(#st in this)) return PromiseReject(new TypeError("not a ReadableStreamDefaultReader"));
    if (this.#st === null) return PromiseReject(new TypeError("the reader has been released"));
    return streamRead(this.#st);
  }
  cancel(reason) {
    if (this.#st === null) return PromiseReject(new TypeError("the reader has been released"));
    return streamCancel(this.#st, reason);
  }
  releaseLock() {
    const st = this.#st;
    if (st === null) return;
    const rec = this.#rec;
    const e = new TypeError("the reader has been released");
    if (st.state === "readable") rec.closed.reject(e);
    else {
      rec.closed = newDeferred();
      markHandled(rec.closed.promise);
      rec.closed.reject(e);
    }
    const requests = rec.requests;
    rec.requests = [];
    for (const d of requests) d.reject(e);
    st.reader = null;
    this.#st = null;
  }
}
setToStringTag(ReadableStreamDefaultReader, "ReadableStreamDefaultReader");
defineGlobal("ReadableStreamDefaultReader", ReadableStreamDefaultReader);

const AsyncIteratorPrototype = ObjectGetPrototypeOf(
  ObjectGetPrototypeOf(async function* () {}).prototype,
);

// Not an async generator: QuickJS's for-await does not wait for return(), so cancelling and
// releasing the lock must happen synchronously inside it.
function streamIterate(reader, preventCancel) {
  let done = false;
  const finish = () => {
    done = true;
    reader.releaseLock();
  };
  const it = ObjectCreate(AsyncIteratorPrototype);
  it.next = () => {
    if (done) return PromiseResolve({ value: undefined, done: true });
    return reader.read().then(
      (r) => {
        if (!r.done) return { value: r.value, done: false };
        if (!done) finish();
        return { value: undefined, done: true };
      },
      (e) => {
        if (!done) finish();
        throw e;
      },
    );
  };
  it.return = (value) => {
    if (done) return PromiseResolve({ value, done: true });
    const cancelled = preventCancel ? PromiseResolve() : reader.cancel(value);
    finish();
    return cancelled.then(() => ({ value, done: true }));
  };
  return it;
}

function streamTee(stream) {
  const reader = stream.getReader();
  let reading = false;
  let readAgain = false;
  const canceled = [false, false];
  const reasons = [undefined, undefined];
  const cancelDone = newDeferred();
  const each = (f) => {
    for (let i = 0; i < 2; i++) if (!canceled[i]) f(streamState(branches[i]));
  };
  const pull = () => {
    if (reading) {
      readAgain = true;
      return;
    }
    reading = true;
    reader.read().then(
      (r) => {
        reading = false;
        if (r.done) {
          each((st) => st.state === "readable" && !st.closeRequested && streamCloseRequested(st));
          cancelDone.resolve(undefined);
          return;
        }
        each((st) => st.state === "readable" && !st.closeRequested && streamEnqueue(st, r.value));
        if (readAgain) {
          readAgain = false;
          pull();
        }
      },
      () => {
        reading = false;
      },
    );
  };
  const branch = (i) =>
    new ReadableStream({
      pull,
      cancel(reason) {
        canceled[i] = true;
        reasons[i] = reason;
        if (canceled[1 - i]) cancelDone.resolve(reader.cancel(reasons));
        return cancelDone.promise;
      },
    });
  const branches = [branch(0), branch(1)];
  reader.closed.then(undefined, (e) => {
    for (let i = 0; i < 2; i++) streamError(streamState(branches[i]), e);
    cancelDone.resolve(undefined);
  });
  return branches;
}

for (const [name, size] of [
  ["ByteLengthQueuingStrategy", (chunk) => chunk.byteLength],
  ["CountQueuingStrategy", () => 1],
]) {
  const Strategy = class {
    #hwm;
    constructor(init) {
      this.#hwm = Number(init?.highWaterMark);
    }
    get highWaterMark() {
      return this.#hwm;
    }
    get size() {
      return size;
    }
  };
  ObjectDefineProperty(Strategy, "name", { value: name });
  setToStringTag(Strategy, name);
  defineGlobal(name, Strategy);
}

// A stream of one chunk, for a body given as bytes.
function streamOfBytes(u8) {
  return new ReadableStream({
    start(c) {
      if (u8.byteLength > 0) c.enqueue(u8);
      c.close();
    },
  });
}

// Bytes of a chunk read from a body stream (strings are accepted too, unlike the spec).
function chunkBytes(chunk) {
  if (typeof chunk === "string") return utf8Encode(chunk);
  const u8 = bytesOf(chunk);
  if (u8 === null) throw new TypeError("a body stream chunk must be a Uint8Array");
  return u8;
}

// Reads a stream to its end: Promise of a Uint8Array with all the bytes.
function streamReadAll(stream) {
  const reader = stream.getReader();
  const parts = [];
  const step = (r) => {
    if (r.done) return concatBytes(parts.length ? parts : [new Uint8Array(0)]);
    parts.push(copyBytes(chunkBytes(r.value)));
    return reader.read().then(step);
  };
  return reader.read().then(step, (e) => {
    reader.releaseLock();
    throw e;
  });
}
