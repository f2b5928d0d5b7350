/**
 * site.json → SiteSettings (pure). The limits use the CLI's words (`timeout`, `memory`, ...) so a
 * site owner and an operator speak one language; each message names the file and the key. The
 * operator's flags are ceilings: a site may lower a limit, and raise one only where the operator
 * said so (--site-limits-raise), since a site's own file must not widen what it may cost others.
 */
import { SiteboxError } from "./errors.js";
import type { Config } from "./config.js";

export interface SiteLimits {
  readonly timeoutMs: number;
  readonly wallTimeoutMs: number;
  readonly memoryMb: number;
  readonly maxBodyBytes: number;
}

export interface SiteSettings {
  /** Single entry module (Workers style): every request of the site goes to it. */
  readonly main: string | null;
  /** Handed to handlers as `env`. */
  readonly vars: Readonly<Record<string, unknown>>;
  readonly limits: SiteLimits;
}

/** site.json key → field, smallest value, largest value with --site-limits-raise. */
const LIMIT_KEYS: Record<string, [keyof SiteLimits, number, number]> = {
  timeout: ["timeoutMs", 1, 600_000],
  "wall-timeout": ["wallTimeoutMs", 1, 3_600_000],
  memory: ["memoryMb", 16, 2048],
  "max-body": ["maxBodyBytes", 0, 2 ** 31],
};

export function defaultLimits(config: Config): SiteLimits {
  return {
    timeoutMs: config.timeoutMs,
    wallTimeoutMs: config.wallTimeoutMs,
    memoryMb: config.memoryMb,
    maxBodyBytes: config.maxBodyBytes,
  };
}

/**
 * Parses site.json text (or null when the site has none). Throws ERR_CONFIG naming `label`.
 * `base` holds the operator's limits, which a site may exceed only when `mayRaise`.
 */
export function parseSiteJson(
  text: string | null,
  label: string,
  base: SiteLimits,
  mayRaise = false,
): SiteSettings {
  if (text === null) return { main: null, vars: {}, limits: base };
  const fail = (what: string) => new SiteboxError("ERR_CONFIG", `${label}: ${what}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw fail(`not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw fail("must be a JSON object");
  const obj = json as Record<string, unknown>;
  for (const key of Object.keys(obj))
    if (key !== "main" && key !== "vars" && key !== "limits")
      throw fail(`unknown key "${key}" (expected main, vars, limits)`);
  let main: string | null = null;
  if (obj.main !== undefined) {
    if (
      typeof obj.main !== "string" ||
      !/^[^/\\].*\.m?js$/.test(obj.main) ||
      obj.main.includes("..")
    )
      throw fail(`"main" must be a relative path to a .js or .mjs file inside the site`);
    main = obj.main.replace(/^\.\//, "");
  }
  const vars = obj.vars ?? {};
  if (typeof vars !== "object" || vars === null || Array.isArray(vars))
    throw fail(`"vars" must be an object`);
  const limits: Record<string, number> = { ...base };
  const rawLimits = obj.limits ?? {};
  if (typeof rawLimits !== "object" || rawLimits === null || Array.isArray(rawLimits))
    throw fail(`"limits" must be an object`);
  for (const [key, value] of Object.entries(rawLimits)) {
    const spec = LIMIT_KEYS[key];
    if (!spec)
      throw fail(`unknown limit "${key}" (expected ${Object.keys(LIMIT_KEYS).join(", ")})`);
    const [field, min, max] = spec;
    if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max)
      throw fail(`limits.${key} must be a whole number from ${min} to ${max}`);
    if (!mayRaise && (value as number) > base[field])
      throw fail(
        `limits.${key} ${value} is above the server's --${key} ${base[field]}: a site may only ` +
          `lower its limits (the operator can allow more with --site-limits-raise)`,
      );
    limits[field] = value as number;
  }
  return Object.freeze({
    main,
    vars: Object.freeze(vars as Record<string, unknown>),
    limits: Object.freeze(limits as unknown as SiteLimits),
  });
}
