// The servers the throughput section compares, side by side in one run. An entry starts its
// server and resolves with { url, roots(): pids whose process trees are measured, stop() }.
// Adding a target is one entry (nginx in front of anything: anchors/nginx.js startNginx).
import fs from "node:fs";
import path from "node:path";
import { startApache } from "./anchors/apache.js";
import { startPhpFpm } from "./anchors/php-fpm.js";
import { startNginx } from "./anchors/nginx.js";
import { sharedDir } from "./anchors/common.js";
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
  { name: "nginx-http", label: "nginx→sitebox HTTP", group: "extra", start: nginxHttp },
  // nginx → sitebox over FastCGI, once `serve --fastcgi ADDR` exists: start sitebox with it, then
  // startNginx with `fastcgi_pass` to ADDR in `location /`, as nginxHttp does with proxy_pass.
  { name: "stat", label: "sitebox --cache stat", group: "extra", start: (c) => sitebox(c, "stat") },
  { name: "none", label: "sitebox --cache none", group: "extra", start: (c) => sitebox(c, "none") },
];

function siteboxSites(ctx) {
  const dir = path.join(ctx.tmp, "sites");
  if (!fs.existsSync(dir)) makeSites(dir);
  return dir;
}

async function sitebox(ctx, cache, flags = []) {
  const more = { sitesDir: siteboxSites(ctx), flags };
  const server = await startSitebox(ctx.opts, ctx.tmp, `throughput-${cache}`, cache, more);
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
  const back = await sitebox(ctx, "watch");
  const dir = sharedDir(ctx.tmp, "nginx-http");
  const port = back.server.port;
  const locations = `    location / {
      proxy_pass http://sitebox;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }`;
  let nginx;
  try {
    nginx = await startNginx(ctx, dir, {
      root: dir,
      upstreams: `  upstream sitebox { server 127.0.0.1:${port}; keepalive 32; }`,
      locations,
    });
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
