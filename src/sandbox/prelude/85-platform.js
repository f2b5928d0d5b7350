// The rest of the Workers global scope: self, navigator, performance, EventTarget methods on the
// global, MessageChannel/MessagePort/MessageEvent, Error.captureStackTrace, URLPattern (loaded
// on first use), and DOMException's legacy constants that have no error name.
const ErrorCtor = Error;
const indirectEval = globalObject.eval;
const setTimeoutGlobal = globalObject.setTimeout;

defineGlobal("self", globalObject);

class Navigator {
  constructor(key) {
    if (key !== INTERNAL) throw new TypeError("Illegal constructor");
  }
  get userAgent() {
    return "sitebox";
  }
  get hardwareConcurrency() {
    return 1;
  }
}
setToStringTag(Navigator, "Navigator");
defineGlobal("Navigator", Navigator);
defineGlobal("navigator", new Navigator(INTERNAL));

// High-resolution time from the host (epoch ms with a fraction), relative to the moment this
// sandbox was made: set again by initInstance (12-instance.js), as the prelude's memory is copied.
let performanceOrigin = host.now();

class Performance extends EventTarget {
  constructor(key) {
    if (key !== INTERNAL) throw new TypeError("Illegal constructor");
    super();
  }
  get timeOrigin() {
    return performanceOrigin;
  }
  now() {
    return host.now() - performanceOrigin;
  }
  toJSON() {
    return { timeOrigin: performanceOrigin };
  }
}
setToStringTag(Performance, "Performance");
defineGlobal("Performance", Performance);
defineGlobal("performance", new Performance(INTERNAL));

// The global scope is an EventTarget (WorkerGlobalScope), through one hidden target.
{
  const target = new EventTarget();
  const methods = {
    addEventListener: (type, listener, options) => target.addEventListener(type, listener, options),
    removeEventListener: (type, listener, options) =>
      target.removeEventListener(type, listener, options),
    dispatchEvent: (event) => target.dispatchEvent(event),
  };
  for (const name of ObjectKeys(methods)) defineGlobal(name, methods[name]);
}

class MessageEvent extends Event {
  #data;
  #origin;
  #lastEventId;
  #source;
  #ports;
  constructor(type, eventInitDict) {
    if (arguments.length === 0) throw new TypeError("MessageEvent: 1 argument required");
    super(type, eventInitDict);
    const o = webidlDictionary(eventInitDict, "MessageEvent");
    // MessageEventInit's own members, in WebIDL order.
    this.#data = o === undefined || o.data === undefined ? null : o.data;
    this.#lastEventId =
      o === undefined || o.lastEventId === undefined ? "" : toDOMString(o.lastEventId);
    this.#origin = o === undefined || o.origin === undefined ? "" : toDOMString(o.origin);
    const ports = o === undefined || o.ports === undefined ? [] : ArrayFrom(o.ports);
    this.#ports = ObjectFreeze(ports);
    this.#source = o === undefined || o.source === undefined ? null : o.source;
  }
  get data() {
    return this.#data;
  }
  get origin() {
    return this.#origin;
  }
  get lastEventId() {
    return this.#lastEventId;
  }
  get source() {
    return this.#source;
  }
  get ports() {
    return this.#ports;
  }
}
setToStringTag(MessageEvent, "MessageEvent");
defineGlobal("MessageEvent", MessageEvent);

let portEntangle; // (a, b)

