// Event, CustomEvent, EventTarget, AbortController, AbortSignal; timers and queueMicrotask.
let eventState; // (event) -> private fields object, for EventTarget's dispatch

class Event {
  #s;
  constructor(type, eventInitDict) {
    if (arguments.length === 0) throw new TypeError("Event: 1 argument required");
    const t = toDOMString(type);
    // EventInit's members in WebIDL order: bubbles, cancelable, composed.
    const o = webidlDictionary(eventInitDict, "Event");
    const bubbles = o !== undefined && !!o.bubbles;
    const cancelable = o !== undefined && !!o.cancelable;
    const composed = o !== undefined && !!o.composed;
    this.#s = {
      type: t,
      bubbles,
      cancelable,
      composed,
      defaultPrevented: false,
      stop: false,
      stopImmediate: false,
      inPassive: false,
      dispatching: false,
      trusted: false,
      target: null,
      currentTarget: null,
      phase: 0,
      timeStamp: DateNow() - timeOrigin,
    };
  }
  static {
    eventState = (e) => e.#s;
  }
  get type() {
    return this.#s.type;
  }
  get target() {
    return this.#s.target;
  }
  get srcElement() {
    return this.#s.target;
  }
  get currentTarget() {
    return this.#s.currentTarget;
  }
  get eventPhase() {
    return this.#s.phase;
  }
  get bubbles() {
    return this.#s.bubbles;
  }
  get cancelable() {
    return this.#s.cancelable;
  }
  get composed() {
    return this.#s.composed;
  }
  get defaultPrevented() {
    return this.#s.defaultPrevented;
  }
  get isTrusted() {
    return this.#s.trusted;
  }
  get timeStamp() {
    return this.#s.timeStamp;
  }
  get returnValue() {
    return !this.#s.defaultPrevented;
  }
  set returnValue(v) {
    if (!v) this.preventDefault();
  }
  get cancelBubble() {
    return this.#s.stop;
  }
  set cancelBubble(v) {
    if (v) this.#s.stop = true;
  }
  composedPath() {
    return this.#s.dispatching && this.#s.currentTarget ? [this.#s.currentTarget] : [];
  }
  stopPropagation() {
    this.#s.stop = true;
  }
  stopImmediatePropagation() {
    this.#s.stop = true;
    this.#s.stopImmediate = true;
  }
  preventDefault() {
    if (this.#s.cancelable && !this.#s.inPassive) this.#s.defaultPrevented = true;
  }
}
setToStringTag(Event, "Event");
for (const [name, value] of [
  ["NONE", 0],
  ["CAPTURING_PHASE", 1],
  ["AT_TARGET", 2],
  ["BUBBLING_PHASE", 3],
]) {
  ObjectDefineProperty(Event, name, { value, enumerable: true });
  ObjectDefineProperty(Event.prototype, name, { value, enumerable: true });
}
defineGlobal("Event", Event);

class CustomEvent extends Event {
  #detail;
  constructor(type, eventInitDict) {
    if (arguments.length === 0) throw new TypeError("CustomEvent: 1 argument required");
    super(type, eventInitDict);
    const o = webidlDictionary(eventInitDict, "CustomEvent");
    this.#detail = o === undefined || o.detail === undefined ? null : o.detail;
  }
  get detail() {
    return this.#detail;
  }
}
setToStringTag(CustomEvent, "CustomEvent");
defineGlobal("CustomEvent", CustomEvent);

function flattenListenerOptions(options) {
  if (isObject(options)) {
    return {
      capture: !!options.capture,
      once: !!options.once,
      passive: !!options.passive,
      signal: options.signal,
    };
  }
  return { capture: !!options, once: false, passive: false, signal: undefined };
}

