/**
 * Server options: defaults in one constant, parsed from argv once, validated, frozen. Every error
 * message names the flag as the user typed it and says what would be accepted.
 */
import { availableParallelism } from "node:os";
import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { SiteboxError } from "./errors.js";
import { parseFastCgiAddress, type FastCgiAddress } from "./fastcgi/address.js";
import { parseTrustList } from "./trust-proxy.js";

export const CACHE_POLICIES = ["watch", "stat", "forever", "none", "legacy"] as const;
export type CachePolicyName = (typeof CACHE_POLICIES)[number];

export interface Config {
  readonly sitesDir: string;
  readonly host: string;
  /** The HTTP port; null with `--port none` (FastCGI only). */
  readonly port: number | null;
  /** Where every worker also answers FastCGI (`--fastcgi ADDR`), or null. */
  readonly fastcgi: FastCgiAddress | null;
  readonly workers: number;
  readonly cache: CachePolicyName;
  /** CPU bound of one uninterrupted run of site code (between awaits on timers or I/O). */
  readonly timeoutMs: number;
  /** Wall-clock bound from request to the response head. */
  readonly wallTimeoutMs: number;
  readonly memoryMb: number;
  readonly maxBodyBytes: number;
  /** Recycle a worker after this many requests (0: never). */
  readonly maxRequests: number;
  /** Recycle a worker whose RSS passes this many MiB (0: never). */
  readonly maxMemoryMb: number;
  readonly debugHeaders: boolean;
  /** Drop a site's sandbox after this many seconds without a request (0: never). */
  readonly siteIdleSeconds: number;
  /** At most this many site sandboxes per worker; the least recently used goes first. */
  readonly maxSites: number;
  readonly preload: boolean;
  /** Client addresses allowed to read /.sitebox/status besides loopback. */
  readonly statusAllow: readonly string[];
  /** A client must send its request head within this bound and its body within wallTimeoutMs. */
  readonly headersTimeoutMs: number;
  /** A worker whose event loop is blocked this long is replaced by the primary. */
  readonly watchdogMs: number;
  /** Quiet window that gathers a burst of file events into one site generation. */
  readonly debounceMs: number;
  /** How long a streamed response begun under a replaced generation may go on before it ends. */
  readonly reloadGraceMs: number;
  /** site.json may raise its limits above these flags (otherwise the flags are ceilings). */
  readonly siteLimitsRaise: boolean;
  /** `watch`: every this many ms, check every served site's stamps for what events missed. */
  readonly rescanMs: number;
  /** Peers (addresses, CIDR ranges) whose X-Forwarded-* / Forwarded headers are believed. */
  readonly trustProxy: readonly string[];
  /** At SIGTERM, /.sitebox/health says "draining" this long before the listener closes. */
  readonly drainDelayMs: number;
  /** Access log file (absolute), reopened on SIGUSR1; "-" is stdout. */
  readonly accessLog: string;
}

export const DEFAULTS: Config = Object.freeze({
  sitesDir: "sites",
  host: "127.0.0.1",
  port: 8080,
  fastcgi: null,
  workers: availableParallelism(),
  cache: "watch",
  timeoutMs: 1000,
  wallTimeoutMs: 30_000,
  memoryMb: 64,
  maxBodyBytes: 1024 * 1024,
  maxRequests: 0,
  maxMemoryMb: 0,
  debugHeaders: false,
  siteIdleSeconds: 300,
  maxSites: 200,
  preload: false,
  statusAllow: [],
  headersTimeoutMs: 10_000,
  watchdogMs: 5_000,
  debounceMs: 25,
  reloadGraceMs: 30_000,
  siteLimitsRaise: false,
  rescanMs: 2000,
  trustProxy: [],
  drainDelayMs: 0,
  accessLog: "-",
});

type Kind = "int" | "bool" | "string" | "cache" | "list" | "proxies" | "port" | "fastcgi";
interface FlagSpec {
  key: keyof Config;
  kind: Kind;
  min?: number;
  max?: number;
  help: string;
}

