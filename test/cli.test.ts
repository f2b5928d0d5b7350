import { describe, expect, it } from "vitest";
import { runCli, tempDir } from "./helpers.js";

describe("sitebox CLI", () => {
  it.each([
    [["serve", "/nonexistent/sites"], /sites folder not found/],
    [["serve", tempDir(), "--port", "http"], /--port must be a whole number/],
    [
      ["serve", tempDir(), "--cache", "sometimes"],
      /--cache must be one of watch, stat, forever, none/,
    ],
    [["serve", tempDir(), "--bogus"], /unknown flag --bogus/],
    [["frobnicate"], /unknown command "frobnicate"/],
  ])("%j → one line, exit 2", async (args, message) => {
    const r = await runCli(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("prints usage with every flag", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    for (const flag of [
      "--workers",
      "--cache",
      "--timeout",
      "--memory",
      "--max-body",
      "--debug-headers",
    ])
      expect(r.stdout).toContain(flag);
  });
});
