/**
 * A private nginx for tests: its own prefix folder (config, pid, logs, temp paths), loopback only,
 * a free port, `-g 'daemon off;'`, stopped by the test. The server blocks come from the operator's
 * guide (docs/operations.md), so the configuration the guide shows is the one the tests run.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { ROOT, tempDir } from "./helpers.js";

/** The nginx binary, or null (the tests that need it skip, saying so). */
export function findNginx(): string | null {
  for (const p of ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"])
    if (existsSync(p)) return p;
  const which = spawnSync("sh", ["-c", "command -v nginx"], { encoding: "utf8" });
  return which.status === 0 && which.stdout.trim() !== "" ? which.stdout.trim() : null;
}

export const NGINX = findNginx();
export const NO_NGINX = "nginx not found (apt-get install nginx): skipped";

export type GuideBlock = "http" | "fastcgi";

export interface GuideValues {
  /** The port nginx listens on (127.0.0.1). */
  port: number;
  /** The upstream's servers, "127.0.0.1:PORT" each; they keep the guide's parameters. */
  upstreams: string[];
  sitesDir: string;
}

/** The guide's `nginx-NAME` block, as written there. */
export function guideBlock(name: GuideBlock): string {
  const text = readFileSync(join(ROOT, "docs/operations.md"), "utf8");
  const marker = `<!-- tested: nginx-${name} `;
  const at = text.indexOf(marker);
  if (at === -1) throw new Error(`docs/operations.md has no "${marker}" block`);
  const m = /```nginx\n([\s\S]*?)```/.exec(text.slice(at));
  if (m === null) throw new Error(`docs/operations.md: no nginx code block after ${marker}`);
  return m[1]!;
}

function replaceOnce(text: string, from: RegExp, to: string, name: string): string {
  const hits = text.match(new RegExp(from.source, from.flags + "g"))?.length ?? 0;
  if (hits !== 1)
    throw new Error(`the guide's nginx-${name} block: expected one ${from}, got ${hits}`);
  return text.replace(from, to);
}

/** The guide's block with this test's port, upstream servers and sites folder put in. */
export function guideConfig(name: GuideBlock, v: GuideValues): string {
  let conf = guideBlock(name);
  conf = replaceOnce(conf, /^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${v.port};`, name);
  conf = replaceOnce(conf, /^(\s*)root \/srv\/sitebox\/sites;$/m, `$1root ${v.sitesDir};`, name);
  const server = /^(\s*)server 127\.0\.0\.1:\d+( [^;]*)?;$/m;
  const [, indent, params] = server.exec(conf) ?? [];
  const lines = v.upstreams.map((u) => `${indent}server ${u}${params ?? ""};`).join("\n");
  return replaceOnce(conf, server, lines, name);
}

/** The main context around a server block: everything nginx writes stays in `dir`. */
function mainConfig(dir: string, httpBlock: string): string {
  const tmp = (n: string) => `${n}_temp_path ${join(dir, "tmp", n)};`;
  return `
${process.getuid?.() === 0 ? "user root;" : ""}
worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} warn;
events { worker_connections 1024; }
http {
  access_log ${join(dir, "access.log")};
  ${tmp("client_body")} ${tmp("proxy")} ${tmp("fastcgi")} ${tmp("uwsgi")} ${tmp("scgi")}
  types { text/plain txt; text/html html; text/css css; image/png png; }
  default_type application/octet-stream;
${httpBlock}
}
`;
}

export interface RunningNginx {
  port: number;
  url: string;
  dir: string;
  errorLog(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A free loopback port (bound and released: a tiny race another process could win). */
export const pickPort = freePort;

/** Checks a configuration with `nginx -t`; resolves with nginx's output, throws if it fails. */
export function checkConfig(httpBlock: string): string {
  const dir = tempDir("sitebox-nginx-");
  try {
    mkdirSync(join(dir, "tmp"), { recursive: true });
    writeFileSync(join(dir, "nginx.conf"), mainConfig(dir, httpBlock));
    const r = spawnSync(NGINX!, ["-t", "-p", dir, "-c", join(dir, "nginx.conf")], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`nginx -t failed:\n${r.stderr}`);
    return r.stderr;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts nginx with `conf(port)` as its http-level configuration, on a free port, and waits until
 * it accepts connections.
 */
export async function startNginx(conf: (port: number) => string): Promise<RunningNginx> {
  if (NGINX === null) throw new Error(NO_NGINX);
  const dir = tempDir("sitebox-nginx-");
  mkdirSync(join(dir, "tmp"), { recursive: true });
  const port = await freePort();
  const confFile = join(dir, "nginx.conf");
  writeFileSync(confFile, mainConfig(dir, conf(port)));
  const proc: ChildProcess = spawn(NGINX, ["-p", dir, "-c", confFile, "-g", "daemon off;"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d));
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  const errorLog = () => {
    const f = join(dir, "error.log");
    return (existsSync(f) ? readFileSync(f, "utf8") : "") + stderr;
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited at start:\n${errorLog()}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => (s.destroy(), resolve(true)));
      s.on("error", () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`nginx did not listen on ${port}:\n${errorLog()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    dir,
    errorLog,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
