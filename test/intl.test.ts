/**
 * Intl and the locale-sensitive built-ins inside the sandbox, against Node (V8 and ICU) in this
 * process: each case is one expression, evaluated on both sides, and the JSON of its value (or
 * the name of the error it throws) must be equal. Cases follow ECMA-402's edge cases.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, startServer, type RunningServer } from "./helpers.js";

const T = "Date.UTC(2024, 2, 10, 6, 59, 59, 123)"; // 1:59:59 EST, a minute before DST starts in New York
const CASES: Record<string, string[]> = {
  DateTimeFormat: [
    `new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", dateStyle: "full", timeStyle: "full" }).format(${T})`,
    `new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", hour: "numeric", minute: "numeric" }).format(${T} + 60000)`,
    `new Intl.DateTimeFormat("en-US", { timeZone: "Asia/Kathmandu", timeZoneName: "longOffset" }).format(${T})`,
    `new Intl.DateTimeFormat("de", { timeZone: "Europe/Berlin", timeZoneName: "shortGeneric" }).formatToParts(${T})`,
    `new Intl.DateTimeFormat("en", { timeZone: "UTC", hour: "numeric", hourCycle: "h23", fractionalSecondDigits: 3, second: "numeric" }).formatToParts(${T})`,
    `new Intl.DateTimeFormat("en", { timeZone: "UTC", hour: "numeric", dayPeriod: "long" }).format(${T})`,
    `new Intl.DateTimeFormat("ja-JP-u-ca-japanese", { timeZone: "UTC", era: "long", year: "numeric" }).format(${T})`,
    `new Intl.DateTimeFormat("ar-EG", { timeZone: "UTC", dateStyle: "medium" }).format(${T})`,
    `new Intl.DateTimeFormat("en", { calendar: "islamic", timeZone: "UTC", dateStyle: "long" }).format(${T})`,
    `new Intl.DateTimeFormat("en", { timeZone: "UTC", dateStyle: "medium" }).formatRange(${T}, ${T} + 86400000 * 40)`,
    `new Intl.DateTimeFormat("en", { timeZone: "UTC", hour: "numeric", minute: "numeric" }).formatRangeToParts(${T}, ${T} + 3600000)`,
    `new Intl.DateTimeFormat("en-GB", { timeZone: "Australia/Lord_Howe", timeZoneName: "long" }).resolvedOptions()`,
    `new Intl.DateTimeFormat("en", { timeZone: "asia/TOKYO" }).resolvedOptions().timeZone`,
    `new Intl.DateTimeFormat("en-u-hc-h11-nu-thai", { hour: "numeric" }).resolvedOptions()`,
    `new Intl.DateTimeFormat(["xx-YY", "fr-CA"]).resolvedOptions().locale`,
    `new Intl.DateTimeFormat().format(new Date(${T}))`,
    `new Intl.DateTimeFormat("en", { timeZone: "UTC" }).format(new Date(8.64e15))`,
    `new Intl.DateTimeFormat("en", { timeZone: "Nowhere/City" })`,
    `new Intl.DateTimeFormat("en", { dateStyle: "full", year: "numeric" })`,
    `new Intl.DateTimeFormat("en", { timeZone: "UTC" }).format(NaN)`,
    `new Intl.DateTimeFormat("en", null)`,
    `new Intl.DateTimeFormat(null)`,
    `new Intl.DateTimeFormat([5])`,
    `new Intl.DateTimeFormat("not a tag")`,
    `Intl.DateTimeFormat("de") instanceof Intl.DateTimeFormat`,
    `(() => { const f = new Intl.DateTimeFormat(); return [f.format === f.format, f.format.length, f.format.name, typeof f.format]; })()`,
    `(() => { const f = new Intl.DateTimeFormat(); return f.resolvedOptions() !== f.resolvedOptions(); })()`,
    `Intl.DateTimeFormat.prototype.formatToParts.call({}, 0)`,
    `Object.prototype.toString.call(new Intl.DateTimeFormat())`,
    `Intl.DateTimeFormat.supportedLocalesOf(["en-US", "xx", "de-AT"])`,
    `Intl.DateTimeFormat.length`,
    `new Intl.DateTimeFormat("en", { timeZone: "UTC" }).formatRange(${T})`,
  ],
  NumberFormat: [
    `new Intl.NumberFormat("de-DE", { style: "currency", currency: "EUR" }).format(1234567.891)`,
    `new Intl.NumberFormat("ja-JP", { style: "currency", currency: "JPY", currencyDisplay: "name" }).format(5)`,
    `new Intl.NumberFormat("en", { style: "currency", currency: "USD", currencySign: "accounting" }).format(-3.5)`,
    `new Intl.NumberFormat("en", { style: "unit", unit: "kilometer-per-hour", unitDisplay: "long" }).format(50)`,
    `new Intl.NumberFormat("en", { notation: "compact", compactDisplay: "long" }).format(1234567)`,
    `new Intl.NumberFormat("en", { notation: "scientific" }).formatToParts(-0.000123)`,
    `new Intl.NumberFormat("en", { notation: "engineering", maximumSignificantDigits: 3 }).format(123456)`,
    `new Intl.NumberFormat("en", { signDisplay: "exceptZero" }).format(-0)`,
    `new Intl.NumberFormat("en", { signDisplay: "negative" }).format(-0)`,
    `new Intl.NumberFormat("en", { maximumFractionDigits: 0, roundingMode: "halfEven" }).format(2.5)`,
    `new Intl.NumberFormat("en", { maximumFractionDigits: 2, roundingIncrement: 5 }).format(1.234)`,
    `new Intl.NumberFormat("en", { minimumFractionDigits: 2, trailingZeroDisplay: "stripIfInteger" }).format(3)`,
    `new Intl.NumberFormat("en", { useGrouping: "min2" }).format(1234)`,
    `new Intl.NumberFormat("en-IN").format(12345678901234567890n)`,
    `new Intl.NumberFormat("en").format("1234567890123456789.123456789")`,
    `new Intl.NumberFormat("en").format("  0x1F  ")`,
    `new Intl.NumberFormat("en").format({ valueOf() { return 42n; } })`,
    `new Intl.NumberFormat("en").format(Infinity) + new Intl.NumberFormat("en").format(NaN)`,
    `new Intl.NumberFormat("ar-EG").format(1234.5)`,
    `new Intl.NumberFormat("en-u-nu-hanidec").format(2024)`,
    `new Intl.NumberFormat("en", { style: "currency", currency: "EUR" }).formatRange(3, 5)`,
    `new Intl.NumberFormat("en").formatRangeToParts(1, 1)`,
    `new Intl.NumberFormat("de", { style: "percent", maximumFractionDigits: 1 }).resolvedOptions()`,
    `new Intl.NumberFormat("en", { style: "currency" })`,
    `new Intl.NumberFormat("en", { style: "currency", currency: "EURO" })`,
    `new Intl.NumberFormat("en", { maximumFractionDigits: 101 })`,
    `new Intl.NumberFormat("en", { minimumFractionDigits: 3, maximumFractionDigits: 1 })`,
    `new Intl.NumberFormat("en").format(Symbol())`,
    `Intl.NumberFormat().format(1e21)`,
    `(() => { const f = new Intl.NumberFormat(); return [f.format === f.format, f.format.length]; })()`,
  ],
  Collator: [
    `["z", "a", "Z", "ä", "A", "a10", "a9"].sort(new Intl.Collator("de").compare)`,
    `["z", "a", "Z", "ä", "A"].sort(new Intl.Collator("sv").compare)`,
    `["a10", "a9", "a1"].sort(new Intl.Collator("en", { numeric: true }).compare)`,
    `["b", "B", "a", "A"].sort(new Intl.Collator("en", { caseFirst: "upper" }).compare)`,
    `[["a", "á"], ["a", "A"], ["a", "b"]].map(([x, y]) => new Intl.Collator("en", { sensitivity: "base" }).compare(x, y))`,
    `[["a", "á"], ["a", "A"]].map(([x, y]) => new Intl.Collator("en", { sensitivity: "accent" }).compare(x, y))`,
    `new Intl.Collator("en", { ignorePunctuation: true }).compare("a-b", "ab")`,
    `new Intl.Collator("de-u-co-phonebk").resolvedOptions()`,
    `new Intl.Collator("en", { usage: "search", sensitivity: "base" }).resolvedOptions()`,
    `new Intl.Collator().compare("a\\0b", "a\\0c")`,
    `new Intl.Collator().compare()`,
    `new Intl.Collator("en", { sensitivity: "bogus" })`,
  ],
  Other: [
    `[0, 1, 2, 3, 5, 11, 100].map((n) => new Intl.PluralRules("ar").select(n))`,
    `[1, 2, 3, 4, 11, 21, 22].map((n) => new Intl.PluralRules("en", { type: "ordinal" }).select(n))`,
    `new Intl.PluralRules("en", { minimumFractionDigits: 1 }).select(1)`,
    `new Intl.PluralRules("en").selectRange(1, 5)`,
    `new Intl.PluralRules("ru").resolvedOptions()`,
    `Intl.PluralRules("en")`,
    `[-1, 0, 1, 2].map((n) => new Intl.RelativeTimeFormat("en", { numeric: "auto" }).format(n, "day"))`,
    `new Intl.RelativeTimeFormat("es", { style: "narrow" }).format(-3, "months")`,
    `new Intl.RelativeTimeFormat("en").formatToParts(100, "second")`,
    `new Intl.RelativeTimeFormat("en").format(1, "fortnight")`,
    `new Intl.ListFormat("en", { style: "long", type: "conjunction" }).format(["a", "b", "c"])`,
    `new Intl.ListFormat("de", { type: "disjunction" }).format(new Set(["x", "y"]))`,
    `new Intl.ListFormat("en", { type: "unit", style: "narrow" }).formatToParts(["5 lb", "12 oz"])`,
    `new Intl.ListFormat("en").format(["a", 5])`,
    `new Intl.ListFormat("en", "long")`,
    `[...new Intl.Segmenter("en", { granularity: "grapheme" }).segment("e\\u0301👨‍👩‍👧🇫🇷")].map((s) => [s.segment, s.index])`,
    `[...new Intl.Segmenter("en", { granularity: "word" }).segment("Hello, world! 42")].map((s) => [s.segment, s.index, s.isWordLike])`,
    `[...new Intl.Segmenter("ja", { granularity: "word" }).segment("今日は良い天気")].map((s) => s.segment)`,
    `[...new Intl.Segmenter("en", { granularity: "sentence" }).segment("Hi. Mr. Smith is here! OK?")].map((s) => s.segment)`,
    `(() => { const s = new Intl.Segmenter("en", { granularity: "word" }).segment("ab cd"); return [s.containing(0), s.containing(3), s.containing(5), s.containing(-1), s.containing(2)]; })()`,
    `(() => { const s = new Intl.Segmenter("en", { granularity: "word" }).segment("ab ".repeat(400)); const it = s[Symbol.iterator](); it.next(); return [[...s].length, [...s].at(-1), s.containing(1000), it.next().value.index, Object.prototype.toString.call(it)]; })()`,
    `new Intl.Segmenter().resolvedOptions()`,
    `new Intl.Segmenter("en", { granularity: "line" })`,
    `["de", "en-GB", "zh-Hant", "xx"].map((c) => new Intl.DisplayNames(["en"], { type: "language" }).of(c))`,
    `new Intl.DisplayNames("fr", { type: "region" }).of("US")`,
    `new Intl.DisplayNames("en", { type: "currency" }).of("JPY")`,
    `new Intl.DisplayNames("en", { type: "script" }).of("Cyrl")`,
    `new Intl.DisplayNames("en", { type: "calendar" }).of("gregory")`,
    `new Intl.DisplayNames("en", { type: "dateTimeField" }).of("weekday")`,
    `new Intl.DisplayNames("en", { type: "region", fallback: "none" }).of("ZZ")`,
    `new Intl.DisplayNames("en", { type: "language", languageDisplay: "standard" }).of("en-GB")`,
    `new Intl.DisplayNames("en")`,
    `new Intl.DisplayNames("en", { type: "region" }).of("not-a-region")`,
    `(() => { const l = new Intl.Locale("en-Latn-US-u-ca-gregory-hc-h12", { numeric: true, caseFirst: "upper" }); return [l.toString(), l.baseName, l.calendar, l.hourCycle, l.numeric, l.caseFirst, l.language, l.script, l.region, l.collation, l.numberingSystem]; })()`,
    `[new Intl.Locale("zh").maximize().toString(), new Intl.Locale("zh-Hans-CN").minimize().toString(), new Intl.Locale("und").maximize().toString()]`,
    `new Intl.Locale("en", { region: "GB", script: "Latn", calendar: "buddhist" }).toString()`,
    `new Intl.Locale(new Intl.Locale("de-AT")).region`,
    `[new Intl.Locale("ar-EG").textInfo, new Intl.Locale("en-US").weekInfo, new Intl.Locale("ja-JP").calendars, new Intl.Locale("en-US").hourCycles]`,
    `new Intl.Locale("en-US").timeZones.includes("America/Chicago")`,
    `new Intl.Locale("en_US")`,
    `new Intl.Locale()`,
    `new Intl.Locale(5)`,
    `Intl.Locale("en")`,
    `Intl.getCanonicalLocales(["EN-us", "en-US", "zh-hant-tw", new Intl.Locale("de-de")])`,
    `Intl.getCanonicalLocales("x-private")`,
    `Intl.getCanonicalLocales(["en", "notatag!"])`,
    `Intl.getCanonicalLocales([1])`,
    `Intl.getCanonicalLocales(null)`,
    `Intl.getCanonicalLocales()`,
    `["calendar", "collation", "currency", "numberingSystem", "timeZone", "unit"].map((k) => Intl.supportedValuesOf(k).length)`,
    `Intl.supportedValuesOf("timeZone").slice(0, 5)`,
    `Intl.supportedValuesOf("nope")`,
    `[Object.prototype.toString.call(Intl), Object.keys(Intl), Object.getOwnPropertyNames(Intl).sort()]`,
  ],
  Builtins: [
    `(1234.5).toLocaleString("de-DE")`,
    `(1234.5).toLocaleString()`,
    `(0.256).toLocaleString("en", { style: "percent" })`,
    `(12345678901234567890n).toLocaleString("de")`,
    `(5n).toLocaleString("en", { style: "currency", currency: "USD" })`,
    `new Date(${T}).toLocaleString("en-US", { timeZone: "America/Los_Angeles" })`,
    `new Date(${T}).toLocaleString()`,
    `new Date(${T}).toLocaleDateString("en-GB", { timeZone: "UTC" })`,
    `new Date(${T}).toLocaleDateString("en", { timeZone: "UTC", hour: "numeric" })`,
    `new Date(${T}).toLocaleTimeString("ko-KR", { timeZone: "Asia/Seoul" })`,
    `new Date(${T}).toLocaleTimeString("en", { timeZone: "UTC", year: "numeric" })`,
    `new Date(${T}).toLocaleDateString("en", { timeStyle: "short" })`,
    `new Date(NaN).toLocaleString()`,
    `Date.prototype.toLocaleString.call({})`,
    `Number.prototype.toLocaleString.call("5")`,
    `["ä".localeCompare("z", "de"), "ä".localeCompare("z", "sv"), "a".localeCompare("B"), "a".localeCompare("A", "en", { sensitivity: "base" })]`,
    `["résumé", "resume", "Resume", "résume"].sort((a, b) => a.localeCompare(b, "fr"))`,
    `["item10", "item2"].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))`,
    `String.prototype.localeCompare.call(null, "a")`,
    `["i".toLocaleUpperCase("tr"), "I".toLocaleLowerCase("tr"), "i\\u0307".toLocaleUpperCase("lt"), "ǅ".toLocaleLowerCase(), "ß".toLocaleUpperCase("de")]`,
    `"a".toLocaleUpperCase("not a tag")`,
    `[1234.5, new Date(${T}), null, undefined, 7n, "s"].toLocaleString("de", { timeZone: "UTC" })`,
    `(() => { const a = [1, 2]; a.push(a); return a.toLocaleString(); })()`,
    `new Float64Array([1234.5, -0.5]).toLocaleString("de")`,
    `[String.prototype.localeCompare.length, Number.prototype.toLocaleString.length, Date.prototype.toLocaleString.length, String.prototype.toLocaleUpperCase.length]`,
    `[Date.prototype.toLocaleDateString.name, String.prototype.localeCompare.name, Array.prototype.toLocaleString.name]`,
  ],
};

const ALL = Object.values(CASES).flat();
const SITE = String.raw`
const CASES = __CASES__;
const run = (expr) => {
  try { return JSON.stringify({ value: (0, eval)("(" + expr + ")") }) ?? "undefined"; }
  catch (e) { return JSON.stringify({ error: e && e.name }); }
};
export default { fetch() { return Response.json(CASES.map(run)); } };
`;

function inNode(expr: string): string {
  try {
    return JSON.stringify({ value: (0, eval)("(" + expr + ")") }) ?? "undefined";
  } catch (e) {
    return JSON.stringify({ error: (e as Error).name });
  }
}

let server: RunningServer;
let results: string[];

beforeAll(async () => {
  server = await startServer({
    workers: 1,
    sites: { default: { "intl.js": SITE.replace("__CASES__", JSON.stringify(ALL)) } },
  });
  const r = await request(server.url, "/intl");
  expect(r.status, r.text).toBe(200);
  results = JSON.parse(r.text);
});
afterAll(() => server?.close());

describe("Intl inside the sandbox gives what Node gives", () => {
  for (const [group, cases] of Object.entries(CASES)) {
    it(group, () => {
      for (const expr of cases) expect(results[ALL.indexOf(expr)], expr).toBe(inNode(expr));
    });
  }

  it("the default locale and time zone are the host's", () => {
    const i = ALL.indexOf(`new Intl.DateTimeFormat().format(new Date(${T}))`);
    expect(results[i]).toBe(inNode(ALL[i]!));
  });
});
