/**
 * Intl by Node's ICU. The guest's Intl objects (prelude 75-intl.js) hold only a key: the type,
 * locales and options they were built from, as JSON. The host builds the real Intl object on
 * first use and keeps it in a per-sandbox cache of bounded size; an evicted one is rebuilt from
 * its key. So nothing here needs freeing when the guest drops an object, and a site that builds
 * formatters in a loop costs the cache's bound at most.
 *
 * Locale-sensitive methods of the built-ins (Date, Number, BigInt, String) call Node's own, so
 * their defaults (ToDateTimeOptions and the like) are V8's by construction.
 */
import type { QuickJSHandle } from "quickjs-emscripten";
import type { HostFunctions, HostIO } from "./io.js";
import type { HostRefs } from "./refs.js";

const CACHE_SIZE = 256;
const SEGMENTS = "segments";
const SEGMENT_ITERATOR = "segment iterator";
const SEGMENT_PAGE = 256;

type Ctor = new (locales?: string[], options?: object) => object;
const TYPES: Record<string, Ctor> = {
  DateTimeFormat: Intl.DateTimeFormat,
  NumberFormat: Intl.NumberFormat,
  Collator: Intl.Collator,
  PluralRules: Intl.PluralRules,
  RelativeTimeFormat: Intl.RelativeTimeFormat,
  ListFormat: (Intl as unknown as Record<string, Ctor>).ListFormat!,
  Segmenter: (Intl as unknown as Record<string, Ctor>).Segmenter!,
  DisplayNames: Intl.DisplayNames as unknown as Ctor,
};

/** Methods the guest may call on each type, and how their result crosses. */
const METHODS: Record<string, Record<string, "string" | "json" | "number">> = {
  DateTimeFormat: {
    format: "string",
    formatToParts: "json",
    formatRange: "string",
    formatRangeToParts: "json",
  },
  NumberFormat: {
    format: "string",
    formatToParts: "json",
    formatRange: "string",
    formatRangeToParts: "json",
  },
  Collator: { compare: "number" },
  PluralRules: { select: "string", selectRange: "string" },
  RelativeTimeFormat: { format: "string", formatToParts: "json" },
  ListFormat: { format: "string", formatToParts: "json" },
  DisplayNames: { of: "json" },
};

const LOCALE_INFO = [
  "calendars",
  "collations",
  "hourCycles",
  "numberingSystems",
  "textInfo",
  "timeZones",
  "weekInfo",
];

/** Parsed from JSON the guest made: `undefined` travels as a missing member or {"$u":1}. */
function revive(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(revive);
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o.$u === 1) return undefined;
    if (typeof o.$n === "string") return Number(o.$n);
    if (typeof o.$big === "string") return BigInt(o.$big);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = revive(x);
    return out;
  }
  return v;
}

function parse(io: HostIO, h: QuickJSHandle | undefined): unknown {
  const text = io.str(h);
  return text === "" ? undefined : revive(JSON.parse(text));
}

