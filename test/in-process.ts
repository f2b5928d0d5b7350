/**
 * Real QuickJS sandboxes in the test's own process (no HTTP): a log that keeps its lines, and a
 * sandbox over a few files.
 */
import type { Log } from "../src/log.js";
import { Sandbox } from "../src/sandbox/sandbox.js";

/** Keeps every error and console line, in order. */
export class TestLog implements Log {
  lines: string[] = [];
  access() {}
  error(_t: object, m: string) {
    this.lines.push(m);
  }
  console(_t: object, _l: string, m: string) {
    this.lines.push(m);
  }
  info() {}
  flush() {}
}

export const TEST_LIMITS = {
  timeoutMs: 2000,
  wallTimeoutMs: 5000,
  memoryMb: 32,
  maxBodyBytes: 1000,
};

/** A sandbox of site `site` over `files` (name → module source). */
export function newSandbox(
  files: Record<string, string>,
  { site = "t", log = new TestLog() as Log } = {},
): Promise<Sandbox> {
  return Sandbox.create({
    site,
    generation: 1,
    files,
    settings: { main: null, vars: {}, limits: TEST_LIMITS },
    worker: 0,
    log,
  });
}
