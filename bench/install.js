// Debian packages the bench needs (wrk; Apache, mod_python, nginx, php-fpm for --anchors):
// installed with apt-get only when missing, showing apt-get's own output.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { BenchError } from "./common.js";

export const onPath = (bin) =>
  spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;

/** The first of `files` that exists (a glob-free way to find a versioned binary), or null. */
export function firstExisting(files) {
  return files.find((f) => fs.existsSync(f)) ?? null;
}

/**
 * `needs`: [{ pkg, present: () => boolean }]. Installs the packages whose check fails, with one
 * apt-get update before; throws a one-line BenchError saying what to do if that fails.
 */
export function ensurePackages(needs) {
  const missing = needs.filter((n) => !n.present());
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((n) => n.pkg))];
  console.log(`missing: ${pkgs.join(", ")}; installing with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", ...pkgs]]) {
    console.log(`$ apt-get ${args.join(" ")}`);
    const r = spawnSync("apt-get", args, { stdio: "inherit", env });
    if (r.error || r.status !== 0)
      throw new BenchError(
        `could not install ${pkgs.join(" ")}: apt-get ${args[0]} ` +
          (r.error ? `failed to start (${r.error.message})` : `exited with ${r.status}`) +
          `; install them by hand (it needs root: sudo apt-get install -y ${pkgs.join(" ")}) ` +
          `and run again`,
      );
  }
  const still = missing.filter((n) => !n.present()).map((n) => n.pkg);
  if (still.length)
    throw new BenchError(`apt-get installed ${still.join(", ")} but not as expected`);
}
