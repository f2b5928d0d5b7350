import { describe, expect, it } from "vitest";
import { workerV8Flags } from "../../src/worker-flags.js";

describe("workerV8Flags", () => {
  it("turns on wasm inlining by default", () => {
    expect(workerV8Flags([], "")).toEqual(["--wasm-inlining"]);
  });
  it("leaves it out when the operator set it either way, on the command line or in NODE_OPTIONS", () => {
    expect(workerV8Flags(["--no-wasm-inlining"], "")).toEqual([]);
    expect(workerV8Flags([], "--max-old-space-size=512 --no_wasm_inlining")).toEqual([]);
    expect(workerV8Flags(["--wasm-inlining"], "")).toEqual([]);
    // A different flag that only starts the same is not the same flag.
    expect(workerV8Flags(["--wasm-inlining-budget=100"], "")).toEqual(["--wasm-inlining"]);
  });
});