class EventTarget {
  #listeners = null; // Map type -> [{ callback, capture, once, passive, removed }]
  addEventListener(type, callback, options) {
    if (callback === null || callback === undefined) return;
    if (!isObject(callback)) throw new TypeError("addEventListener: listener is not an object");
    const o = flattenListenerOptions(options);
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
      throw new TypeError("addEventListener: signal is not an AbortSignal");
    }
    if (o.signal && o.signal.aborted) return;
    type = String(type);
    if (this.#listeners === null) this.#listeners = new SafeMap();
    let list = this.#listeners.get(type);
    if (!list) this.#listeners.set(type, (list = []));
    for (let i = 0; i < list.length; i++) {
      if (list[i].callback === callback && list[i].capture === o.capture) return;
    }
    const rec = { callback, capture: o.capture, once: o.once, passive: o.passive, removed: false };
    ArrayPrototypePush(list, rec);
    if (o.signal) signalAddAlgorithm(o.signal, () => this.#remove(type, rec));
  }
  removeEventListener(type, callback, options) {
    const list = this.#listeners?.get(String(type));
    if (!list) return;
    const capture = isObject(options) ? !!options.capture : !!options;
    for (let i = 0; i < list.length; i++) {
      const r = list[i];
      if (r.callback === callback && r.capture === capture) return this.#remove(String(type), r);
    }
  }
  #remove(type, rec) {
    rec.removed = true;
    const list = this.#listeners?.get(type);
    const i = list ? ArrayPrototypeIndexOf(list, rec) : -1;
    if (i < 0) return;
    for (let j = i + 1; j < list.length; j++) list[j - 1] = list[j];
    list.length--;
  }
  dispatchEvent(event) {
    if (!(event instanceof Event)) throw new TypeError("dispatchEvent: argument is not an Event");
    const s = eventState(event);
    if (s.dispatching)
      throw new DOMException("The event is already being dispatched", "InvalidStateError");
    s.dispatching = true;
    s.target = this;
    s.currentTarget = this;
    s.phase = 2;
    const list = this.#listeners?.get(s.type);
    if (list && list.length > 0) {
      const snapshot = arrayCopy(list, 0);
      // At the target, capturing listeners run before the others (current DOM spec).
      this.#invoke(event, s, snapshot, true);
      this.#invoke(event, s, snapshot, false);
    }
    s.dispatching = false;
    s.phase = 0;
    s.currentTarget = null;
    s.stop = false;
    s.stopImmediate = false;
    return !s.defaultPrevented;
  }
  #invoke(event, s, snapshot, capture) {
    for (let i = 0; i < snapshot.length; i++) {
      const r = snapshot[i];
      if (s.stopImmediate) return;
      if (r.removed || r.capture !== capture) continue;
      if (r.once) this.#remove(s.type, r);
      s.inPassive = r.passive;
      try {
        const cb = r.callback;
        if (typeof cb === "function") FunctionPrototypeCall(cb, this, event);
        else {
          const handle = cb.handleEvent;
          if (!isCallable(handle)) throw new TypeError("listener has no handleEvent method");
          FunctionPrototypeCall(handle, cb, event);
        }
      } catch (e) {
        reportException(e);
      }
      s.inPassive = false;
    }
  }
}
setToStringTag(EventTarget, "EventTarget");
defineGlobal("EventTarget", EventTarget);

let signalAddAlgorithm; // (signal, fn): run fn when the signal aborts
let signalAbort; // (signal, reason)

function newAbortSignal() {
  return new AbortSignal(INTERNAL);
}

function abortError() {
  return new DOMException("This operation was aborted", "AbortError");
}

