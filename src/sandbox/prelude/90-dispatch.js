// The dispatcher: the host's way in. Loads route modules through the sandbox's module loader,
// runs handlers, and hands each Response back to the host as one record.
// It uses only the primordials (05-primordials.js): a site that replaces the built-ins cannot
// change how its responses reach the host.
const dispatchImport = (name) => import("./" + name);

/** route → handler function, once its module has loaded */
const readyHandlers = new SafeMap();
/** route → promise of handler, while (or after failing) to load */
const loadingHandlers = new SafeMap();
/** request id → Request, until the handler answers: its signal aborts if the client goes away */
const inflight = new SafeMap();
/** Bodies up to this size need no word from the host's response budget (ALWAYS_ADMITTED_BYTES). */
const ADMIT_WITHOUT_ASKING = 64 * 1024;
/** request id → { cancel, resume } of its streamed body's reader (true while starting) */
const streamReaders = new SafeMap();
let siteEnv = ObjectFreeze({});
/** Finished text responses: "meta JSON\nbody" records, meta.n = body length. */
let outbox = "";

function takeOutbox() {
  const out = outbox;
  outbox = "";
  return out;
}

// [message, stack] of what a handler threw; its getters and toString may throw in turn.
function errorText(e) {
  try {
    if (e !== null && typeof e === "object") {
      const name = e.name === undefined ? "Error" : String(e.name);
      return [name + ": " + String(e.message), e.stack === undefined ? "" : String(e.stack)];
    }
    return ["Uncaught " + String(e), ""];
  } catch {
    return ["Uncaught exception (it could not be described)", ""];
  }
}

function handlerOf(ns, route) {
  const d = ns.default;
  if (typeof d === "function") return d;
  if (d !== null && typeof d === "object" && typeof d.fetch === "function")
    return (request, env, ctx) => d.fetch(request, env, ctx);
  const err = new TypeError(
    route + ": the default export must be a function or an object with a fetch method",
  );
  err.sitebox = "export";
  throw err;
}

function loadHandler(route) {
  let p = loadingHandlers.get(route);
  if (p === undefined) {
    p = then(
      dispatchImport(route),
      (ns) => {
        const fn = handlerOf(ns, route);
        readyHandlers.set(route, fn);
        return fn;
      },
      (e) => {
        throw describeLoadError(e, route);
      },
    );
    loadingHandlers.set(route, p);
  }
  return p;
}

function failRequest(id, kind, e) {
  inflight.delete(id);
  const text = errorText(e);
  host.fail(id, kind, text[0], text[1]);
}

function describe(v) {
  if (v === null) return "null";
  if (typeof v !== "object") return typeof v;
  try {
    const ctor = v.constructor;
    if (!ctor || typeof ctor.name !== "string") return "an object";
    // A Proxy of a Response, or an object made to look like one.
    return ctor.name === "Response"
      ? "an object that only looks like a Response"
      : "a " + ctor.name;
  } catch {
    return "an object";
  }
}

function finish(id, response) {
  inflight.delete(id);
  let parts;
  try {
    parts = responseParts(response);
  } catch (e) {
    host.fail(id, "type", "handler returned " + describe(response) + ", not a Response", "");
    return;
  }
  const kind = parts.kind;
  const body = parts.body;
  // Our own body states always hold these; checked anyway, as the outbox framing relies on it.
  if (kind === "text" ? typeof body !== "string" : kind === "bytes" && !isArrayBuffer(body)) {
    host.fail(id, "type", "the response body could not be read", "");
    return;
  }
  // A big whole body is first weighed against the worker's response budget, before it is copied
  // out of the sandbox: refused (503), it never reaches the host (src/response-budget.ts).
  const size =
    kind === "text" ? body.length : kind === "bytes" ? ArrayBufferPrototypeGetByteLength(body) : 0;
  if (size > ADMIT_WITHOUT_ASKING && !host.admit(id, size)) return;
  if (kind === "text" || kind === "none") {
    // Text answers wait in the outbox and leave with the host's call's return value: a host
    // callback costs more than the whole response (see README "One crossing per request").
    // Lines split at "\n", which no status or valid header can contain (parseOutboxRecord).
    const text = kind === "text" ? body : "";
    const h = parts.headers;
    outbox +=
      id +
      "\n" +
      parts.status +
      "\n" +
      text.length +
      "\n" +
      h.length / 2 +
      "\n" +
      (h.length === 0 ? "" : ArrayPrototypeJoin(h, "\n") + "\n") +
      text;
    return;
  }
  const meta = JSONstringify({ i: id, s: parts.status, h: parts.headers, k: parts.kind });
  if (parts.kind !== "stream") {
    host.respond(meta, parts.body);
    return;
  }
  if (!host.respond(meta)) {
    // Refused (a bad header) or no longer wanted: nobody will read this body.
    try {
      markHandled(streamCancel(parts.body, "response refused"));
    } catch {} // a stream the site broke: nothing more to do
    return;
  }
  streamReaders.set(id, true);
  // host.chunk answers false when the client is behind: the reader then waits for entry.pull.
  const reading = readStreamInto(
    parts.body,
    (chunk) => streamReaders.has(id) && host.chunk(id, chunk),
    () => {
      streamReaders.delete(id);
      host.end(id);
    },
    (e) => {
      streamReaders.delete(id);
      failRequest(id, "throw", e);
    },
  );
  // The stream is locked by its reader: cancelling and resuming go through the reader.
  if (streamReaders.has(id)) streamReaders.set(id, reading);
}

/**
 * The handler's `ctx`, one per request: waitUntil tells the host to keep the request's work
 * (its timers) alive until the promise settles, within the host's bounds (30 s, one --timeout of
 * CPU after the response).
 */