// One side of a MessageChannel. Messages are structured clones, delivered in a later task (a
// zero-delay timer), once the port has been started (start(), or setting onmessage).
class MessagePort extends EventTarget {
  #other = null;
  #queue = [];
  #started = false;
  #closed = false;
  #scheduled = false;
  #onmessage = null;
  #onmessageerror = null;
  constructor(key) {
    if (key !== INTERNAL) throw new TypeError("Illegal constructor");
    super();
  }
  static {
    portEntangle = (a, b) => {
      a.#other = b;
      b.#other = a;
    };
  }
  postMessage(message, options) {
    if (arguments.length === 0) throw new TypeError("postMessage: 1 argument required");
    const transfer = isArray(options)
      ? options
      : webidlDictionary(options, "postMessage")?.transfer;
    const data = structuredClone(message, transfer === undefined ? undefined : { transfer });
    const to = this.#other;
    if (to === null || this.#closed) return;
    ArrayPrototypePush(to.#queue, data);
    to.#schedule();
  }
  start() {
    this.#started = true;
    this.#schedule();
  }
  close() {
    this.#closed = true;
    const other = this.#other;
    this.#other = null;
    if (other !== null) other.#other = null;
  }
  #schedule() {
    if (!this.#started || this.#scheduled || this.#queue.length === 0) return;
    this.#scheduled = true;
    setTimeoutGlobal(() => this.#deliver(), 0);
  }
  #deliver() {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    for (let i = 0; i < queue.length; i++) {
      if (this.#closed) return;
      this.dispatchEvent(new MessageEvent("message", { data: queue[i] }));
    }
  }
  get onmessage() {
    return this.#onmessage;
  }
  set onmessage(v) {
    if (this.#onmessage === null && isObject(v)) {
      this.addEventListener("message", (e) => {
        const h = this.#onmessage;
        if (typeof h === "function") FunctionPrototypeCall(h, this, e);
      });
    }
    this.#onmessage = isObject(v) ? v : null;
    this.start(); // setting onmessage starts the port, as the spec says
  }
  get onmessageerror() {
    return this.#onmessageerror;
  }
  set onmessageerror(v) {
    this.#onmessageerror = isObject(v) ? v : null;
  }
}
setToStringTag(MessagePort, "MessagePort");
defineGlobal("MessagePort", MessagePort);

class MessageChannel {
  #port1 = new MessagePort(INTERNAL);
  #port2 = new MessagePort(INTERNAL);
  constructor() {
    portEntangle(this.#port1, this.#port2);
  }
  get port1() {
    return this.#port1;
  }
  get port2() {
    return this.#port2;
  }
}
setToStringTag(MessageChannel, "MessageChannel");
defineGlobal("MessageChannel", MessageChannel);

// V8's Error.captureStackTrace, which many npm packages call: sets target.stack to the stack
// here (QuickJS's format: frames only), without the frames above constructorOpt.
if (typeof ErrorCtor.captureStackTrace !== "function") {
  const captureStackTrace = function captureStackTrace(target, constructorOpt) {
    if (!isObject(target)) throw new TypeError("Error.captureStackTrace: target is not an object");
    const stack = String(new ErrorCtor().stack ?? "");
    let lines = stack.split("\n");
    lines.shift(); // this function's own frame
    const name = isCallable(constructorOpt) ? constructorOpt.name : "";
    if (name) {
      const at = lines.findIndex((l) => l.includes(`at ${name} (`) || l.includes(`.${name} (`));
      if (at >= 0) lines = lines.slice(at + 1);
    }
    const value = lines.join("\n");
    ObjectDefineProperty(target, "stack", { value, writable: true, configurable: true });
  };
  ObjectDefineProperty(ErrorCtor, "captureStackTrace", {
    value: captureStackTrace,
    writable: true,
    configurable: true,
  });
  if (ErrorCtor.stackTraceLimit === undefined) ErrorCtor.stackTraceLimit = 10;
}

// DOMException's legacy constants without an error name of their own.
for (const [name, value] of [
  ["DOMSTRING_SIZE_ERR", 2],
  ["NO_DATA_ALLOWED_ERR", 6],
  ["INUSE_ATTRIBUTE_ERR", 10],
  ["VALIDATION_ERR", 16],
]) {
  const desc = { value, enumerable: true };
  ObjectDefineProperty(DOMException, name, desc);
  ObjectDefineProperty(DOMException.prototype, name, desc);
}

// URLPattern: urlpattern-polyfill, compiled only when a site first touches the global (it costs
// ~3 ms to compile, and few apps use it); then the global is a plain data property.
{
  let URLPattern;
  const load = () => {
    if (URLPattern === undefined) {
      const module = { exports: {} };
      indirectEval(`(function (module, exports) {${URL_PATTERN_SOURCE}\n})`)(
        module,
        module.exports,
      );
      URLPattern = module.exports.URLPattern;
    }
    return URLPattern;
  };
  ObjectDefineProperty(globalObject, "URLPattern", {
    get() {
      const C = load();
      defineGlobal("URLPattern", C);
      return C;
    },
    set(v) {
      defineGlobal("URLPattern", v);
    },
    configurable: true,
  });
}
