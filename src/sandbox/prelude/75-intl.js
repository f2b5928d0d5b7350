// Intl, backed by Node's ICU (host/intl.ts). An Intl object here holds a key: its type and the
// locales and options it was built from, as JSON; the host builds the real one on first use and
// keeps it in a bounded per-sandbox cache. The locale-sensitive methods of Date, Number, BigInt,
// String, Array and the typed arrays are replaced by ones that use it.
const INTL_DATE_OPTIONS = [
  "localeMatcher",
  "calendar",
  "numberingSystem",
  "hour12",
  "hourCycle",
  "timeZone",
  "weekday",
  "era",
  "year",
  "month",
  "day",
  "dayPeriod",
  "hour",
  "minute",
  "second",
  "fractionalSecondDigits",
  "timeZoneName",
  "formatMatcher",
  "dateStyle",
  "timeStyle",
];
const INTL_DIGIT_OPTIONS = [
  "minimumIntegerDigits",
  "minimumFractionDigits",
  "maximumFractionDigits",
  "minimumSignificantDigits",
  "maximumSignificantDigits",
  "roundingPriority",
  "roundingIncrement",
  "roundingMode",
  "trailingZeroDisplay",
];
const INTL_OPTIONS = {
  DateTimeFormat: INTL_DATE_OPTIONS,
  NumberFormat: [
    "localeMatcher",
    "numberingSystem",
    "style",
    "currency",
    "currencyDisplay",
    "currencySign",
    "unit",
    "unitDisplay",
    "notation",
    ...INTL_DIGIT_OPTIONS,
    "compactDisplay",
    "useGrouping",
    "signDisplay",
  ],
  Collator: [
    "usage",
    "localeMatcher",
    "collation",
    "numeric",
    "caseFirst",
    "sensitivity",
    "ignorePunctuation",
  ],
  PluralRules: ["localeMatcher", "type", ...INTL_DIGIT_OPTIONS],
  RelativeTimeFormat: ["localeMatcher", "numberingSystem", "style", "numeric"],
  ListFormat: ["localeMatcher", "type", "style"],
  Segmenter: ["localeMatcher", "granularity"],
  DisplayNames: ["localeMatcher", "style", "type", "fallback", "languageDisplay"],
  Locale: [
    "language",
    "script",
    "region",
    "calendar",
    "collation",
    "hourCycle",
    "caseFirst",
    "numeric",
    "numberingSystem",
  ],
};
const DateGetTime = Date.prototype.getTime;
const NumberValueOf = Number.prototype.valueOf;
const BigIntValueOf = BigInt.prototype.valueOf;
const ReflectConstruct = Reflect.construct;

let localeTagOf; // Intl.Locale -> its tag, or undefined (set by the class)

// A value for the host's JSON (host/intl.ts revive): numbers that JSON cannot hold, bigints,
// undefined; an object becomes its string, as the options' ToString would make it.
function intlValue(v) {
  switch (typeof v) {
    case "number":
      return NumberIsFinite(v) ? v : { $n: String(v) };
    case "bigint":
      return { $big: String(v) };
    case "symbol":
      throw new TypeError("Cannot convert a Symbol value to a string");
    case "undefined":
      return { $u: 1 };
    case "object":
    case "function":
      return v === null ? null : toDOMString(v);
  }
  return v;
}

// CanonicalizeLocaleList's input, for Node to canonicalize (and to reject as it should).
function intlLocales(locales) {
  if (locales === undefined) return undefined;
  if (typeof locales === "string") return locales;
  if (!isObject(locales)) return intlValue(locales);
  const tag = localeTagOf(locales);
  if (tag !== undefined) return tag;
  const n = MathMin(MathMax(MathTrunc(Number(locales.length)) || 0, 0), 2 ** 32);
  const out = [];
  for (let k = 0; k < n; k++) {
    if (!(k in locales)) continue;
    const v = locales[k];
    const t = isObject(v) ? localeTagOf(v) : undefined;
    ArrayPrototypePush(out, t !== undefined ? t : isObject(v) ? toDOMString(v) : intlValue(v));
  }
  return out;
}

