/**
 * Real servers for tests: a temp sites folder, the CLI spawned on port 0, and a small HTTP client
 * that can set the Host header (fetch cannot).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI = join(ROOT, "bin/sitebox.js");

export type Files = Record<string, string | Buffer>;
/** site name → its files, e.g. { default: { "index.js": "..." } } */
export type SiteFiles = Record<string, Files>;

export function tempDir(prefix = "sitebox-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeFiles(dir: string, files: Files): void {
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
}

export function makeSites(sites: SiteFiles): string {
  const dir = tempDir();
  for (const [site, files] of Object.entries(sites)) {
    mkdirSync(join(dir, site), { recursive: true });
    writeFiles(join(dir, site), files);
  }
  return dir;
}

export interface RunningServer {
  url: string;
  port: number;
  dir: string;
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when `pattern` appears in stderr (or stdout with `stream`). */
  waitFor(pattern: RegExp, stream?: "stderr" | "stdout", timeoutMs?: number): Promise<string>;
  close(): Promise<number | null>;
}

export interface StartOptions {
  sites?: SiteFiles;
  dir?: string;
  args?: string[];
  workers?: number;
  env?: Record<string, string>;
}

/**
 * For servers whose requests run many checks in one go: --timeout bounds a run of site code by the
 * wall clock, and on a loaded machine such a run can take seconds without being a runaway.
 */
export const BATCH_ARGS = ["--timeout", "15000"];

/** Spawns `sitebox serve DIR --port 0` (a later --port wins) and waits for its "serving" line. */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const dir = opts.dir ?? makeSites(opts.sites ?? {});
  const args = [
    CLI,
    "serve",
    dir,
    "--port",
    "0",
    "--workers",
    String(opts.workers ?? 2),
    ...(opts.args ?? []),
  ];
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  proc.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  });
  proc.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    for (const l of listeners) l();
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.once("exit", (code) => resolve(code)),
  );
  const waitFor = (pattern: RegExp, stream: "stderr" | "stdout" = "stderr", timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(stream === "stderr" ? err : out);
        if (m) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve(m[0]);
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out waiting for ${pattern}\nstderr:\n${err}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  const line = await Promise.race([
    waitFor(/serving .* on (?:http:\/\/[^:]+:\d+|fastcgi \S+) \(/),
    exited.then((code) => {
      throw new Error(`server exited (${code}) before serving:\n${err}`);
    }),
  ]);
  // 0 with --port none (FastCGI only)
  const port = Number(/^serving .* on http:\/\/[^:]+:(\d+) \($/.exec(line)?.[1] ?? 0);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    proc,
    stdout: () => out,
    stderr: () => err,
    waitFor,
    async close() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const code = await exited;
      if (opts.dir === undefined) rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** A fresh connection per request (so requests rotate over the workers). */
  fresh?: boolean;
  timeoutMs?: number;
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One HTTP request; `path` may be a full URL or a path on `base`. */
export function request(base: string, path: string, opts: RequestOptions = {}): Promise<Reply> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: opts.method ?? "GET",
        headers: opts.headers,
        agent: opts.fresh ? false : keepAlive,
        timeout: opts.timeoutMs ?? 20_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text: body.toString(),
          });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`request to ${path} timed out`)));
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** Runs the CLI to completion (for bad flags and `demo`). */
export function runCli(
  args: string[],
  timeoutMs = 60_000,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d: Buffer) => (stdout += d));
    proc.stderr.on("data", (d: Buffer) => (stderr += d));
    // SIGINT first: a demo cleans up its servers and temp folders on it.
    const timer = setTimeout(() => proc.kill("SIGINT"), timeoutMs);
    const hard = setTimeout(() => proc.kill("SIGKILL"), timeoutMs + 5000);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      clearTimeout(hard);
      resolve({ code, stdout, stderr });
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