/** The flags of `sitebox serve`, in the order `--help` lists them. */
export const SERVE_FLAGS: Record<string, FlagSpec> = {
  "--host": { key: "host", kind: "string", help: "address to listen on" },
  "--port": { key: "port", kind: "port", min: 0, max: 65535, help: "HTTP port (0: any, none)" },
  "--fastcgi": { key: "fastcgi", kind: "fastcgi", help: "FastCGI HOST:PORT or socket path" },
  "--workers": { key: "workers", kind: "int", min: 1, max: 256, help: "worker processes" },
  "--cache": { key: "cache", kind: "cache", help: CACHE_POLICIES.join("|") },
  "--timeout": { key: "timeoutMs", kind: "int", min: 1, max: 600_000, help: "CPU ms per run" },
  "--wall-timeout": { key: "wallTimeoutMs", kind: "int", min: 1, max: 3_600_000, help: "ms" },
  "--memory": { key: "memoryMb", kind: "int", min: 16, max: 2048, help: "MB per sandbox" },
  "--max-body": { key: "maxBodyBytes", kind: "int", min: 0, max: 2 ** 31, help: "bytes" },
  "--max-requests": { key: "maxRequests", kind: "int", min: 0, max: 2 ** 40, help: "0: never" },
  "--max-memory": { key: "maxMemoryMb", kind: "int", min: 0, max: 1 << 20, help: "MiB, 0: never" },
  "--debug-headers": { key: "debugHeaders", kind: "bool", help: "x-sitebox-* headers" },
  "--site-idle": { key: "siteIdleSeconds", kind: "int", min: 0, max: 1 << 30, help: "seconds" },
  "--max-sites": { key: "maxSites", kind: "int", min: 1, max: 100_000, help: "per worker" },
  "--preload": { key: "preload", kind: "bool", help: "load every route at worker start" },
  "--status-allow": { key: "statusAllow", kind: "list", help: "comma-separated addresses" },
  "--headers-timeout": { key: "headersTimeoutMs", kind: "int", min: 100, max: 600_000, help: "ms" },
  "--watchdog": { key: "watchdogMs", kind: "int", min: 200, max: 600_000, help: "ms" },
  "--debounce": { key: "debounceMs", kind: "int", min: 0, max: 10_000, help: "ms" },
  "--reload-grace": { key: "reloadGraceMs", kind: "int", min: 0, max: 86_400_000, help: "ms" },
  "--site-limits-raise": { key: "siteLimitsRaise", kind: "bool", help: "site.json may raise" },
  "--rescan": { key: "rescanMs", kind: "int", min: 0, max: 86_400_000, help: "ms, 0: never" },
  "--trust-proxy": { key: "trustProxy", kind: "proxies", help: "addresses or CIDR ranges" },
  "--drain-delay": { key: "drainDelayMs", kind: "int", min: 0, max: 600_000, help: "ms" },
  "--access-log": { key: "accessLog", kind: "string", help: "file, reopened on SIGUSR1" },
};

function configError(message: string): SiteboxError {
  return new SiteboxError("ERR_CONFIG", message);
}

function parseValue(flag: string, spec: FlagSpec, raw: string, cwd: string): unknown {
  switch (spec.kind) {
    case "port":
      if (raw === "none") return null;
      try {
        return parseValue(flag, { ...spec, kind: "int" }, raw, cwd);
      } catch {
        throw configError(`${flag} must be a whole number from 0 to 65535 or "none", not "${raw}"`);
      }
    case "fastcgi":
      try {
        return parseFastCgiAddress(raw, cwd);
      } catch (err) {
        throw configError(`${flag}: ${(err as Error).message}`);
      }
    case "int": {
      const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n) || n < spec.min! || n > spec.max!)
        throw configError(
          `${flag} must be a whole number from ${spec.min} to ${spec.max}, not "${raw}"`,
        );
      return n;
    }
    case "cache":
      if (!(CACHE_POLICIES as readonly string[]).includes(raw))
        throw configError(`${flag} must be one of ${CACHE_POLICIES.join(", ")}, not "${raw}"`);
      return raw;
    case "proxies": {
      const list = parseValue(flag, { ...spec, kind: "list" }, raw, cwd) as string[];
      try {
        parseTrustList(list);
      } catch (err) {
        throw configError(`${flag}: ${(err as Error).message}`);
      }
      return list;
    }
    case "list":
      return raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    case "string":
      if (raw === "") throw configError(`${flag} needs a value`);
      return raw;
    case "bool":
      if (raw !== "true" && raw !== "false") throw configError(`${flag} takes no value`);
      return raw === "true";
  }
}

/** `sitebox serve` arguments → a frozen Config, or a SiteboxError("ERR_CONFIG") naming the flag. */
export function parseServeArgs(argv: readonly string[], cwd = process.cwd()): Config {
  const out: Record<string, unknown> = { ...DEFAULTS };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const spec = SERVE_FLAGS[flag];
    if (!spec) throw configError(`unknown flag ${flag} (see sitebox --help)`);
    let raw: string;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else if (spec.kind === "bool") raw = "true";
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) raw = argv[++i]!;
    else throw configError(`${flag} needs a value (${spec.help})`);
    out[spec.key] = parseValue(flag, spec, raw, cwd);
  }
  if (positional.length > 1)
    throw configError(`expected one sites folder, got: ${positional.join(" ")}`);
  const sitesDir = resolve(cwd, positional[0] ?? DEFAULTS.sitesDir);
  if (!existsSync(sitesDir)) throw configError(`sites folder not found: ${sitesDir}`);
  if (!statSync(sitesDir).isDirectory()) throw configError(`not a folder: ${sitesDir}`);
  out.sitesDir = sitesDir;
  if (out.port === null && out.fastcgi === null)
    throw configError("--port none needs --fastcgi ADDR: nothing would listen");
  out.statusAllow = Object.freeze([...(out.statusAllow as string[])]);
  out.trustProxy = Object.freeze([...(out.trustProxy as string[])]);
  if (out.accessLog !== "-") {
    out.accessLog = resolve(cwd, out.accessLog as string);
    if (!existsSync(dirname(out.accessLog as string)))
      throw configError(`--access-log: folder not found: ${dirname(out.accessLog as string)}`);
  }
  return Object.freeze(out as unknown as Config);
}
