/**
 * The few errors sitebox raises on purpose. Each has a code, the HTTP status a client sees, and a
 * message written for the person who has to fix it. `toStatus` is the only error→HTTP mapping.
 */
export const ERROR_CODES = {
  /** A flag, value or site.json setting is wrong; the CLI prints the message and exits 2. */
  ERR_CONFIG: 500,
  /** No route, or a path that tries to leave the site folder. */
  ERR_NOT_FOUND: 404,
  /** A module failed to load: syntax error, bad import, missing default export. */
  ERR_MODULE_LOAD: 500,
  /** The handler threw, rejected, or returned something that is not a Response. */
  ERR_HANDLER: 500,
  /** The handler used more CPU than `--timeout` allows; its sandbox is rebuilt. */
  ERR_TIMEOUT: 503,
  /** The handler did not finish within `--wall-timeout`. */
  ERR_WALL_TIMEOUT: 504,
  /** The sandbox hit its `--memory` bound or its interpreter aborted; the sandbox is abandoned. */
  ERR_MEMORY: 503,
  /** The request body is larger than `--max-body`. */
  ERR_BODY_TOO_LARGE: 413,
  /** The handler let escape the error from parsing a malformed request body (JSON, form data). */
  ERR_BAD_BODY: 400,
  /** The worker is shutting down or the site is being rebuilt and could not be served. */
  ERR_UNAVAILABLE: 503,
  /** The site's requests kept hitting limits: refused at once until its cool-down ends. */
  ERR_COOL_DOWN: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SiteboxError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds for a 503's Retry-After. */
  readonly retryAfterS: number;
  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; stack?: string; retryAfterS?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SiteboxError";
    this.code = code;
    this.status = ERROR_CODES[code];
    this.retryAfterS = options?.retryAfterS ?? 1;
    if (options?.stack !== undefined) this.stack = options.stack;
  }
}

/** The status a client sees for any thrown value: our own status, else 500. Cannot throw. */
export function toStatus(err: unknown): number {
  return err instanceof SiteboxError ? err.status : 500;
}

/** The short text a client sees: never a message or stack from inside. */
export function publicMessage(status: number): string {
  switch (status) {
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 413:
      return "Payload Too Large";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Internal Server Error";
  }
}
