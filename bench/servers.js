// The servers under test: the node:http baseline and sitebox, their sites and their memory figures.
import fs from "node:fs";
import path from "node:path";
import { BenchError, ROOT, writeFiles } from "./common.js";
import { startServer, stopServer } from "./proc.js";

/** The benchmark site: a hello route, a JSON route with an import, a static file. */
export function makeSites(dir) {
  writeFiles(dir, {
    "default/index.js": `export default {
  fetch() {
    return new Response("Hello, world!", { headers: { "content-type": "text/plain" } });
  },
};
`,
    "default/api/json.js": `import { describe } from "./_lib/x.js";

export default {
  fetch(request) {
    return Response.json(describe(new URL(request.url).pathname));
  },
};
`,
    "default/api/_lib/x.js": `export function describe(path) {
  return { path, ok: true, items: [1, 2, 3], nested: { greeting: "Hello, world!" } };
}
`,
    "default/public/static.txt": "Hello, static world!\n",
  });
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
function profileArgs(profile, tmp, name) {
  if (!profile) return { nodeArgs: [], profileDir: null };
  const profileDir = path.join(tmp, `profile-${name}`);
  fs.mkdirSync(profileDir);
  return { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`], profileDir };
}

export async function startBaseline(opts, tmp) {
  const { nodeArgs, profileDir } = profileArgs(opts.profile, tmp, "baseline");
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
  const { nodeArgs, profileDir } = profileArgs(profile, tmp, name);
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

/** VmRSS of a process in bytes, from /proc (Linux), or null when unreadable. */
function procRss(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export async function siteboxStatus(server) {
  const res = await fetch(`http://127.0.0.1:${server.port}/.sitebox/status.json`);
  if (!res.ok) throw new BenchError(`status.json answered ${res.status}`);
  return res.json();
}

/** Per-worker memory after a run: from the status page for sitebox, /proc for the baseline. */
export async function workerMemory(server) {
  if (server.workerPids)
    return server.workerPids.map((pid) => ({ pid, rssBytes: procRss(pid), sandboxBytes: null }));
  const status = await siteboxStatus(server);
  return status.workers.map((w) => ({
    pid: w.pid,
    rssBytes: w.rssBytes,
    sandboxBytes: w.sandboxBytes,
    requests: w.requests,
  }));
}
