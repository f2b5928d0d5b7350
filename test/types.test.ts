/**
 * The types for site authors (types/index.d.ts): a TypeScript site written against them
 * (test/apps/typed) is bundled by esbuild and served, and a project that installs sitebox finds
 * them by the documented names and rejects a handler that breaks the contract.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { ROOT, request, startServer, tempDir, type RunningServer } from "./helpers.js";

const run = promisify(execFile);
let server: RunningServer;

beforeAll(async () => {
  const sites = tempDir("sitebox-typed-");
  mkdirSync(join(sites, "default"));
  await build({
    entryPoints: [join(ROOT, "test/apps/typed/index.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    outfile: join(sites, "default/index.js"),
    logLevel: "silent",
  });
  writeFileSync(
    join(sites, "default/site.json"),
    JSON.stringify({ main: "index.js", vars: { greeting: "Hej" } }),
  );
  server = await startServer({ dir: sites });
});
afterAll(() => server?.close());

describe("a site written in TypeScript against sitebox/types", () => {
  it("is served as its types promise", async () => {
    const item = await request(server.url, "/items/42");
    expect(JSON.parse(item.text)).toEqual({
      id: "42",
      sha256: "73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049",
    });
    expect((await request(server.url, "/price")).text).toBe("1.234,50\u00a0€");
    expect((await request(server.url, "/stream")).text).toBe("a,b");
    const posted = await request(server.url, "/", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "name=Ada",
    });
    expect(posted.text).toBe("Hej, Ada");
  });
});

describe("a project that installs sitebox", () => {
  const project = tempDir("sitebox-types-user-");
  mkdirSync(join(project, "node_modules"));
  symlinkSync(ROOT, join(project, "node_modules/sitebox"));
  const tsc = (config: object) => {
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify(config));
    return run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", project])
      .then(() => "")
      .catch((err: { stdout: string }) => err.stdout);
  };
  const options = { strict: true, noEmit: true, module: "ES2022", moduleResolution: "Bundler" };

  it("finds them by `types` in tsconfig and by a reference directive", async () => {
    writeFileSync(
      join(project, "a.ts"),
      `export default { fetch: (r, env, ctx) => { ctx.waitUntil(Promise.resolve()); ` +
        `return new Response(new URL(r.url).pathname); } } satisfies Sitebox.ExportedHandler;`,
    );
    writeFileSync(
      join(project, "b.ts"),
      `/// <reference types="sitebox/types" />\n` +
        `export const f: Sitebox.FetchHandler = async (r) => Response.json(await r.json());`,
    );
    expect(
      await tsc({ compilerOptions: { ...options, types: ["sitebox/types"] }, files: ["a.ts"] }),
    ).toBe("");
    expect(await tsc({ compilerOptions: { ...options, types: [] }, files: ["b.ts"] })).toBe("");
  });

  it("rejects a handler that returns a string, and Node's globals are not there", async () => {
    writeFileSync(
      join(project, "c.ts"),
      `export default { fetch: () => "hi" } satisfies Sitebox.ExportedHandler;\n` +
        `process.exit(1);\n`,
    );
    const out = await tsc({
      compilerOptions: { ...options, types: ["sitebox/types"] },
      files: ["c.ts"],
    });
    expect(out).toMatch(/c\.ts\(1,.*error TS2322/);
    expect(out).toMatch(/c\.ts\(2,1\): error TS25\d\d: Cannot find name 'process'/);
  });
});