// The options Node reads for this type, read here once each (a primitive goes as it is: Node
// coerces or refuses it as the constructor says).
function intlOptions(names, options) {
  if (options === undefined) return undefined;
  if (!isObject(options)) return intlValue(options);
  const out = {};
  for (let i = 0; i < names.length; i++) {
    const v = options[names[i]];
    if (v !== undefined) out[names[i]] = intlValue(v);
  }
  return out;
}

function intlJSON(v) {
  return v === undefined ? "" : JSONstringify(v);
}

function intlKey(type, locales, options) {
  const l = intlLocales(locales);
  const o = intlOptions(INTL_OPTIONS[type], options);
  return (
    type + "\n" + JSONstringify([l === undefined ? { $u: 1 } : l, o === undefined ? { $u: 1 } : o])
  );
}

function supportedLocalesOf(type) {
  return function supportedLocalesOf(locales, options = undefined) {
    const l = intlJSON(intlLocales(locales));
    return JSONparse(host.intlStatic(type, l, intlJSON(intlOptions(["localeMatcher"], options))));
  };
}

function dateValue(d) {
  return intlValue(d === undefined ? DateNow() : Number(d));
}

// OrdinaryToPrimitive with hint number, for ToIntlMathematicalValue.
function toPrimitiveNumber(x) {
  const exotic = x[Symbol.toPrimitive];
  if (exotic !== undefined && exotic !== null) {
    const p = FunctionPrototypeCall(exotic, x, "number");
    if (isObject(p)) throw new TypeError("Cannot convert object to primitive value");
    return p;
  }
  for (const name of ["valueOf", "toString"]) {
    const f = x[name];
    if (isCallable(f)) {
      const p = FunctionPrototypeCall(f, x);
      if (!isObject(p)) return p;
    }
  }
  throw new TypeError("Cannot convert object to primitive value");
}

// ToIntlMathematicalValue: a bigint or a numeric string keeps its exact value.
function mathValue(x) {
  const p = isObject(x) ? toPrimitiveNumber(x) : x;
  if (typeof p === "bigint" || typeof p === "string") return intlValue(p);
  return intlValue(Number(p));
}

// An Intl object's state: its key and resolved options (JSON), its bound function once made.
function intlState(type, locales, options) {
  const key = intlKey(type, locales, options);
  return { key, resolved: host.intlNew(key), bound: undefined };
}

function intlCall(st, method, args) {
  return host.intlCall(st.key, method, JSONstringify(args));
}

function intlParts(st, method, args) {
  return JSONparse(intlCall(st, method, args));
}

function required(a, b, what) {
  if (a === undefined || b === undefined) throw new TypeError(`${what}: two arguments required`);
}

