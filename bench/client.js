// Single requests on fresh connections: the cluster hands each new connection to the next worker,
// so a series of them reaches every worker, and `x-sitebox-worker` (--debug-headers) says which.
import http from "node:http";
import { BenchError } from "./common.js";

/**
 * GET `pathname` on a new connection with Host `host`; resolves with the status, body, worker id
 * and the time from sending to the last byte. Never rejects: a failure is `{ error }`.
 */
export function get(port, pathname, host = `127.0.0.1:${port}`) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request(
      { host: "127.0.0.1", port, path: pathname, agent: false, headers: { host } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (body += d));
        res.on("error", (err) => resolve({ error: err.message, ms: performance.now() - t0 }));
        res.on("end", () =>
          resolve({
            status: res.statusCode,
            body,
            worker: res.headers["x-sitebox-worker"] ?? null,
            generation: res.headers["x-sitebox-generation"] ?? null,
            ms: performance.now() - t0,
          }),
        );
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error("no answer within 10 s")));
    req.on("error", (err) => resolve({ error: err.message, ms: performance.now() - t0 }));
    req.end();
  });
}

/** status.json on a fresh connection (a pooled one may belong to a worker being replaced). */
export async function status(port) {
  const r = await get(port, "/.sitebox/status.json");
  if (r.error || r.status !== 200)
    throw new BenchError(`status.json: ${r.error ?? `answered ${r.status}`}`);
  return JSON.parse(r.body);
}

/** One line for a response that is not a 200 with a worker header, or null when it is. */
export function badAnswer(r, what) {
  if (r.error) return `${what}: ${r.error}`;
  if (r.status !== 200) return `${what}: answered ${r.status}: ${r.body.trim().slice(0, 200)}`;
  if (r.worker === null) return `${what}: no x-sitebox-worker header (--debug-headers missing?)`;
  return null;
}

/**
 * Requests Host `host` on fresh connections until each of `workers` workers has answered once
 * (at most `tries` requests); returns the first answer of each worker and the others.
 */
export async function everyWorker(port, host, workers, tries = 20 * workers) {
  const first = new Map();
  const rest = [];
  for (let i = 0; i < tries && first.size < workers; i++) {
    const r = await get(port, "/", host);
    const bad = badAnswer(r, `${host} /`);
    if (bad) throw new BenchError(bad);
    if (first.has(r.worker)) rest.push(r);
    else first.set(r.worker, r);
  }
  if (first.size < workers)
    throw new BenchError(`${host}: only ${first.size} of ${workers} workers answered`);
  return { first: [...first.values()], rest };
}
