// nginx from Debian in front of something: its own config in a temp folder, a loopback port, in
// the foreground, `worker_processes` as many as the bench's workers. A target gives the `location`
// blocks (FastCGI to php-fpm, later FastCGI or HTTP to sitebox); static files come from `root`.
import fs from "node:fs";
import path from "node:path";
import { ensurePackages } from "../install.js";
import { startDaemon, stopServer } from "../proc.js";
import { WEB_USER, answers200, asRoot, freePort } from "./common.js";

const NGINX = "/usr/sbin/nginx";

export function ensureNginx() {
  ensurePackages([{ pkg: "nginx", present: () => fs.existsSync(NGINX) }]);
}

function config(dir, port, workers, { root, locations, upstreams = "" }) {
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((t) => `  ${t}_temp_path ${dir}/${t}_temp;`)
    .join("\n");
  return `# Written by bench/anchors/nginx.js
${asRoot() ? `user ${WEB_USER};` : ""}
worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  # As Debian's nginx.conf has them.
  sendfile on;
  tcp_nopush on;
  access_log ${dir}/access.log combined;
${temp}
${upstreams}
  server {
    listen 127.0.0.1:${port};
    root ${root};
${locations}
  }
}
`;
}

/**
 * Starts nginx from folder `dir`, serving `root` with `locations` (the server block's config
 * text) and `upstreams` (http-level text); resolves once `probe` (a path) answers 200.
 */
export async function startNginx(ctx, dir, { root, locations, upstreams, probe = "/" }) {
  ensureNginx();
  const port = await freePort();
  const conf = path.join(dir, "nginx.conf");
  fs.writeFileSync(conf, config(dir, port, ctx.opts.workers, { root, locations, upstreams }));
  const server = await startDaemon({
    label: "nginx",
    command: NGINX,
    args: ["-p", dir, "-c", conf, "-e", path.join(dir, "error.log")],
    logFile: path.join(dir, "stdout.log"),
    ready: () => answers200(`http://127.0.0.1:${port}${probe}`),
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: server.child.pid,
    stop: () => stopServer(server),
  };
}
