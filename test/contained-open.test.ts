/**
 * contained-open.ts on real files: what is inside is opened, what leads outside is refused, and
 * nothing that is not a regular file or folder is ever opened for reading (a FIFO would block
 * the worker, a device could act on being opened).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openContained, readContained, readContainedSync } from "../src/contained-open.js";
import { tempDir } from "./helpers.js";

let tmp: string;
let root: string;

beforeAll(() => {
  tmp = fs.realpathSync(tempDir("sitebox-contained-"));
  root = path.join(tmp, "site");
  fs.mkdirSync(path.join(root, "sub"), { recursive: true });
  fs.mkdirSync(path.join(tmp, "site-evil"));
  fs.writeFileSync(path.join(root, "a.txt"), "inside");
  fs.writeFileSync(path.join(tmp, "outside.txt"), "outside");
  fs.writeFileSync(path.join(tmp, "site-evil", "x.txt"), "evil");
  fs.symlinkSync("a.txt", path.join(root, "alias.txt"));
  fs.symlinkSync(path.join(tmp, "outside.txt"), path.join(root, "out.txt"));
  fs.symlinkSync(path.join(tmp, "site-evil"), path.join(root, "evil"));
  fs.symlinkSync("/dev/zero", path.join(root, "zero"));
  execFileSync("mkfifo", [path.join(tmp, "fifo")]);
  fs.symlinkSync(path.join(tmp, "fifo"), path.join(root, "fifo"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const opened = (rel: string) => {
  const f = openContained(root, path.join(root, rel));
  if (f !== null) fs.closeSync(f.fd);
  return f?.real ?? null;
};

describe("openContained", () => {
  it("opens files and folders inside, through in-site symlinks too", () => {
    expect(opened("a.txt")).toBe(path.join(root, "a.txt"));
    expect(opened("alias.txt")).toBe(path.join(root, "a.txt"));
    expect(opened("sub")).toBe(path.join(root, "sub"));
    expect(readContainedSync(root, path.join(root, "alias.txt"))).toBe("inside");
  });

  it("refuses what leads outside, a sibling with the same prefix, devices and FIFOs", () => {
    for (const rel of ["out.txt", "evil/x.txt", "zero", "fifo", "missing"])
      expect(opened(rel), rel).toBeNull();
  });

  it("the async form (the snapshot's) judges alike", async () => {
    expect((await readContained(root, path.join(root, "alias.txt")))?.text).toBe("inside");
    expect(await readContained(root, path.join(root, "out.txt"))).toBeNull();
    expect(await readContained(root, path.join(root, "fifo"))).toBeNull();
  });
});