class ExecutionContext {
  #id;
  constructor(id) {
    this.#id = id;
  }
  waitUntil(promise) {
    const id = this.#id;
    host.waitUntil(id, 1);
    let settled = false;
    const done = (e, failed) => {
      if (settled) return;
      settled = true;
      if (failed) {
        const text = errorText(e);
        host.log("error", "waitUntil: " + text[0] + "\n" + text[1]);
      }
      host.waitUntil(id, -1);
    };
    const ok = () => done(undefined, false);
    if (!settleOf(promise, ok, (e) => done(e, true))) then(PromiseResolve(), ok);
  }
  passThroughOnException() {}
}

/** "body": the handler let a client's malformed body surface (60-body.js), answered 400. */
function failKind(e) {
  return isClientBodyError(e) ? "body" : "throw";
}

function run(id, fn, request) {
  let result;
  try {
    result = fn(request, siteEnv, new ExecutionContext(id));
  } catch (e) {
    failRequest(id, failKind(e), e);
    return;
  }
  // settleOf's first steps, without its two closures: most handlers return a Response itself
  // (its `then` is still read: a site may have given it one).
  if (result === null || (typeof result !== "object" && typeof result !== "function")) {
    finish(id, result);
    return;
  }
  let isPromise = false;
  let method;
  try {
    isPromise = ObjectGetPrototypeOf(result) === PromisePrototype;
    if (!isPromise) method = result.then;
  } catch (e) {
    failRequest(id, failKind(e), e);
    return;
  }
  if (!isPromise && typeof method !== "function") {
    finish(id, result);
    return;
  }
  const onFulfilled = (r) => finish(id, r);
  const onRejected = (e) => failRequest(id, failKind(e), e);
  // A promise of this realm through the captured then, another thenable through its own.
  if (!isPromise) settleThenable(result, method, onFulfilled, onRejected);
  else {
    try {
      then(result, onFulfilled, onRejected); // throws if its own constructor getter does
    } catch (e) {
      onRejected(e);
    }
  }
}

/**
 * Calls onFulfilled or onRejected, once, when v settles: through the captured then for a promise
 * of this realm, through v's own then for another thenable (guarded, since a site's then may call
 * back twice). False when v is no thenable at all. (No exception on the common paths: building
 * one costs more than the whole dispatch.)
 */
function settleOf(v, onFulfilled, onRejected) {
  if (v === null || (typeof v !== "object" && typeof v !== "function")) return false;
  let method;
  try {
    if (ObjectGetPrototypeOf(v) === PromisePrototype) {
      then(v, onFulfilled, onRejected);
      return true;
    }
    method = v.then;
  } catch (e) {
    onRejected(e);
    return true;
  }
  if (typeof method !== "function") return false;
  settleThenable(v, method, onFulfilled, onRejected);
  return true;
}

// A thenable's own then (already read, once), its callbacks guarded to run once at most.
function settleThenable(v, method, onFulfilled, onRejected) {
  let called = false;
  const once = (f) => (x) => {
    if (called) return;
    called = true;
    f(x);
  };
  try {
    FunctionPrototypeCall(method, v, once(onFulfilled), once(onRejected));
  } catch (e) {
    once(onRejected)(e);
  }
}

const entry = {
  intrinsics: hostIntrinsics,
  init(envJson) {
    initInstance();
    siteEnv = ObjectFreeze(JSONparse(envJson));
  },
  dispatch(metaText, body) {
    dispatchOne(metaText, body);
    return takeOutbox();
  },
  take: takeOutbox,
  muted: takeMutedConsole,
  load(route, token) {
    then(
      loadHandler(route),
      () => host.loadResult(token, "", ""),
      (e) => {
        const text = errorText(e);
        host.loadResult(token, text[0], text[1]);
      },
    );
  },
  fire(due, forget) {
    runTimers(due, forget);
    return takeOutbox();
  },
  settle(ticket, ok, a, b, c, d, e) {
    settleHostOperation(ticket, ok, a, b, c, d, e);
    return takeOutbox();
  },
  cancel(id) {
    // The client went away: abort request.signal if the handler is still working on it...
    const request = inflight.get(id);
    if (request !== undefined) {
      inflight.delete(id);
      abortIncomingRequest(request, new DOMException("The client went away", "AbortError"));
    }
    // ...and stop a streamed body.
    const r = streamReaders.get(id);
    streamReaders.delete(id);
    if (typeof r === "object") r.cancel("client went away");
    return takeOutbox();
  },
  pull(id) {
    // The client drained what it had: read the streamed body on.
    const r = streamReaders.get(id);
    if (typeof r === "object") r.resume();
    return takeOutbox();
  },
};

/** a without its first k items, in place (as fast as slice, and no Symbol.species). */
function dropFirst(a, k) {
  const n = a.length > k ? a.length - k : 0;
  for (let i = 0; i < n; i++) a[i] = a[i + k];
  a.length = n;
  return a;
}

/** metaText: id, method, url, route, then header names and values, split at "\n". */
function dispatchOne(metaText, body) {
  const f = StringPrototypeSplit(metaText, "\n");
  const id = +f[0];
  const route = f[3];
  let request;
  try {
    const url = f[2];
    const method = f[1];
    request = newIncomingRequest(url, method, dropFirst(f, 4), body, undefined);
  } catch (e) {
    failRequest(id, "throw", e);
    return;
  }
  inflight.set(id, request);
  const fn = readyHandlers.get(route);
  if (fn !== undefined) {
    run(id, fn, request);
    return;
  }
  then(
    loadHandler(route),
    (f) => run(id, f, request),
    (e) => failRequest(id, e && e.sitebox === "export" ? "export" : "load", e),
  );
}

return entry;
