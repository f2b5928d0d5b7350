/**
 * Issue 9 item 1 under `--cache legacy`, the one policy that still reads module files from disk
 * after the snapshot (mod_python's re-import): that read is contained to the site folder,
 * judged on the file actually opened, like every other read (contained-open.ts).
 */
import { symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, startServer, type RunningServer } from "./helpers.js";
import { warmHealthy, whileHealthy } from "./bystander.js";

const VICTIM = "VICTIM-SECRET-93";

/** Imports `file` as ?v=N, N from the query: each N is a fresh read from disk. */
const probe = (file: string) => `export default async (request) => {
  const v = new URL(request.url).searchParams.get("v");
  try { return new Response((await import("./${file}?v=" + v)).value); }
  catch (e) { return new Response("refused: " + e.message, { status: 500 }); }
};`;

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    args: ["--cache", "legacy"],
    sites: {
      healthy: { "index.js": "export default () => new Response('healthy');" },
      victim: { "_secret.js": `export const value = "${VICTIM}";` },
      attacker: {
        "x.js": "export const value = 'own';",
        "probe.js": probe("x.js"),
        "_lib/real.js": "export const value = 'inside through a symlink';",
        "y.js": "export const value = 'y';",
        "probe-y.js": probe("y.js"),
      },
    },
  });
  await warmHealthy(server);
});
afterAll(() => server?.close());

const get = (path: string) => request(server.url, path, { headers: { host: "attacker" } });

describe("legacy re-reads stay inside the site", () => {
  it("a ?v= re-read of a file swapped for a symlink to another site is refused", async () => {
    expect((await get("/probe?v=1")).text).toBe("own");
    const r = await whileHealthy(server, async () => {
      const x = join(server.dir, "attacker", "x.js");
      unlinkSync(x);
      symlinkSync(join(server.dir, "victim", "_secret.js"), x);
      return get("/probe?v=2");
    });
    expect(r.text).not.toContain(VICTIM);
    expect(r.status).toBe(500);
    expect(r.text).toMatch(/cannot read module x\.js/);
  });

  it("a symlink that stays inside the site is still followed", async () => {
    const y = join(server.dir, "attacker", "y.js");
    unlinkSync(y);
    symlinkSync(join(server.dir, "attacker", "_lib", "real.js"), y);
    expect((await get("/probe-y?v=1")).text).toBe("inside through a symlink");
  });
});
