/**
 * glibc malloc settings for the workers, each left as the operator set it in the primary's
 * environment, which is how to change one.
 *
 * MALLOC_TRIM_THRESHOLD_=131072, glibc's default, set explicitly: that turns off its dynamic
 * thresholds, which V8's big compile buffers raise, so freed memory goes back to the system
 * instead of staying in each worker (5-15 MiB less after load).
 *
 * MALLOC_MMAP_THRESHOLD_=32768: the first run of QuickJS in a worker leaves free 32-64 KiB
 * chunks in the malloc arena of V8's compiler threads (6.3 MiB of it stays), where no trim
 * reaches them (65536 and up changed nothing). Served by mmap they go back when freed: the
 * server after one request of each workload 185 instead of 202 MiB. The price is that the 64 KiB
 * read buffers Node allocates for streams outside the HTTP parser's shared one come from mmap
 * too: under wrk, one mmap and munmap per 7-22 requests (`strace -c`), and no change in CPU per
 * request that the bench could tell from its noise (README "Memory").
 */
export function workerMallocEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    MALLOC_TRIM_THRESHOLD_: env.MALLOC_TRIM_THRESHOLD_ ?? "131072",
    MALLOC_MMAP_THRESHOLD_: env.MALLOC_MMAP_THRESHOLD_ ?? "32768",
  };
}
