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

const CACHE_SIZE = 256;

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

export function intlFunctions(io: HostIO): HostFunctions {
  const { ctx, str } = io;
  const cache = new Map<string, object>();
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
      return io.string(JSON.stringify((obj as { resolvedOptions(): object }).resolvedOptions()));
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
    /** Every segment of a string at once: JSON [[segment, index, isWordLike?], ...]. */
    intlSegment: (key, text) => {
      const { obj } = lookup(str(key));
      const out: unknown[] = [];
      for (const s of (obj as { segment(t: string): Iterable<Record<string, unknown>> }).segment(
        str(text),
      ))
        out.push(
          s.isWordLike === undefined ? [s.segment, s.index] : [s.segment, s.index, s.isWordLike],
        );
      return io.string(JSON.stringify(out));
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
