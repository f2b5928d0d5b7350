/**
 * Types for sitebox site scripts: the handler contract and the sandbox's globals.
 *
 * In a site's `tsconfig.json`: `"types": ["sitebox/types"]` (with `"lib": ["es2022"]`), or at the
 * top of a file: `/// <reference types="sitebox/types" />`. Then
 *
 *     export default {
 *       async fetch(request, env, ctx) { return Response.json({ ok: true }); },
 *     } satisfies Sitebox.ExportedHandler;
 *
 * The globals are the web platform's, as TypeScript's `webworker` library declares them: the
 * sandbox provides the WinterTC set (Request, Response, Headers, URL, URLPattern, streams,
 * TextEncoder/TextDecoder and their streams, CompressionStream, Blob, File, FormData, crypto with
 * crypto.subtle, Intl, EventTarget, MessageChannel, structuredClone, timers, performance,
 * navigator.userAgent, console, self). That library also declares what a browser worker has and
 * the sandbox does not: `importScripts`, `postMessage`, `caches`, `indexedDB`, `WebSocket`,
 * `XMLHttpRequest`, `location`, and outbound `fetch()` (present, but it rejects: the sandbox has no
 * network access). Those type-check and fail at run time.
 */
/// <reference no-default-lib="true" />
/// <reference lib="es2022" />
/// <reference lib="webworker" />
/// <reference lib="webworker.iterable" />
/// <reference lib="webworker.asynciterable" />

declare global {
  namespace Sitebox {
    /** The site's `vars` from its site.json, frozen. */
    type Env = Readonly<Record<string, unknown>>;

    /** The handler's third argument, one per request. */
    interface ExecutionContext {
      /**
       * Keeps work going after the response (logging, cache writes): up to 30 s and one
       * `--timeout` of CPU after the response is sent; then it is stopped.
       */
      waitUntil(promise: Promise<unknown>): void;
      /** Accepted for compatibility with Workers apps; does nothing (there is no origin). */
      passThroughOnException(): void;
    }

    /** A request handler: a web Request in, a Response (or a promise of one) out. */
    type FetchHandler<E = Env> = (
      request: Request,
      env: E,
      ctx: ExecutionContext,
    ) => Response | Promise<Response>;

    /** What a site module exports by default: `{ fetch }`, or the fetch function itself. */
    interface ExportedHandler<E = Env> {
      fetch: FetchHandler<E>;
    }

    type SiteModule<E = Env> = ExportedHandler<E> | FetchHandler<E>;
  }

  // URLPattern (WHATWG URL Pattern standard), which TypeScript's libraries do not declare yet.
  type URLPatternInput = string | URLPatternInit;
  interface URLPatternInit {
    protocol?: string;
    username?: string;
    password?: string;
    hostname?: string;
    port?: string;
    pathname?: string;
    search?: string;
    hash?: string;
    baseURL?: string;
  }
  interface URLPatternOptions {
    ignoreCase?: boolean;
  }
  interface URLPatternComponentResult {
    input: string;
    groups: Record<string, string | undefined>;
  }
  interface URLPatternResult {
    inputs: URLPatternInput[];
    protocol: URLPatternComponentResult;
    username: URLPatternComponentResult;
    password: URLPatternComponentResult;
    hostname: URLPatternComponentResult;
    port: URLPatternComponentResult;
    pathname: URLPatternComponentResult;
    search: URLPatternComponentResult;
    hash: URLPatternComponentResult;
  }
  interface URLPattern {
    test(input?: URLPatternInput, baseURL?: string): boolean;
    exec(input?: URLPatternInput, baseURL?: string): URLPatternResult | null;
    readonly protocol: string;
    readonly username: string;
    readonly password: string;
    readonly hostname: string;
    readonly port: string;
    readonly pathname: string;
    readonly search: string;
    readonly hash: string;
    readonly hasRegExpGroups: boolean;
  }
  var URLPattern: {
    prototype: URLPattern;
    new (input: URLPatternInput, baseURL: string, options?: URLPatternOptions): URLPattern;
    new (input?: URLPatternInput, options?: URLPatternOptions): URLPattern;
  };
}

export {};