class AbortSignal extends EventTarget {
  #aborted = false;
  #reason = undefined;
  #algorithms = null;
  #onabort = null;
  #handlerAdded = false;
  constructor(key) {
    if (key !== INTERNAL) throw new TypeError("Illegal constructor");
    super();
  }
  static {
    signalAddAlgorithm = (signal, fn) => {
      if (signal.#aborted) return;
      ArrayPrototypePush((signal.#algorithms ??= []), fn);
    };
    signalAbort = (signal, reason) => {
      if (signal.#aborted) return;
      signal.#aborted = true;
      signal.#reason = reason === undefined ? abortError() : reason;
      const algorithms = signal.#algorithms;
      signal.#algorithms = null;
      if (algorithms) {
        for (let i = 0; i < algorithms.length; i++) {
          try {
            algorithms[i]();
          } catch (e) {
            reportException(e);
          }
        }
      }
      const event = new Event("abort");
      eventState(event).trusted = true;
      signal.dispatchEvent(event);
    };
  }
  static abort(reason) {
    const s = newAbortSignal();
    signalAbort(s, reason);
    return s;
  }
  static timeout(milliseconds) {
    const ms = Number(milliseconds);
    if (!NumberIsFinite(ms) || ms < 0 || ms > Number.MAX_SAFE_INTEGER) {
      throw new TypeError("AbortSignal.timeout: milliseconds is outside the accepted range");
    }
    const s = newAbortSignal();
    timerSet(
      () => signalAbort(s, new DOMException("The operation timed out.", "TimeoutError")),
      ms,
      [],
      false,
    );
    return s;
  }
  static any(signals) {
    const s = newAbortSignal();
    const list = ArrayFrom(signals);
    for (const sig of list) {
      if (!(sig instanceof AbortSignal)) throw new TypeError("AbortSignal.any: not an AbortSignal");
      if (sig.aborted) {
        signalAbort(s, sig.reason);
        return s;
      }
    }
    for (const sig of list) signalAddAlgorithm(sig, () => signalAbort(s, sig.reason));
    return s;
  }
  get aborted() {
    return this.#aborted;
  }
  get reason() {
    return this.#reason;
  }
  throwIfAborted() {
    if (this.#aborted) throw this.#reason;
  }
  get onabort() {
    return this.#onabort;
  }
  set onabort(v) {
    this.#onabort = isObject(v) ? v : null;
    // An event handler attribute is one listener, registered when first set.
    if (!this.#handlerAdded && this.#onabort !== null) {
      this.#handlerAdded = true;
      this.addEventListener("abort", (event) => {
        const h = this.#onabort;
        if (typeof h === "function") FunctionPrototypeCall(h, this, event);
      });
    }
  }
  [INSPECT]() {
    return { aborted: this.#aborted };
  }
}
setToStringTag(AbortSignal, "AbortSignal");
defineGlobal("AbortSignal", AbortSignal);

class AbortController {
  #signal = newAbortSignal();
  get signal() {
    return this.#signal;
  }
  abort(reason) {
    signalAbort(this.#signal, reason);
  }
}
setToStringTag(AbortController, "AbortController");
defineGlobal("AbortController", AbortController);

function queueMicrotask(callback) {
  if (!isCallable(callback)) throw new TypeError("queueMicrotask: callback is not a function");
  then(PromiseResolve(), () => {
    try {
      callback();
    } catch (e) {
      reportException(e);
    }
  });
}
defineGlobal("queueMicrotask", queueMicrotask);
defineGlobal("reportError", (e) => reportException(e));

// Timers: ids are positive integers. The host keeps the schedule (intervals included, re-armed
// after each firing) and calls back runTimers with the due ids; a refusal (too many timers for
// the request) comes back as the reason, thrown here as a RangeError.
const timers = new SafeMap(); // id -> { callback, args, repeat }
let nextTimerId = 1;

function timerSet(callback, ms, args, repeat) {
  if (!isCallable(callback)) throw new TypeError("timer callback must be a function");
  let delay = MathFloor(Number(ms));
  if (!(delay >= 0)) delay = 0;
  if (delay > 2147483647) delay = 2147483647;
  const id = nextTimerId++;
  const refused = host.setTimer(id, delay, repeat ? 1 : 0);
  if (refused !== undefined) throw new RangeError(refused);
  timers.set(id, { callback, args, repeat });
  return id;
}

function timerClear(id) {
  const n = Number(id);
  if (!timers.delete(n)) return;
  host.clearTimer(n);
}

/** due: ids to run, in order; forget: ids whose request ended (the host dropped them). */
function runTimers(due, forget) {
  if (forget !== "") {
    const ids = StringPrototypeSplit(forget, ",");
    for (let i = 0; i < ids.length; i++) timers.delete(+ids[i]);
  }
  if (due === "") return;
  const ids = StringPrototypeSplit(due, ",");
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    const t = timers.get(+id);
    if (t === undefined) continue;
    if (!t.repeat) timers.delete(+id);
    try {
      ReflectApply(t.callback, globalObject, t.args);
    } catch (e) {
      reportException(e);
    }
  }
}

defineGlobal("setTimeout", (callback, ms, ...args) => timerSet(callback, ms, args, false));
defineGlobal("setInterval", (callback, ms, ...args) => timerSet(callback, ms, args, true));
defineGlobal("clearTimeout", (id) => timerClear(id));
defineGlobal("clearInterval", (id) => timerClear(id));
