import { describe, expect, it } from "vitest";
import { workerMallocEnv } from "../../src/worker-malloc.js";

describe("workerMallocEnv", () => {
  it("fixes glibc's trim threshold and lowers its mmap threshold by default", () => {
    expect(workerMallocEnv({})).toEqual({
      MALLOC_TRIM_THRESHOLD_: "131072",
      MALLOC_MMAP_THRESHOLD_: "32768",
    });
  });
  it("keeps what the operator set, each on its own", () => {
    expect(workerMallocEnv({ MALLOC_MMAP_THRESHOLD_: "131072" })).toEqual({
      MALLOC_TRIM_THRESHOLD_: "131072",
      MALLOC_MMAP_THRESHOLD_: "131072",
    });
    expect(workerMallocEnv({ MALLOC_TRIM_THRESHOLD_: "0" }).MALLOC_TRIM_THRESHOLD_).toBe("0");
  });
});
