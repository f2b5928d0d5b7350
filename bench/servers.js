// The servers under test: the node:http baseline and sitebox, their sites and their memory figures.
import fs from "node:fs";
import path from "node:path";
import { ROOT, writeFiles } from "./common.js";
import { startServer, stopServer } from "./proc.js";
import { SITE_DIR } from "./workloads.js";

/** The benchmark site (bench/site/: the workloads' routes and static file) as `dir`/default. */
export function makeSites(dir) {
  fs.cpSync(SITE_DIR, path.join(dir, "default"), { recursive: true });
}

/** A small site for Host `name`: a route that imports a helper, so a load is two modules. */
export function makeHostSite(sitesDir, name) {
  writeFiles(path.join(sitesDir, name), {
    "index.js": `import { greet } from "./_lib/greet.js";

export default {
  fetch(request) {
    return new Response(greet(new URL(request.url).hostname), {
      headers: { "content-type": "text/plain" },
    });
  },
};
`,
    "_lib/greet.js": `export function greet(host) {
  return \`Hello from \${host}!\`;
}
`,
  });
}

/**
 * Node flags that make every process of a server write a .cpuprofile into its own folder. Node 20
 * refuses --cpu-prof in NODE_OPTIONS; as a flag of the primary it reaches the workers too, since
 * cluster.fork() passes on process.execArgv.
 */
function profileArgs(profile, tmp, name, intervalUs) {
  if (!profile) return { nodeArgs: [], profileDir: null };
  const profileDir = path.join(tmp, `profile-${name}`);
  fs.mkdirSync(profileDir);
  const interval = intervalUs ? [`--cpu-prof-interval=${intervalUs}`] : [];
  return { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, ...interval], profileDir };
}

export async function startBaseline(opts, tmp) {
  const name = opts.profile ? `baseline-${fs.readdirSync(tmp).length}` : "baseline";
  const { nodeArgs, profileDir } = profileArgs(opts.profile, tmp, name, opts.profileIntervalUs);
  const server = await startServer({
    label: "baseline (node:http)",
    args: [
      ...nodeArgs,
      path.join(ROOT, "bench/baseline-server.js"),
      ...["--workers", String(opts.workers)],
    ],
    ready: /listening on http:\/\/127\.0\.0\.1:(\d+) .*pid (\d+), worker pids ([\d,]+)/,
    logFile: path.join(tmp, "baseline.log"),
  });
  server.port = Number(server.match[1]);
  server.pid = Number(server.match[2]);
  server.workerPids = server.match[3].split(",").map(Number);
  server.profileDir = profileDir;
  return server;
}

/**
 * Starts sitebox over `sitesDir` (default: the benchmark site) with `flags` added; `name` labels
 * its log file, its profile folder and its stderr lines in the report, so it must be unique.
 */
export async function startSitebox(opts, tmp, name, cache, more = {}) {
  const { sitesDir = path.join(tmp, "sites"), flags = [], profile = opts.profile } = more;
  const { nodeArgs, profileDir } = profileArgs(profile, tmp, name, opts.profileIntervalUs);
  const server = await startServer({
    label: `sitebox (${name})`,
    args: [
      ...nodeArgs,
      path.join(ROOT, "bin/sitebox.js"),
      "serve",
      sitesDir,
      ...["--port", "0", "--workers", String(opts.workers), "--cache", cache, ...flags],
    ],
    ready: /serving .* on http:\/\/127\.0\.0\.1:(\d+) .*pid (\d+)/,
    logFile: path.join(tmp, `sitebox-${name}.log`),
  });
  server.port = Number(server.match[1]);
  server.pid = Number(server.match[2]);
  server.profileDir = profileDir;
  return server;
}

/**
 * Runs `fn(server)` against a sitebox started for it (no profiling). Its stderr lines are kept:
 * the "sitebox: ..." ones (generation live, rolling restart) as info, the rest as complaints.
 */
export async function withSitebox(ctx, name, cache, more, fn) {
  const server = await startSitebox(ctx.opts, ctx.tmp, name, cache, { ...more, profile: false });
  try {
    return await fn(server);
  } finally {
    await stopServer(server);
    const info = server.stderr.filter((line) => line.startsWith("sitebox: "));
    const rest = server.stderr.filter((line) => !line.startsWith("sitebox: "));
    if (info.length) ctx.serverInfo[server.label] = info;
    if (rest.length) ctx.serverLogs[server.label] = rest;
  }
}
