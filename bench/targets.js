// The servers the throughput section compares, side by side in one run. An entry starts its
// server and resolves with { url, roots(): pids whose process trees are measured, stop() }.
// Adding a target is one entry (nginx in front of anything: anchors/nginx.js startNginx).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { startApache } from "./anchors/apache.js";
import { startPhpFpm } from "./anchors/php-fpm.js";
import { startNginx } from "./anchors/nginx.js";
import { WEB_USER, asRoot, sharedDir } from "./anchors/common.js";
import { stopServer } from "./proc.js";
import { makeSites, startBaseline, startSitebox } from "./servers.js";

/**
 * `group`: "main" runs by default, "anchor" with --anchors, "extra" only when named by --targets.
 * The first entry is the one every ratio is taken against.
 */
export const TARGETS = [
  { name: "sitebox", label: "sitebox", group: "main", start: (c) => sitebox(c, "watch") },
  { name: "node", label: "node:http", group: "main", start: baseline },
  { name: "mod_python", label: "Apache+mod_python", group: "anchor", start: startApache },
  { name: "php-fpm", label: "nginx→php-fpm", group: "anchor", start: startPhpFpm },
  { name: "nginx-fastcgi", label: "nginx→sitebox FastCGI", group: "anchor", start: nginxFastcgi },
  { name: "nginx-http", label: "nginx→sitebox HTTP", group: "extra", start: nginxHttp },
  { name: "stat", label: "sitebox --cache stat", group: "extra", start: (c) => sitebox(c, "stat") },
  { name: "none", label: "sitebox --cache none", group: "extra", start: (c) => sitebox(c, "none") },
];

function siteboxSites(ctx) {
  const dir = path.join(ctx.tmp, "sites");
  if (!fs.existsSync(dir)) makeSites(dir);
  return dir;
}

/** `name` labels the server's log and profile folder: one per target, as targets run together. */
async function sitebox(ctx, cache, flags = [], name = `throughput-${cache}`) {
  const more = { sitesDir: siteboxSites(ctx), flags };
  const server = await startSitebox(ctx.opts, ctx.tmp, name, cache, more);
  return {
    url: `http://127.0.0.1:${server.port}`,
    roots: () => [server.pid],
    stop: async () => {
      await stopServer(server);
      if (server.stderr.length) ctx.serverLogs[server.label] = server.stderr;
    },
    server,
  };
}

async function baseline(ctx) {
  const server = await startBaseline(ctx.opts, ctx.tmp);
  return {
    url: `http://127.0.0.1:${server.port}`,
    roots: () => [server.pid],
    stop: () => stopServer(server),
    server,
  };
}

/** nginx → sitebox over HTTP (proxy_pass with kept-alive upstream connections). */
async function nginxHttp(ctx) {
  const back = await sitebox(ctx, "watch", [], "behind-nginx-http");
  const dir = sharedDir(ctx.tmp, "nginx-http");
  const port = back.server.port;
  const locations = `    location / {
      proxy_pass http://sitebox;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }`;
  return behindNginx(ctx, dir, back, {
    upstreams: `  upstream sitebox { server 127.0.0.1:${port}; keepalive 32; }`,
    locations,
  });
}

/**
 * nginx → sitebox over FastCGI on a unix socket, as docs/operations.md configures it (kept-alive
 * upstream connections, fastcgi_keep_conn, nginx's default buffering), beside nginx → php-fpm on
 * its socket.
 */
async function nginxFastcgi(ctx) {
  const dir = sharedDir(ctx.tmp, "nginx-fastcgi");
  const sock = path.join(dir, "sitebox.sock");
  const back = await sitebox(ctx, "watch", ["--fastcgi", sock], "behind-nginx-fastcgi");
  // The socket is owner/group only; as root, nginx's workers run as the web user: give it the
  // socket's group, as an operator adds nginx's user to sitebox's group.
  if (asRoot()) {
    const gid = Number(execFileSync("id", ["-g", WEB_USER], { encoding: "utf8" }).trim());
    fs.chownSync(sock, 0, gid);
  }
  const locations = `    location / {
      include /etc/nginx/fastcgi_params;
      fastcgi_param REQUEST_URI $request_uri;
      fastcgi_keep_conn on;
      fastcgi_pass sitebox_fastcgi;
    }`;
  return behindNginx(ctx, dir, back, {
    upstreams: `  upstream sitebox_fastcgi { server unix:${sock}; keepalive 32; }`,
    locations,
  });
}

/** A private nginx in front of the sitebox `back`; stopping the target stops both. */
async function behindNginx(ctx, dir, back, { upstreams, locations }) {
  let nginx;
  try {
    nginx = await startNginx(ctx, dir, { root: dir, upstreams, locations });
  } catch (err) {
    await back.stop();
    throw err;
  }
  return {
    url: nginx.url,
    roots: () => [nginx.pid, back.server.pid],
    stop: async () => {
      await nginx.stop();
      await back.stop();
    },
  };
}

/** The targets a run measures: --targets names them, else main (+ anchor with --anchors). */
export function pickTargets(opts) {
  if (opts.targets) return TARGETS.filter((t) => opts.targets.includes(t.name));
  return TARGETS.filter((t) => t.group === "main" || (opts.anchors && t.group === "anchor"));
}
