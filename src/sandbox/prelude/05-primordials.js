// Primordials: the built-ins the server's own code relies on, captured before site code runs (as
// Node's core does). A site may replace any global or prototype method; the dispatcher, the body
// and header code, timers and the console call these copies, so tampering breaks only the site's
// own calls, never how its response reaches the host.
//
// The constructors and namespaces are shadowed by name: every later file (the vendored polyfills
// too) sees the original `Array`, `Promise`, `Uint8Array`, ... even if a site reassigns the
// global. Their methods are reached through the captured, uncurried functions below
// (`ArrayPrototypePush(list, x)` for `list.push(x)`). A function bound to `call` costs no more
// than the method call in QuickJS (measured), and `Function.prototype.call` itself is the one
// captured here, not looked up again.
const Object = globalThis.Object;
const Function = globalThis.Function;
const Array = globalThis.Array;
const String = globalThis.String;
const Number = globalThis.Number;
const Boolean = globalThis.Boolean;
const Symbol = globalThis.Symbol;
const BigInt = globalThis.BigInt;
const Promise = globalThis.Promise;
const Map = globalThis.Map;
const Set = globalThis.Set;
const WeakMap = globalThis.WeakMap;
const WeakSet = globalThis.WeakSet;
const WeakRef = globalThis.WeakRef;
const FinalizationRegistry = globalThis.FinalizationRegistry;
const Error = globalThis.Error;
const TypeError = globalThis.TypeError;
const RangeError = globalThis.RangeError;
const SyntaxError = globalThis.SyntaxError;
const ReferenceError = globalThis.ReferenceError;
const AggregateError = globalThis.AggregateError;
const JSON = globalThis.JSON;
const Math = globalThis.Math;
const Reflect = globalThis.Reflect;
const Proxy = globalThis.Proxy;
const Date = globalThis.Date;
const RegExp = globalThis.RegExp;
const ArrayBuffer = globalThis.ArrayBuffer;
const DataView = globalThis.DataView;
const Uint8Array = globalThis.Uint8Array;
const Int8Array = globalThis.Int8Array;
const Uint8ClampedArray = globalThis.Uint8ClampedArray;
const Uint16Array = globalThis.Uint16Array;
const Int16Array = globalThis.Int16Array;
const Uint32Array = globalThis.Uint32Array;
const Int32Array = globalThis.Int32Array;
const Float32Array = globalThis.Float32Array;
const Float64Array = globalThis.Float64Array;
const BigInt64Array = globalThis.BigInt64Array;
const BigUint64Array = globalThis.BigUint64Array;
const parseInt = globalThis.parseInt;
const parseFloat = globalThis.parseFloat;
const isNaN = globalThis.isNaN;
const isFinite = globalThis.isFinite;
const encodeURIComponent = globalThis.encodeURIComponent;
const decodeURIComponent = globalThis.decodeURIComponent;

const uncurryThis = Function.prototype.bind.bind(Function.prototype.call);
const FunctionPrototypeCall = uncurryThis(Function.prototype.call);
const ReflectApply = Reflect.apply;
const ReflectOwnKeys = Reflect.ownKeys;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ObjectSetPrototypeOf = Object.setPrototypeOf;
const getterOf = (proto, name) => uncurryThis(ObjectGetOwnPropertyDescriptor(proto, name).get);

const ArrayPrototypePush = uncurryThis(Array.prototype.push);
const ArrayPrototypeJoin = uncurryThis(Array.prototype.join);
const ArrayPrototypeSlice = uncurryThis(Array.prototype.slice);
const ArrayPrototypeSort = uncurryThis(Array.prototype.sort);
const ArrayPrototypeIncludes = uncurryThis(Array.prototype.includes);
const ArrayPrototypeIndexOf = uncurryThis(Array.prototype.indexOf);

// What a genuine Array's iteration goes through, as it was: the WebIDL sequence conversions
// iterate such an array by index while both are still these (15-webidl.js).
const ArrayPrototypeValues = Array.prototype[Symbol.iterator];
const ArrayIteratorPrototypeNext = Object.getPrototypeOf(ArrayPrototypeValues.call([])).next;

const StringPrototypeSplit = uncurryThis(String.prototype.split);
const StringPrototypeSlice = uncurryThis(String.prototype.slice);
const StringPrototypeIndexOf = uncurryThis(String.prototype.indexOf);
const StringPrototypeCharCodeAt = uncurryThis(String.prototype.charCodeAt);
const StringPrototypeToLowerCase = uncurryThis(String.prototype.toLowerCase);
const StringPrototypeToUpperCase = uncurryThis(String.prototype.toUpperCase);
const StringPrototypeToWellFormed = uncurryThis(String.prototype.toWellFormed);
const StringPrototypeTrim = uncurryThis(String.prototype.trim);
const StringPrototypeIncludes = uncurryThis(String.prototype.includes);
const StringPrototypeReplaceAll = uncurryThis(String.prototype.replaceAll);

// Only exec is safe to call on a regex: test, replace and split look `exec` up again.
const RegExpPrototypeExec = uncurryThis(RegExp.prototype.exec);

const PromisePrototype = Promise.prototype;
const PromisePrototypeThen = uncurryThis(Promise.prototype.then);

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const TypedArrayPrototypeGetBuffer = getterOf(TypedArrayPrototype, "buffer");
const TypedArrayPrototypeGetByteOffset = getterOf(TypedArrayPrototype, "byteOffset");
const TypedArrayPrototypeGetByteLength = getterOf(TypedArrayPrototype, "byteLength");
const TypedArrayPrototypeGetLength = getterOf(TypedArrayPrototype, "length");
const TypedArrayPrototypeSet = uncurryThis(TypedArrayPrototype.set);
const TypedArrayPrototypeSubarray = uncurryThis(TypedArrayPrototype.subarray);
const ArrayBufferPrototypeGetByteLength = getterOf(ArrayBuffer.prototype, "byteLength");

// Collections whose methods are their own: a site that replaces Map.prototype.get does not
// reach them (Node's SafeMap). Same native functions, so no slower.
function makeSafe(Base, Safe) {
  const keys = ReflectOwnKeys(Base.prototype);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (key === "constructor") continue;
    Object.defineProperty(Safe.prototype, key, ObjectGetOwnPropertyDescriptor(Base.prototype, key));
  }
  ObjectSetPrototypeOf(Safe.prototype, null);
  Object.freeze(Safe.prototype);
  return Safe;
}
const SafeMap = makeSafe(Map, class SafeMap extends Map {});
const SafeSet = makeSafe(Set, class SafeSet extends Set {});
const SafeWeakMap = makeSafe(WeakMap, class SafeWeakMap extends WeakMap {});
const SafeWeakSet = makeSafe(WeakSet, class SafeWeakSet extends WeakSet {});

// A copy of a[start..]. Array.prototype.slice would build its result through a.constructor's
// Symbol.species, which a site can replace.
function arrayCopy(a, start) {
  const out = [];
  for (let i = start; i < a.length; i++) out[i - start] = a[i];
  return out;
}

// Every reaction the server's code registers, through the captured then as through await, looks
// up promise.constructor and its Symbol.species (SpeciesConstructor): replaced, they could make
// every then throw. So these two are locked rather than captured (a site can still subclass
// Promise, or replace the global).
Object.defineProperty(Promise.prototype, "constructor", { writable: false, configurable: false });
Object.defineProperty(Promise, Symbol.species, { configurable: false });

// A promise's then, as it was: the dispatcher's and the streams' own promises settle through it.
function then(p, onFulfilled, onRejected) {
  return PromisePrototypeThen(p, onFulfilled, onRejected);
}
