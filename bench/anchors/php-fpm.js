// nginx → php-fpm from Debian, as operators run PHP: php-fpm with `pm = static` and as many
// children as sitebox has workers, on a Unix socket; Debian's php.ini (OPcache on); the workloads
// as .php scripts (php/); the static file served by nginx itself.
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "../common.js";
import { ensurePackages, firstExisting } from "../install.js";
import { startDaemon, stopServer } from "../proc.js";
import { STATIC_FILE } from "../workloads.js";
import { WEB_USER, asRoot, copyInto, sharedDir } from "./common.js";
import { startNginx } from "./nginx.js";

const PHP_FPM = ["8.4", "8.3", "8.2", "8.1"].map((v) => `/usr/sbin/php-fpm${v}`);
const SCRIPTS = {
  "/": "hello.php",
  "/api/items": "items.php",
  "/page": "page.php",
  "/api/echo": "echo.php",
};

export function ensurePhpFpm() {
  ensurePackages([{ pkg: "php-fpm", present: () => firstExisting(PHP_FPM) !== null }]);
}

function fpmConfig(dir, workers) {
  return `; Written by bench/anchors/php-fpm.js
[global]
pid = ${dir}/php-fpm.pid
error_log = ${dir}/php-fpm.log
daemonize = no

[bench]
${asRoot() ? `user = ${WEB_USER}\ngroup = ${WEB_USER}` : ""}
listen = ${dir}/php-fpm.sock
listen.mode = 0666
pm = static
pm.max_children = ${workers}
`;
}

export async function startPhpFpm(ctx) {
  ensurePhpFpm();
  const dir = sharedDir(ctx.tmp, "php-fpm");
  const files = { "htdocs/style.css": STATIC_FILE };
  for (const s of Object.values(SCRIPTS))
    files[`php/${s}`] = path.join(ROOT, "bench/anchors/php", s);
  copyInto(dir, files);
  fs.writeFileSync(path.join(dir, "php-fpm.conf"), fpmConfig(dir, ctx.opts.workers));
  const sock = path.join(dir, "php-fpm.sock");
  const fpm = await startDaemon({
    label: "php-fpm",
    command: firstExisting(PHP_FPM),
    args: ["-y", path.join(dir, "php-fpm.conf"), "-F"],
    logFile: path.join(dir, "stdout.log"),
    ready: async () => fs.existsSync(sock),
  });
  const locations = Object.entries(SCRIPTS)
    .map(
      ([url, script]) => `    location = ${url} {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME ${dir}/php/${script};
      fastcgi_pass unix:${sock};
    }`,
    )
    .join("\n");
  let nginx;
  try {
    nginx = await startNginx(ctx, dir, { root: path.join(dir, "htdocs"), locations });
  } catch (err) {
    await stopServer(fpm);
    throw err;
  }
  return {
    url: nginx.url,
    roots: () => [nginx.pid, fpm.child.pid],
    stop: async () => {
      await nginx.stop();
      await stopServer(fpm);
    },
  };
}
