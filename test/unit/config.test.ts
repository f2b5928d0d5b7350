import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULTS, parseServeArgs } from "../../src/config.js";
import { parseSiteJson } from "../../src/site-config.js";
import { checkResponseMeta } from "../../src/sandbox/response-meta.js";
import { resolveSpecifier } from "../../src/sandbox/loader.js";
import { ERROR_CODES } from "../../src/errors.js";
import { readFileSync } from "node:fs";
import { ROOT } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "sitebox-config-"));

describe("parseServeArgs", () => {
  it("fills defaults and freezes", () => {
    const c = parseServeArgs([dir]);
    expect(c.port).toBe(DEFAULTS.port);
    expect(c.cache).toBe("watch");
    expect(Object.isFrozen(c)).toBe(true);
  });
  it("reads every form of flag", () => {
    const c = parseServeArgs([
      dir,
      "--port=0",
      "--workers",
      "3",
      "--cache",
      "stat",
      "--debug-headers",
    ]);
    expect([c.port, c.workers, c.cache, c.debugHeaders]).toEqual([0, 3, "stat", true]);
  });
  it("names the flag in every error", () => {
    expect(() => parseServeArgs([dir, "--port", "x"])).toThrow(/--port must be a whole number/);
    expect(() => parseServeArgs([dir, "--cache", "lru"])).toThrow(/--cache must be one of/);
    expect(() => parseServeArgs([dir, "--nope"])).toThrow(/unknown flag --nope/);
    expect(() => parseServeArgs([dir, "--timeout"])).toThrow(/--timeout needs a value/);
    expect(() => parseServeArgs([dir, "--memory", "8"])).toThrow(/--memory must be .* from 16/);
    expect(() => parseServeArgs([join(dir, "missing")])).toThrow(/sites folder not found/);
  });
  it("--trust-proxy takes addresses and ranges, and names a bad entry", () => {
    const c = parseServeArgs([dir, "--trust-proxy", "127.0.0.1, 10.0.0.0/8,::1,fd00::/8"]);
    expect(c.trustProxy).toEqual(["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"]);
    expect(parseServeArgs([dir]).trustProxy).toEqual([]);
    expect(() => parseServeArgs([dir, "--trust-proxy", "10.0.0.0/40"])).toThrow(
      /^--trust-proxy: "10.0.0.0\/40" is not an IP address/,
    );
  });
  it("--access-log is resolved from the working folder; --drain-delay is ms", () => {
    const c = parseServeArgs([dir, "--access-log", "access.log", "--drain-delay", "500"], dir);
    expect(c.accessLog).toBe(join(dir, "access.log"));
    expect(() => parseServeArgs([dir, "--access-log", "no/such/access.log"], dir)).toThrow(
      /^--access-log: folder not found: /,
    );
    expect(c.drainDelayMs).toBe(500);
    expect(parseServeArgs([dir]).accessLog).toBe("-");
  });
});

describe("parseSiteJson", () => {
  const base = { timeoutMs: 1000, wallTimeoutMs: 30000, memoryMb: 64, maxBodyBytes: 100 };
  it("reads main, vars and limits", () => {
    const s = parseSiteJson(
      '{"main":"./app.js","vars":{"A":1},"limits":{"timeout":50,"max-body":10}}',
      "x",
      base,
    );
    expect(s.main).toBe("app.js");
    expect(s.vars).toEqual({ A: 1 });
    expect(s.limits).toEqual({ ...base, timeoutMs: 50, maxBodyBytes: 10 });
  });
  it("says what is wrong and where", () => {
    expect(() => parseSiteJson("{", "s/site.json", base)).toThrow(/s\/site.json: not valid JSON/);
    expect(() => parseSiteJson('{"mian":1}', "s", base)).toThrow(/unknown key "mian"/);
    expect(() => parseSiteJson('{"main":"../x.js"}', "s", base)).toThrow(/"main" must be/);
    expect(() => parseSiteJson('{"limits":{"memory":1}}', "s", base)).toThrow(
      /limits.memory must be/,
    );
    expect(() => parseSiteJson('{"limits":{"cpu":1}}', "s", base)).toThrow(/unknown limit "cpu"/);
  });
  it("takes the flags as ceilings unless the operator allows raising", () => {
    expect(() => parseSiteJson('{"limits":{"timeout":600000}}', "s", base)).toThrow(
      /limits.timeout 600000 is above the server's --timeout 1000: a site may only lower/,
    );
    expect(() => parseSiteJson('{"limits":{"memory":2048}}', "s", base)).toThrow(/--memory 64/);
    expect(parseSiteJson('{"limits":{"memory":64}}', "s", base).limits.memoryMb).toBe(64);
    const raised = parseSiteJson('{"limits":{"memory":2048,"timeout":5000}}', "s", base, true);
    expect([raised.limits.memoryMb, raised.limits.timeoutMs]).toEqual([2048, 5000]);
    expect(() => parseSiteJson('{"limits":{"memory":4096}}', "s", base, true)).toThrow(
      /from 16 to 2048/,
    );
    expect(parseServeArgs([dir, "--site-limits-raise"]).siteLimitsRaise).toBe(true);
  });
});

describe("checkResponseMeta", () => {
  it("passes a good record and drops framing headers", () => {
    const m = checkResponseMeta('{"i":1,"s":201,"h":["x-a","1","content-length","99"],"k":"text"}');
    expect(m).toEqual({ id: 1, status: 201, headers: ["x-a", "1"], kind: "text", latin1: false });
    const l = checkResponseMeta('{"i":1,"s":200,"h":["x-a","caf\u00e9"],"k":"text"}');
    expect(l).toMatchObject({ headers: ["x-a", "caf\u00e9"], latin1: true });
  });
  it("refuses splitting and bad statuses", () => {
    expect(checkResponseMeta('{"i":1,"s":200,"h":["x","a\\r\\nb"],"k":"text"}')).toMatch(
      /U\+000D is not allowed/,
    );
    expect(checkResponseMeta('{"i":1,"s":200,"h":["x y","a"],"k":"text"}')).toMatch(
      /invalid header name/,
    );
    expect(checkResponseMeta('{"i":1,"s":99,"h":[],"k":"text"}')).toMatch(/status 99/);
    expect(checkResponseMeta('{"i":1,"s":200,"h":[],"k":"weird"}')).toMatch(/kind/);
  });
});

describe("resolveSpecifier", () => {
  const files = { "index.js": "", "_lib/a.js": "", "api/x.js": "" };
  it("resolves relative imports inside the site", () => {
    expect(resolveSpecifier("api/x.js", "../_lib/a.js", files)).toEqual({
      ok: true,
      name: "_lib/a.js",
    });
  });
  it("refuses bare, node:, absolute, escaping and missing specifiers, naming file and specifier", () => {
    const msg = (b: string, r: string) => {
      const res = resolveSpecifier(b, r, files);
      return res.ok ? "" : res.message;
    };
    expect(msg("index.js", "hono")).toMatch(/index.js: cannot import "hono": only relative/);
    expect(msg("index.js", "node:fs")).toMatch(/"node:fs"/);
    expect(msg("index.js", "/etc/passwd")).toMatch(/only relative/);
    expect(msg("api/x.js", "../../secret.js")).toMatch(/outside the site/);
    expect(msg("index.js", "./nope.js")).toMatch(/no such module/);
  });
});

describe("error codes", () => {
  it("are each documented in the README with their status", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const [code, status] of Object.entries(ERROR_CODES)) {
      expect(readme, code).toContain(code);
      expect(readme, code).toMatch(new RegExp(`${code}\\b.*${status}`));
    }
  });
});