function localeInfo(l: Intl.Locale): Record<string, unknown> {
  const rec = l as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const name of LOCALE_INFO) {
    const getter = "get" + name[0]!.toUpperCase() + name.slice(1);
    const v =
      typeof rec[getter] === "function" ? (rec[getter] as () => unknown).call(l) : rec[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

function describeLocale(l: Intl.Locale): string {
  return JSON.stringify({
    tag: l.toString(),
    baseName: l.baseName,
    calendar: l.calendar,
    caseFirst: l.caseFirst,
    collation: l.collation,
    hourCycle: l.hourCycle,
    language: l.language,
    numberingSystem: l.numberingSystem,
    numeric: l.numeric,
    region: l.region,
    script: l.script,
    info: localeInfo(l),
  });
}

function segmentData(d: Intl.SegmentData): unknown[] {
  return d.isWordLike === undefined ? [d.segment, d.index] : [d.segment, d.index, d.isWordLike];
}

export function intlFunctions(io: HostIO, refs: HostRefs): HostFunctions {
  const { ctx, str } = io;
  const cache = new Map<string, object>();
  const resolved = new WeakMap<object, string>();
  const build = (key: string): { type: string; obj: object } => {
    const nl = key.indexOf("\n");
    const type = key.slice(0, nl);
    const C = TYPES[type];
    if (C === undefined) throw new TypeError(`unknown Intl type ${type}`);
    const [locales, options] = revive(JSON.parse(key.slice(nl + 1))) as [string[], object];
    return { type, obj: new C(locales, options) };
  };
  const lookup = (key: string): { type: string; obj: object } => {
    const hit = cache.get(key);
    if (hit !== undefined) {
      cache.delete(key);
      cache.set(key, hit); // most recently used last
      return { type: key.slice(0, key.indexOf("\n")), obj: hit };
    }
    const made = build(key);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(key, made.obj);
    return made;
  };
  const result = (kind: "string" | "json" | "number", v: unknown): QuickJSHandle => {
    if (kind === "number") return ctx.newNumber(v as number);
    if (kind === "string") return io.string(v as string);
    return io.string(v === undefined ? "" : JSON.stringify(v));
  };

  return {
    /** key: type "\n" JSON [locales, options]. Returns JSON of resolvedOptions(). */
    intlNew: (key) => {
      const { obj } = lookup(str(key));
      let r = resolved.get(obj);
      if (r === undefined) {
        r = JSON.stringify((obj as { resolvedOptions(): object }).resolvedOptions());
        resolved.set(obj, r);
      }
      return io.string(r);
    },
    /** A method of the object for `key`; arguments as JSON (numbers, strings, bigints, lists). */
    intlCall: (key, method, args) => {
      const { type, obj } = lookup(str(key));
      const m = str(method);
      const kind = METHODS[type]?.[m];
      if (kind === undefined) throw new TypeError(`Intl.${type} has no method ${m}`);
      const list = parse(io, args) as unknown[];
      const fn = (obj as Record<string, (...a: unknown[]) => unknown>)[m]!;
      return result(kind, fn.apply(obj, list));
    },
    /**
     * Segmenting: "segments" makes the V8 Segments of a string (a HostRef), "containing" gives
     * the segment at an index, "iterate" starts an iteration (a HostRef) and "next" gives its
     * next segments, at most SEGMENT_PAGE at a time: what crosses stays proportional to a page,
     * never to the whole string. A segment is JSON [segment, index, isWordLike?] ("" for none).
     */
    intlSegments: (op, a, b) => {
      switch (str(op)) {
        case "segments": {
          const { type, obj } = lookup(str(a));
          if (type !== "Segmenter") throw new TypeError("not a Segmenter");
          return refs.make(SEGMENTS, (obj as Intl.Segmenter).segment(str(b)));
        }
        case "containing": {
          const segs = refs.get<Intl.Segments>(a, SEGMENTS);
          if (segs === undefined) throw new TypeError("not Segments");
          const d = segs.containing(io.num(b));
          return io.string(d === undefined ? "" : JSON.stringify(segmentData(d)));
        }
        case "iterate": {
          const segs = refs.get<Intl.Segments>(a, SEGMENTS);
          if (segs === undefined) throw new TypeError("not Segments");
          return refs.make(SEGMENT_ITERATOR, segs[Symbol.iterator]());
        }
        case "next": {
          const it = refs.get<Iterator<Intl.SegmentData>>(a, SEGMENT_ITERATOR);
          if (it === undefined) throw new TypeError("not a segment iterator");
          const page: unknown[] = [];
          for (let r = it.next(); !r.done; r = it.next()) {
            page.push(segmentData(r.value));
            if (page.length >= SEGMENT_PAGE) break;
          }
          return io.string(JSON.stringify(page));
        }
      }
      throw new TypeError("unknown segmenting operation");
    },
    /** Intl.Locale(tag, options): JSON of its parts; op "maximize" / "minimize" first if given. */
    intlLocale: (tag, options, op) => {
      let l = new Intl.Locale(str(tag), parse(io, options) as Intl.LocaleOptions | undefined);
      const o = str(op);
      if (o === "maximize") l = l.maximize();
      else if (o === "minimize") l = l.minimize();
      return io.string(describeLocale(l));
    },
    /** getCanonicalLocales, supportedValuesOf, and each type's supportedLocalesOf. */
    intlStatic: (name, a, b) => {
      const n = str(name);
      if (n === "getCanonicalLocales")
        return io.string(JSON.stringify(Intl.getCanonicalLocales(parse(io, a) as string[])));
      if (n === "supportedValuesOf")
        return io.string(JSON.stringify(Intl.supportedValuesOf(str(a) as "calendar")));
      const C = TYPES[n] as unknown as
        { supportedLocalesOf(l: unknown, o: unknown): string[] } | undefined;
      if (C === undefined) throw new TypeError(`unknown Intl function ${n}`);
      return io.string(JSON.stringify(C.supportedLocalesOf(parse(io, a), parse(io, b))));
    },
    /** Collator compare, the hot one (a sort comparator): the strings as they are. */
    intlCompare: (key, a, b) => {
      const { type, obj } = lookup(str(key));
      if (type !== "Collator") throw new TypeError("not a Collator");
      return ctx.newNumber((obj as Intl.Collator).compare(str(a), str(b)));
    },
    /**
     * Date, Number, BigInt and String locale methods as V8 does them: `self` is the time value,
     * the number, the bigint's digits or the string; locales and options as JSON ("" for none).
     */
    intlBuiltin: (name, self, locales, options, that) => {
      const l = parse(io, locales) as string[] | undefined;
      const o = parse(io, options) as object | undefined;
      switch (str(name)) {
        case "Date.toLocaleString":
          return io.string(new Date(io.num(self)).toLocaleString(l, o));
        case "Date.toLocaleDateString":
          return io.string(new Date(io.num(self)).toLocaleDateString(l, o));
        case "Date.toLocaleTimeString":
          return io.string(new Date(io.num(self)).toLocaleTimeString(l, o));
        case "Number.toLocaleString":
          return io.string(io.num(self).toLocaleString(l, o));
        case "BigInt.toLocaleString":
          return io.string(BigInt(str(self)).toLocaleString(l, o as BigIntToLocaleStringOptions));
        case "String.localeCompare":
          return ctx.newNumber(str(self).localeCompare(str(that), l, o));
        case "String.toLocaleUpperCase":
          return io.string(str(self).toLocaleUpperCase(l));
        case "String.toLocaleLowerCase":
          return io.string(str(self).toLocaleLowerCase(l));
      }
      throw new TypeError("unknown locale method");
    },
  };
}
