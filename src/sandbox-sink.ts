/**
 * Where a sandbox's answer goes: the ResponseSink the sandbox calls, written onto the exchange.
 * Text and binary bodies arrive whole and must fit the response budget (else 503); a streamed
 * body is pulled from the sandbox only as the client drains it (`chunk` returns false and
 * `resume` is called on drain), so a stream that nobody reads stops in the sandbox, inside the
 * site's own --memory, instead of growing the worker.
 */
import { SiteboxError } from "./errors.js";
import { byteLength, type Exchange } from "./exchange.js";
import type { ResponseSink } from "./sandbox/sandbox.js";

export function sandboxSink(
  x: Exchange,
  debug: readonly string[],
  fail: (err: SiteboxError) => void,
  logError: (message: string) => void,
): ResponseSink {
  return {
    head(status, headers, kind, body) {
      if (x.headSent || x.ended) return;
      if (debug.length > 0) headers.push(...debug);
      if (kind === "stream") {
        x.streaming = true;
        x.head(status, headers);
        // No body allowed (HEAD, 204, 304): the exchange ends now and its close cancels the
        // stream in the sandbox.
        if (x.req.method === "HEAD" || status === 204 || status === 304) x.end();
        else x.flush();
        return;
      }
      const length = body === undefined ? 0 : byteLength(body);
      const refusal = x.refusal(length);
      if (refusal !== null) {
        logError(refusal);
        fail(new SiteboxError("ERR_UNAVAILABLE", refusal));
        return;
      }
      if (status !== 204 && status !== 304) headers.push("content-length", String(length));
      x.head(status, headers);
      x.end(body);
    },
    admit(size) {
      const refusal = x.refusal(size);
      if (refusal === null) return true;
      logError(refusal);
      fail(new SiteboxError("ERR_UNAVAILABLE", refusal));
      return false;
    },
    chunk(data, resume) {
      if (x.ended) return false;
      const refusal = x.refusal(byteLength(data));
      if (refusal !== null) {
        logError(`stream cut: ${refusal}`);
        x.abort();
        return false;
      }
      if (x.write(data)) return true;
      x.onDrain(resume);
      return false;
    },
    end() {
      x.streaming = false;
      x.end();
    },
    fail(err) {
      x.streaming = false;
      fail(err);
    },
  };
}
