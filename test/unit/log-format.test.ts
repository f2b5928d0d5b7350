import { describe, expect, it } from "vitest";
import { foldRepeatedLines } from "../../src/log.js";

describe("foldRepeatedLines", () => {
  it("keeps each run of identical lines once, with how many more there were", () => {
    const stack = [
      "RangeError: deep",
      ...Array(2700).fill("    at f (a.js:1:9)"),
      "    at g (a.js:2:1)",
    ];
    expect(foldRepeatedLines(stack.join("\n"))).toBe(
      "RangeError: deep\n    at f (a.js:1:9)\n    ... the line above 2699 more times\n    at g (a.js:2:1)",
    );
  });
  it("leaves text without repeats as it is", () => {
    expect(foldRepeatedLines("a\nb\na")).toBe("a\nb\na");
    expect(foldRepeatedLines("")).toBe("");
  });
});
