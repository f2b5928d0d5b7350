/**
 * The sandbox template as an image (src/sandbox/template-image.ts): built by a child of the
 * primary, copied by the workers, refused when it was made by other code or is damaged.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildTemplate, templateOrigin, useTemplateImage } from "../src/sandbox/boot.js";
import {
  encodeImage,
  imageKey,
  openImage,
  type TemplateImage,
} from "../src/sandbox/template-image.js";
import { readAt } from "../src/read-at.js";
import { request, startServer, tempDir, type RunningServer } from "./helpers.js";
import { newSandbox } from "./in-process.js";

const hello =
  'export default { fetch: () => new Response("hi " + new URL("http://x/?a=1").search) };';

describe("the template image", () => {
  const dir = tempDir();
  let image: TemplateImage;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("round-trips through a file, and a sandbox copied from it answers", async () => {
    image = (await buildTemplate()).toImage(imageKey());
    expect(image.bytes.length).toBeGreaterThan(100_000);
    // Most of the template's memory is zero and is left out.
    expect(image.bytes.length).toBeLessThan(image.pages * 65536);
    const file = join(dir, "image.bin");
    writeFileSync(file, encodeImage(image));
    const opened = openImage(file);
    if (opened instanceof Error) throw opened;
    expect(opened.fingerprint).toEqual(image.fingerprint);
    expect(opened.ranges).toEqual(image.ranges);
    const bytes = new Uint8Array(image.bytes.length);
    expect(readAt(opened.fd, bytes, 0, bytes.length, opened.bytesAt)).toBe(bytes.length);
    expect(Buffer.compare(bytes, image.bytes)).toBe(0);

    // The worker keeps the descriptor: the primary may remove the file under it.
    rmSync(file);
    useTemplateImage(async () => opened);
    const sb = await newSandbox({ "a.js": hello });
    expect(templateOrigin).toBe("copied from the primary's image");
    expect(sb.fromTemplate).toBe(true);
    const body = await new Promise<unknown>((resolve) =>
      sb.dispatch(
        { method: "GET", url: "http://t/a", headers: [], body: null, route: "a.js" },
        {
          head: (_s, _h, _k, b) => resolve(b),
          chunk: () => true,
          end() {},
          fail: (err) => resolve(err.message),
        },
      ),
    );
    expect(body).toBe("hi ?a=1");
  });

  it("is refused when made by other code, cut short or not an image", () => {
    const other = join(dir, "other.bin");
    writeFileSync(other, encodeImage({ ...image, key: "0".repeat(64) }));
    expect(String(openImage(other))).toMatch(/made by other code/);
    const whole = encodeImage(image);
    const cut = join(dir, "cut.bin");
    writeFileSync(cut, whole.subarray(0, whole.length - 1));
    expect(String(openImage(cut))).toMatch(/cut short/);
    writeFileSync(cut, whole.subarray(0, 30));
    expect(String(openImage(cut))).toMatch(/cut short/);
    const gif = join(dir, "gif.bin");
    writeFileSync(gif, "GIF89a");
    expect(String(openImage(gif))).toMatch(/not a template image/);
    expect(String(openImage(join(dir, "missing.bin")))).toMatch(/ENOENT/);
    expect(String(openImage(dir))).toMatch(/EISDIR/);
  });
});

describe("a server's workers", () => {
  let server: RunningServer;
  afterAll(() => server?.close());

  it("copy the primary's image, and so do the workers a SIGHUP roll brings", async () => {
    server = await startServer({ sites: { default: { "index.js": hello } } });
    const copied = "copied from the primary's image";
    const workers = async () => {
      for (let i = 0; i < 4; i++)
        expect((await request(server.url, "/", { fresh: true })).text).toBe("hi ?a=1");
      const status = JSON.parse((await request(server.url, "/.sitebox/status.json")).text);
      return status.workers as { pid: number; template: string; preludeRuns: number }[];
    };
    const before = await workers();
    expect(before.map((w) => w.template)).toEqual([copied, copied]);
    // Their sandboxes were copies: the image fits the workers' own boots.
    expect(before.map((w) => w.preludeRuns)).toEqual([0, 0]);
    server.proc.kill("SIGHUP");
    await server.waitFor(/recycling worker \d+: SIGHUP[\s\S]*recycling worker \d+: SIGHUP/);
    const old = new Set(before.map((w) => w.pid));
    let after = await workers();
    for (let i = 0; i < 100 && after.some((w) => old.has(w.pid)); i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await workers();
    }
    expect(after.map((w) => [old.has(w.pid), w.template, w.preludeRuns])).toEqual([
      [false, copied, 0],
      [false, copied, 0],
    ]);
    expect(server.stderr()).not.toMatch(/template/);
  });
});
