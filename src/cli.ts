/**
 * `sitebox serve|demo`: argv → Config, or one line on stderr and exit 2.
 */
import { CACHE_POLICIES, DEFAULTS, parseServeArgs, SERVE_FLAGS } from "./config.js";
import { SiteboxError } from "./errors.js";
import { clearStaleSocket } from "./fastcgi/address.js";
import { StdLog } from "./log.js";
import { Primary } from "./primary.js";

const USAGE = `usage:
  sitebox serve [SITES_DIR=./sites] [flags]   serve a folder of sites
  sitebox demo [NAME]                         reproduce the historical pitfalls, one by one

serve flags (defaults in brackets):
${Object.entries(SERVE_FLAGS)
  .map(([flag, spec]) => {
    const def = DEFAULTS[spec.key];
    const shown = Array.isArray(def) ? def.join(",") || "-" : def === null ? "-" : String(def);
    return `  ${(flag + (spec.kind === "bool" ? "" : " VALUE")).padEnd(26)} ${spec.help} [${shown}]`;
  })
  .join("\n")}
cache policies: ${CACHE_POLICIES.join(", ")}`;

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(USAGE + "\n");
        return;
      case "serve": {
        const config = parseServeArgs(rest);
        if (config.fastcgi?.kind === "unix")
          // A socket left by a killed run is removed; anything else at the path is an error.
          await clearStaleSocket(config.fastcgi.path).catch((err: Error) => {
            throw new SiteboxError("ERR_CONFIG", `--fastcgi: ${err.message}`);
          });
        new Primary(config, new StdLog()).start();
        return;
      }
      case "demo": {
        const { runDemo } = await import("./demo/index.js");
        process.exitCode = await runDemo(rest);
        return;
      }
      default:
        throw new SiteboxError(
          "ERR_CONFIG",
          `unknown command "${command}" (expected serve or demo)`,
        );
    }
  } catch (err) {
    if (err instanceof SiteboxError && err.code === "ERR_CONFIG") {
      process.stderr.write(`sitebox: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
