/** When a worker should be recycled: small pure rules, applied by the worker to its own figures. */

/** Abandoned sandboxes are freed by the GC, but a worker that keeps losing them is suspect. */
export const MAX_ABANDONED = 50;

/**
 * The request count after which this worker recycles: `--max-requests` plus up to 10% jitter,
 * so workers started together do not all recycle together (gunicorn's max_requests_jitter).
 */
export function requestLimit(maxRequests: number, random = Math.random()): number {
  if (maxRequests <= 0) return Infinity;
  return maxRequests + Math.floor(random * Math.ceil(maxRequests / 10));
}

export interface WorkerFigures {
  requests: number;
  rssBytes: number;
  abandoned: number;
}

/** The reason to recycle, or null. */
export function recycleReason(f: WorkerFigures, limit: number, maxMemoryMb: number): string | null {
  if (f.requests >= limit) return `served ${f.requests} requests (--max-requests)`;
  if (maxMemoryMb > 0 && f.rssBytes > maxMemoryMb * 1048576)
    return `RSS ${Math.round(f.rssBytes / 1048576)} MiB over --max-memory ${maxMemoryMb}`;
  if (f.abandoned >= MAX_ABANDONED) return `${f.abandoned} sandboxes abandoned at their limits`;
  return null;
}
