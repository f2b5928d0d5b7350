/**
 * An attacker who owns a site's folder and flips one of its files between a regular file and a
 * symlink to somewhere else, as fast as rename allows, in a process of its own (so the flips
 * really interleave with the server's reads).
 */
import { spawn } from "node:child_process";

const SCRIPT = `
const fs = require("node:fs");
const path = require("node:path");
const [target, content, link, ms] = process.argv.slice(1);
// A short rest between flips leaves the shared CPUs to the server under test.
const rest = new Int32Array(new SharedArrayBuffer(4));
const dir = path.dirname(target);
const tmpLink = path.join(dir, ".swap-link");
const tmpFile = path.join(dir, ".swap-file");
const end = Date.now() + Number(ms);
let flips = 0;
while (Date.now() < end) {
  fs.symlinkSync(link, tmpLink);
  fs.renameSync(tmpLink, target);
  fs.writeFileSync(tmpFile, content);
  fs.renameSync(tmpFile, target);
  flips++;
  if (flips % 16 === 0) Atomics.wait(rest, 0, 0, 1);
}
process.stdout.write(String(flips));
`;

/** Flips `target` for `ms`; resolves with the number of flips, leaving the regular file. */
export function swapFileAndSymlink(
  target: string,
  content: string,
  linkTo: string,
  ms: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", SCRIPT, target, content, linkTo, String(ms)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(Number(out)) : reject(new Error(`swapper exited ${code}`)),
    );
  });
}
