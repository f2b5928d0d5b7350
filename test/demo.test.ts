/**
 * `sitebox demo`: the list, a bad name, and every demo run through the CLI against real servers.
 * Each demo exits 0 only when it observed what it claims; the key figures must be printed.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers.js";

function demo(args: string[], timeoutMs = 40_000) {
  return runCli(["demo", ...args], timeoutMs, { SITEBOX_DEMO_QUICK: "1" });
}

const NAMES = [
  "stale-code",
  "stale-helper",
  "module-state",
  "data-leak",
  "version-skew",
  "broken-edit",
  "half-deploy",
  "symlink-flip",
  "mtime-window",
  "cgi-cost",
  "reload-window",
  "memory",
  "idle-eviction",
  "leak",
  "recycle-stampede",
  "restart",
  "runaway",
];

/** Per demo: lines its output must contain besides PITFALL, FIX and a ✓ verdict. */
const EXPECT: Record<string, RegExp[]> = {
  "stale-code": [
    /10\/10 stale answers until SIGHUP/,
    /all new \d+(\.\d)? ms after it/,
    /watch: all workers new \d+(\.\d)? ms after the save/,
  ],
  "stale-helper": [
    /helper stale in (\d+)\/\1 answers/,
    /route v2: .*VAT 20%/,
    /VAT 25%\) \(gen 2\)/,
  ],
  "module-state": [
    /highest per-worker count [1-9]\b/,
    /generation 3 live \(file change: index\.js\)/,
  ],
  "data-leak": [
    /module-level user: [1-9]\d*\/\d+ answers/,
    /handler scope: 0\/[1-9]/,
    /--cache none: 0\/\d+/,
  ],
  "version-skew": [
    /side by side for \d+(\.\d)? ms \([1-9]\d* old answers/,
    /watch: 0 of \d+ across [3-9] versions/,
  ],
  "broken-edit": [
    /legacy: [1-9]\d* errors/,
    /watch: 0 errors/,
    /rejected, still serving 1: index\.js:3:\d+: SyntaxError/,
  ],
  "half-deploy": [/legacy: [1-9]\d* errors/, /watch: 0 errors, \d+ old then [1-9]\d* new/],
  "symlink-flip": [/forever: 20\/20 answers from release v1/, /release v2 \(gen 2\)/],
  "mtime-window": [/legacy never served edit 2/, /stat served it on every worker in \d+(\.\d)? ms/],
  "cgi-cost": [/none +\d+ +\d+ +[\d.]+ ms/, /watch +\d+ +\d+ +[\d.]+ ms/, /: \d+(\.\d)?x\./],
  "reload-window": [
    /stat +\d+\/\d+ +[\d.]+ ms/,
    /watch +\d+\/\d+ +[\d.]+ ms/,
    /legacy p50 [\d.]+ ms/,
  ],
  memory: [
    /REFERENCE \(quoted, NOT measured by this demo\)[^]*~20-29 MiB RSS each/,
    /^ +1 +50 sites +50 /m,
    /^ +2 +50 sites +50 /m,
    /\+\d+\.\d MiB RSS per site per worker \(\d+\.\d MiB allocated per interpreter/,
    /--max-sites 10: (10|[1-9]) loaded/,
  ],
  "idle-eviction": [
    /--site-idle 0: 100 sandboxes \([\d.]+ MiB\) still loaded/,
    /--site-idle 3: [1-9]\d* → 0 loaded, sandbox [\d.]+ → 0\.0 MiB/,
    /"evicted: idle" ×100/,
  ],
  leak: [
    /without --max-memory RSS grew [\d.]+ → [\d.]+ MiB \(\+[\d.]+ MiB\/s per worker\)/,
    /--max-memory 150: [2-9]\d* recycles \("RSS \d+ MiB over --max-memory 150"\)/,
    /\d+ requests, 0 failed\.$/m,
  ],
  "recycle-stampede": [
    /all at once: [1-9]\d* of \d+ requests failed \([^)]*ECONNREFUSED ×[1-9]/,
    /\d+ recycles one at a time \(2-[23] workers live\), 0 of \d+ failed/,
  ],
  restart: [
    /stop \+ start: [1-9]\d* of \d+ requests failed/,
    /SIGHUP: every worker replaced in [\d.]+ ms, 0 of \d+ failed on fresh connections/,
  ],
  runaway: [
    /killing worker \d+: event loop blocked for \d+ ms in site=hog route=spin\.js/,
    /\/spin 503 in \d+ ms, \/sleep 504 in \d+ ms, healthy 0 failed/,
    /named site=hog route=native\.js/,
  ],
};

describe("sitebox demo", () => {
  it("lists every demo with a description and how to run it", async () => {
    const r = await demo([]);
    expect(r.code).toBe(0);
    for (const name of NAMES) expect(r.stdout).toMatch(new RegExp(`^  ${name} +\\S`, "m"));
    expect(r.stdout).toContain("sitebox demo all");
  });

  it("rejects an unknown demo with one line and exit 2", async () => {
    const r = await demo(["no-such-demo"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown demo "no-such-demo"/);
  });

  it("exports the DEMOS list the README and index page use", async () => {
    const { DEMOS } = await import("../src/demo/index.js");
    expect(DEMOS.map((d) => d.name)).toEqual(NAMES);
    for (const d of DEMOS) expect(d.title.length * d.description.length).toBeGreaterThan(0);
  });

  it.each(NAMES)("%s reproduces the pitfall and the fix", { timeout: 45_000 }, async (name) => {
    const r = await demo([name]);
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.stdout, output).toMatch(/^PITFALL: /m);
    expect(r.stdout, output).toMatch(/^FIX: /m);
    expect(r.stdout, output).toMatch(new RegExp(`^VERDICT ✓ ${name}: `, "m"));
    for (const re of EXPECT[name]!) expect(r.stdout, output).toMatch(re);
    expect(r.code, output).toBe(0);
  });
});
