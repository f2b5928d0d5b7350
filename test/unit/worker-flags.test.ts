import { describe, expect, it } from "vitest";
import { workerV8Flags } from "../../src/worker-flags.js";

const DEFAULTS = ["--wasm-inlining", "--no-allocation-site-pretenuring"];

describe("workerV8Flags", () => {
  it("turns on wasm inlining and turns off allocation-site pretenuring by default", () => {
    expect(workerV8Flags([], "")).toEqual(DEFAULTS);
  });
  it("leaves one out when the operator set it either way, on the command line or in NODE_OPTIONS", () => {
    expect(workerV8Flags(["--no-wasm-inlining"], "")).toEqual([DEFAULTS[1]]);
    expect(workerV8Flags([], "--max-old-space-size=512 --no_wasm_inlining")).toEqual([DEFAULTS[1]]);
    expect(workerV8Flags(["--wasm-inlining"], "")).toEqual([DEFAULTS[1]]);
    expect(workerV8Flags(["--allocation-site-pretenuring"], "")).toEqual([DEFAULTS[0]]);
    // A different flag that only starts the same is not the same flag.
    expect(workerV8Flags(["--wasm-inlining-budget=100"], "")).toEqual(DEFAULTS);
  });
});
