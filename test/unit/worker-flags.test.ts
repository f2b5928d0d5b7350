import { describe, expect, it } from "vitest";
import { mainStackLimit, workerV8Flags } from "../../src/worker-flags.js";

const DEFAULTS = ["--wasm-inlining", "--no-allocation-site-pretenuring", "--stack-size=4096"];
const MiB = 1024 * 1024;

describe("workerV8Flags", () => {
  it("turns on wasm inlining, turns off allocation-site pretenuring, raises the stack", () => {
    expect(workerV8Flags([], "", 8 * MiB)).toEqual(DEFAULTS);
    expect(workerV8Flags([], "", Infinity)).toEqual(DEFAULTS);
  });
  it("leaves one out when the operator set it either way, on the command line or in NODE_OPTIONS", () => {
    const [inlining, pretenuring, stack] = DEFAULTS;
    expect(workerV8Flags(["--no-wasm-inlining"], "", 8 * MiB)).toEqual([pretenuring, stack]);
    expect(workerV8Flags([], "--max-old-space-size=512 --no_wasm_inlining", 8 * MiB)).toEqual([
      pretenuring,
      stack,
    ]);
    expect(workerV8Flags(["--wasm-inlining"], "", 8 * MiB)).toEqual([pretenuring, stack]);
    expect(workerV8Flags(["--allocation-site-pretenuring"], "", 8 * MiB)).toEqual([
      inlining,
      stack,
    ]);
    expect(workerV8Flags(["--stack-size=2000"], "", 8 * MiB)).toEqual([inlining, pretenuring]);
    expect(workerV8Flags([], "--stack_size=2000", 8 * MiB)).toEqual([inlining, pretenuring]);
    // A different flag that only starts the same is not the same flag.
    expect(workerV8Flags(["--wasm-inlining-budget=100"], "", 8 * MiB)).toEqual(DEFAULTS);
  });
  it("keeps Node's stack where the process's stack limit leaves no room, or is unknown", () => {
    expect(workerV8Flags([], "", 4 * MiB)).toEqual(DEFAULTS.slice(0, 2));
    expect(workerV8Flags([], "", null)).toEqual(DEFAULTS.slice(0, 2));
  });
});

describe("mainStackLimit", () => {
  it("reads the soft limit from /proc/self/limits", () => {
    const line = (soft: string) =>
      `Limit                     Soft Limit           Hard Limit           Units\n` +
      `Max stack size            ${soft}              unlimited            bytes\n`;
    expect(mainStackLimit(line("8388608"))).toBe(8 * MiB);
    expect(mainStackLimit(line("unlimited"))).toBe(Infinity);
    expect(mainStackLimit("")).toBe(null);
    expect(mainStackLimit()).toBeGreaterThan(0);
  });
});
