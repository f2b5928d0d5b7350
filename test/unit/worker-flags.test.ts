import { describe, expect, it } from "vitest";
import { workerV8Flags } from "../../src/worker-flags.js";

describe("workerV8Flags", () => {
  it("gives TurboFan-only wasm with inlining by default", () => {
    expect(workerV8Flags([], "")).toEqual(["--no-liftoff", "--wasm-inlining"]);
  });
  it("leaves out a flag the operator set either way, on the command line or in NODE_OPTIONS", () => {
    expect(workerV8Flags(["--liftoff"], "")).toEqual(["--wasm-inlining"]);
    expect(workerV8Flags([], "--max-old-space-size=512 --no-wasm-inlining")).toEqual([
      "--no-liftoff",
    ]);
    expect(workerV8Flags(["--no_wasm_inlining", "--no-liftoff"], "")).toEqual([]);
    // A different flag that only starts the same is not the same flag.
    expect(workerV8Flags(["--liftoff-only"], "")).toEqual(["--no-liftoff", "--wasm-inlining"]);
  });
});