class DateTimeFormat {
  #s;
  constructor(locales = undefined, options = undefined) {
    this.#s = intlState("DateTimeFormat", locales, options);
  }
  get format() {
    const st = this.#s;
    return (st.bound ??= (date) => intlCall(st, "format", [dateValue(date)]));
  }
  formatToParts(date) {
    return intlParts(this.#s, "formatToParts", [dateValue(date)]);
  }
  formatRange(startDate, endDate) {
    required(startDate, endDate, "formatRange");
    return intlCall(this.#s, "formatRange", [dateValue(startDate), dateValue(endDate)]);
  }
  formatRangeToParts(startDate, endDate) {
    required(startDate, endDate, "formatRangeToParts");
    return intlParts(this.#s, "formatRangeToParts", [dateValue(startDate), dateValue(endDate)]);
  }
  resolvedOptions() {
    return JSONparse(this.#s.resolved);
  }
}

class NumberFormat {
  #s;
  constructor(locales = undefined, options = undefined) {
    this.#s = intlState("NumberFormat", locales, options);
  }
  get format() {
    const st = this.#s;
    return (st.bound ??= (value) => intlCall(st, "format", [mathValue(value)]));
  }
  formatToParts(value) {
    return intlParts(this.#s, "formatToParts", [mathValue(value)]);
  }
  formatRange(start, end) {
    required(start, end, "formatRange");
    return intlCall(this.#s, "formatRange", [mathValue(start), mathValue(end)]);
  }
  formatRangeToParts(start, end) {
    required(start, end, "formatRangeToParts");
    return intlParts(this.#s, "formatRangeToParts", [mathValue(start), mathValue(end)]);
  }
  resolvedOptions() {
    return JSONparse(this.#s.resolved);
  }
}

class Collator {
  #s;
  constructor(locales = undefined, options = undefined) {
    this.#s = intlState("Collator", locales, options);
  }
  get compare() {
    const st = this.#s;
    return (st.bound ??= (x, y) => host.intlCompare(st.key, toDOMString(x), toDOMString(y)));
  }
  resolvedOptions() {
    return JSONparse(this.#s.resolved);
  }
}

class PluralRules {
  #s;
  constructor(locales = undefined, options = undefined) {
    this.#s = intlState("PluralRules", locales, options);
  }
  select(n) {
    return intlCall(this.#s, "select", [intlValue(Number(n))]);
  }
  selectRange(start, end) {
    required(start, end, "selectRange");
    return intlCall(this.#s, "selectRange", [intlValue(Number(start)), intlValue(Number(end))]);
  }
  resolvedOptions() {
    return JSONparse(this.#s.resolved);
  }
}

class RelativeTimeFormat {
  #s;
  constructor(locales = undefined, options = undefined) {
    this.#s = intlState("RelativeTimeFormat", locales, options);
  }
  format(value, unit) {
    return intlCall(this.#s, "format", [intlValue(Number(value)), toDOMString(unit)]);
  }
  formatToParts(value, unit) {
    return intlParts(this.#s, "formatToParts", [intlValue(Number(value)), toDOMString(unit)]);
  }
  resolvedOptions() {
    return JSONparse(this.#s.resolved);
  }
}

function stringList(list) {
  if (list === undefined) return [];
  const out = [];
  for (const v of list) {
    if (typeof v !== "string") throw new TypeError("ListFormat: every element must be a string");
    ArrayPrototypePush(out, v);
  }
  return out;
}

class ListFormat {
  #s;
  constructor(locales = undefined, options = undefined) {
    this.#s = intlState("ListFormat", locales, options);
  }
  format(list) {
    return intlCall(this.#s, "format", [stringList(list)]);
  }
  formatToParts(list) {
    return intlParts(this.#s, "formatToParts", [stringList(list)]);
  }
  resolvedOptions() {
    return JSONparse(this.#s.resolved);
  }
}

class DisplayNames {
  #s;
  constructor(locales = undefined, options = undefined) {
    this.#s = intlState("DisplayNames", locales, options);
  }
  of(code) {
    const r = intlCall(this.#s, "of", [toDOMString(code)]);
    return r === "" ? undefined : JSONparse(r);
  }
  resolvedOptions() {
    return JSONparse(this.#s.resolved);
  }
}

// The segments of a string: V8's, on the host (a HostRef), read a page at a time.
function segmentObject(r, input) {
  const d = { segment: r[0], index: r[1], input };
  if (r.length > 2) d.isWordLike = r[2];
  return d;
}

class Segments {
  #ref;
  #input;
  constructor(key, input) {
    this.#ref = host.intlSegments("segments", key, input);
    this.#input = input;
  }
  containing(index = undefined) {
    const n = MathTrunc(Number(index)) || 0;
    if (n < 0 || n >= this.#input.length) return undefined;
    const r = host.intlSegments("containing", this.#ref, n);
    return r === "" ? undefined : segmentObject(JSONparse(r), this.#input);
  }
  [SymbolIterator]() {
    return new SegmentIterator(host.intlSegments("iterate", this.#ref), this.#input);
  }
}

class SegmentIterator {
  #ref;
  #input;
  #page = [];
  #at = 0;
  #done = false;
  constructor(ref, input) {
    this.#ref = ref;
    this.#input = input;
  }
  next() {
    if (this.#at >= this.#page.length && !this.#done) {
      this.#page = JSONparse(host.intlSegments("next", this.#ref));
      this.#at = 0;
      if (this.#page.length === 0) this.#done = true;
    }
    if (this.#at >= this.#page.length) return { value: undefined, done: true };
    return { value: segmentObject(this.#page[this.#at++], this.#input), done: false };
  }
  [SymbolIterator]() {
    return this;
  }
}
ObjectDefineProperty(SegmentIterator.prototype, SymbolToStringTag, {
  value: "Segmenter String Iterator",
  configurable: true,
});

class Segmenter {
  #s;
  constructor(locales = undefined, options = undefined) {
    this.#s = intlState("Segmenter", locales, options);
  }
  segment(string) {
    return new Segments(this.#s.key, toDOMString(string));
  }
  resolvedOptions() {
    return JSONparse(this.#s.resolved);
  }
}

let localeInfo;

class Locale {
  #d;
  constructor(tag, options = undefined) {
    if (tag === INTERNAL) {
      this.#d = options;
      return;
    }
    if (typeof tag !== "string" && !isObject(tag))
      throw new TypeError("Intl.Locale: the tag must be a string or an Intl.Locale");
    const t = localeTagOf(tag) ?? toDOMString(tag);
    const o = intlJSON(intlOptions(INTL_OPTIONS.Locale, options));
    this.#d = JSONparse(host.intlLocale(t, o, ""));
  }
  static {
    localeTagOf = (v) => (isObject(v) && #d in v ? v.#d.tag : undefined);
  }
  maximize() {
    return new Locale(INTERNAL, JSONparse(host.intlLocale(this.#d.tag, "", "maximize")));
  }
  minimize() {
    return new Locale(INTERNAL, JSONparse(host.intlLocale(this.#d.tag, "", "minimize")));
  }
  toString() {
    return this.#d.tag;
  }
  get baseName() {
    return this.#d.baseName;
  }
  get calendar() {
    return this.#d.calendar;
  }
  get caseFirst() {
    return this.#d.caseFirst;
  }
  get collation() {
    return this.#d.collation;
  }
  get hourCycle() {
    return this.#d.hourCycle;
  }
  get language() {
    return this.#d.language;
  }
  get numberingSystem() {
    return this.#d.numberingSystem;
  }
  get numeric() {
    return this.#d.numeric;
  }
  get region() {
    return this.#d.region;
  }
  get script() {
    return this.#d.script;
  }
  static {
    localeInfo = (l, name) => {
      const v = l.#d.info[name];
      return v === undefined ? undefined : JSONparse(JSONstringify(v));
    };
  }
}
{
  // Locale info: the getters Node 20 has, and the get* methods the proposal settled on.
  for (const name of [
    "calendars",
    "collations",
    "hourCycles",
    "numberingSystems",
    "textInfo",
    "timeZones",
    "weekInfo",
  ]) {
    const get = {
      [name]() {
        return localeInfo(this, name);
      },
    }[name];
    ObjectDefineProperty(Locale.prototype, name, { get, configurable: true });
    const method = "get" + name[0].toUpperCase() + name.slice(1);
    ObjectDefineProperty(Locale.prototype, method, {
      value: { [method]: get }[method],
      writable: true,
      configurable: true,
    });
  }
}

const Intl = {};
{
  const define = (o, name, value) =>
    ObjectDefineProperty(o, name, { value, writable: true, configurable: true });
  // DateTimeFormat, NumberFormat and Collator may be called without new (ECMA-402 legacy).
  const legacy = (Impl, name) => {
    const F = {
      [name]: function (locales, options) {
        return ReflectConstruct(Impl, [locales, options], new.target ?? F);
      },
    }[name];
    ObjectDefineProperty(F, "length", { value: 0, configurable: true });
    ObjectDefineProperty(F, "prototype", { value: Impl.prototype });
    define(Impl.prototype, "constructor", F);
    return F;
  };
  const types = {
    DateTimeFormat: legacy(DateTimeFormat, "DateTimeFormat"),
    NumberFormat: legacy(NumberFormat, "NumberFormat"),
    Collator: legacy(Collator, "Collator"),
    PluralRules,
    RelativeTimeFormat,
    ListFormat,
    Segmenter,
    DisplayNames,
  };
  for (const name of ObjectKeys(types)) {
    const C = types[name];
    define(C, "supportedLocalesOf", supportedLocalesOf(name));
    ObjectDefineProperty(C.prototype, SymbolToStringTag, {
      value: "Intl." + name,
      configurable: true,
    });
    define(Intl, name, C);
  }
  setToStringTag(Locale, "Intl.Locale");
  define(Intl, "Locale", Locale);
  define(Intl, "getCanonicalLocales", function getCanonicalLocales(locales) {
    return JSONparse(host.intlStatic("getCanonicalLocales", intlJSON(intlLocales(locales)), ""));
  });
  define(Intl, "supportedValuesOf", function supportedValuesOf(key) {
    return JSONparse(host.intlStatic("supportedValuesOf", toDOMString(key), ""));
  });
  ObjectDefineProperty(Intl, SymbolToStringTag, { value: "Intl", configurable: true });
  defineGlobal("Intl", Intl);
}

// The locale-sensitive methods of the built-ins, as ECMA-402 defines them.
{
  const method = (proto, name, fn) =>
    ObjectDefineProperty(proto, name, { value: fn, writable: true, configurable: true });
  const dateMethod = (name) =>
    function (locales = undefined, options = undefined) {
      const t = FunctionPrototypeCall(DateGetTime, this);
      if (NumberIsNaN(t)) return "Invalid Date";
      const l = intlJSON(intlLocales(locales));
      const o = intlJSON(intlOptions(INTL_DATE_OPTIONS, options));
      return host.intlBuiltin("Date." + name, t, l, o);
    };
  for (const name of ["toLocaleString", "toLocaleDateString", "toLocaleTimeString"]) {
    const fn = dateMethod(name);
    ObjectDefineProperty(fn, "name", { value: name, configurable: true });
    method(Date.prototype, name, fn);
  }
  method(
    Number.prototype,
    "toLocaleString",
    function toLocaleString(locales = undefined, options = undefined) {
      const x = FunctionPrototypeCall(NumberValueOf, this);
      const l = intlJSON(intlLocales(locales));
      const o = intlJSON(intlOptions(INTL_OPTIONS.NumberFormat, options));
      return host.intlBuiltin("Number.toLocaleString", x, l, o);
    },
  );
  method(
    BigInt.prototype,
    "toLocaleString",
    function toLocaleString(locales = undefined, options = undefined) {
      const x = FunctionPrototypeCall(BigIntValueOf, this);
      const l = intlJSON(intlLocales(locales));
      const o = intlJSON(intlOptions(INTL_OPTIONS.NumberFormat, options));
      return host.intlBuiltin("BigInt.toLocaleString", String(x), l, o);
    },
  );
  const thisString = (v, name) => {
    if (v === undefined || v === null)
      throw new TypeError(`String.prototype.${name} called on ${v}`);
    return toDOMString(v);
  };
  method(
    String.prototype,
    "localeCompare",
    function localeCompare(that, locales = undefined, options = undefined) {
      const s = thisString(this, "localeCompare");
      const t = toDOMString(that);
      const l = intlJSON(intlLocales(locales));
      const o = intlJSON(intlOptions(INTL_OPTIONS.Collator, options));
      return host.intlBuiltin("String.localeCompare", s, l, o, t);
    },
  );
  for (const name of ["toLocaleUpperCase", "toLocaleLowerCase"]) {
    const fn = {
      [name](locales = undefined) {
        const s = thisString(this, name);
        return host.intlBuiltin("String." + name, s, intlJSON(intlLocales(locales)), "");
      },
    }[name];
    method(String.prototype, name, fn);
  }
  // Array and typed arrays: each element's own toLocaleString(locales, options), joined by ",".
  const seen = new SafeSet();
  const listToLocaleString = (o, locales, options) => {
    if (seen.has(o)) return "";
    seen.add(o);
    try {
      const n = MathMin(MathMax(MathTrunc(Number(o.length)) || 0, 0), 2 ** 53 - 1);
      let r = "";
      for (let k = 0; k < n; k++) {
        if (k > 0) r += ",";
        const v = o[k];
        if (v !== undefined && v !== null) r += toDOMString(v.toLocaleString(locales, options));
      }
      return r;
    } finally {
      seen.delete(o);
    }
  };
  method(
    Array.prototype,
    "toLocaleString",
    function toLocaleString(locales = undefined, options = undefined) {
      if (this === undefined || this === null)
        throw new TypeError("Array.prototype.toLocaleString called on " + this);
      return listToLocaleString(Object(this), locales, options);
    },
  );
  const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype);
  method(
    TypedArrayPrototype,
    "toLocaleString",
    function toLocaleString(locales = undefined, options = undefined) {
      if (typedTag(this) === undefined) throw new TypeError("not a typed array");
      return listToLocaleString(this, locales, options);
    },
  );
}
