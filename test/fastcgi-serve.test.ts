/**
 * `sitebox serve --fastcgi ADDR`: the FastCGI front wired into the request pipeline, over a real
 * unix socket with a raw-record client (fastcgi-client.ts), and behind a real nginx for a rolling
 * restart under load. What the pipeline decides (routes, limits, status page, log lines) must be
 * what HTTP gets; what FastCGI adds (the socket file, REMOTE_ADDR, ABORT_REQUEST) is checked here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { begin, decodePairs, FcgiConn, pairs, rec, requestBytes, TYPE } from "./fastcgi-client.js";
import {
  request,
  runCli,
  sleep,
  startServer,
  tempDir,
  type RunningServer,
  type SiteFiles,
} from "./helpers.js";
import { guideConfig, NGINX, NO_NGINX, startNginx } from "./nginx.js";

/** Over the size static files are read in one go: sent through the front's sendFile. */
const LARGE = Buffer.alloc(300_000);
for (let i = 0; i < LARGE.length; i++) LARGE[i] = (i * 7 + 3) & 255;

const SITES: SiteFiles = {
  default: { "index.js": "export default { fetch: () => new Response('default site') };" },
  blog: { "index.js": "export default { fetch: () => new Response('blog home') };" },
  "example.com": {
    "index.js": "export default { fetch: () => new Response('example home') };",
    "echo.js": `export default { async fetch(request) {
      const body = await request.text();
      return Response.json({ method: request.method, url: request.url, body,
        headers: Object.fromEntries(request.headers) });
    } };`,
    "wait.js": `export default { fetch(request) {
      const id = new URL(request.url).searchParams.get("id");
      console.log("waiting " + id);
      request.signal.addEventListener("abort", () => console.log("client went away " + id));
      return new Promise(() => {});
    } };`,
    "public/small.txt": "small file\n",
    "public/large.bin": LARGE,
    "slow.js": `export default { async fetch() {
      await new Promise((r) => setTimeout(r, 700));
      return new Response("finished");
    } };`,
  },
};

const PARAMS = {
  REQUEST_METHOD: "GET",
  REQUEST_URI: "/",
  HTTP_HOST: "example.com",
  REMOTE_ADDR: "203.0.113.7",
  SERVER_PROTOCOL: "HTTP/1.1",
};

/** One request on a fresh connection to `at`; the CGI head, body and the END_REQUEST status. */
async function fcgi(at: string, params: Record<string, string>, body = "") {
  const c = new FcgiConn(at);
  c.send(requestBytes(1, { ...PARAMS, ...params }, body));
  const r = await c.response(1, 10_000);
  c.close();
  return { ...r, status: Number(/^Status: (\d+)/.exec(r.head)?.[1]), text: r.body.toString() };
}

describe("serve --fastcgi SOCKET --port none", () => {
  let sitebox: RunningServer;
  const dir = tempDir("sitebox-fcgi-sock-");
  const sock = join(dir, "sitebox.sock");

  beforeAll(async () => {
    sitebox = await startServer({
      sites: SITES,
      args: [
        "--fastcgi",
        sock,
        "--port",
        "none",
        "--max-body",
        "1000",
        "--trust-proxy",
        "192.0.2.1",
      ],
    });
  });
  afterAll(() => sitebox?.close());

  it("announces FastCGI only and makes the socket owner/group-only", async () => {
    expect(sitebox.stderr()).toMatch(/serving .* on fastcgi \S+sitebox\.sock \(2 workers/);
    expect(sitebox.port).toBe(0);
    const st = statSync(sock);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
  });

  it("routes by HTTP_HOST, SITEBOX_SITE overrides it, HTTPS sets the scheme", async () => {
    expect((await fcgi(sock, {})).text).toBe("example home");
    expect((await fcgi(sock, { HTTP_HOST: "nobody.test" })).text).toBe("default site");
    expect((await fcgi(sock, { SITEBOX_SITE: "blog" })).text).toBe("blog home");
    const r = await fcgi(sock, { REQUEST_URI: "/echo?a=1&b=%20", HTTPS: "on", HTTP_X_ONE: "1" });
    const seen = JSON.parse(r.text);
    expect(seen.url).toBe("https://example.com/echo?a=1&b=%20");
    expect(seen.headers["x-one"]).toBe("1");
    const missing = await fcgi(sock, { REQUEST_URI: "/nope" });
    expect([missing.status, missing.text]).toEqual([404, "Not Found\n"]);
  });

  it("logs REMOTE_ADDR as the client, in the same access log line as HTTP", async () => {
    await fcgi(sock, { REQUEST_URI: "/?logged=1", REMOTE_ADDR: "198.51.100.4" });
    await sitebox.waitFor(
      /198\.51\.100\.4 - - \[[^\]]+\] "GET \/\?logged=1 HTTP\/1\.1" 200 12 /,
      "stdout",
    );
  });

  it("--trust-proxy applies to REMOTE_ADDR as to an HTTP peer (nginx behind a balancer)", async () => {
    const forwarded = { HTTP_X_FORWARDED_FOR: "198.51.100.77", HTTP_X_FORWARDED_PROTO: "https" };
    const trusted = await fcgi(sock, {
      REQUEST_URI: "/echo?t=1",
      REMOTE_ADDR: "192.0.2.1",
      ...forwarded,
    });
    expect(JSON.parse(trusted.text).url).toBe("https://example.com/echo?t=1");
    await sitebox.waitFor(/198\.51\.100\.77 - - \[[^\]]+\] "GET \/echo\?t=1 /, "stdout");
    // From any other REMOTE_ADDR the headers are the client's own say: ignored.
    const other = await fcgi(sock, { REQUEST_URI: "/echo?t=2", ...forwarded });
    expect(JSON.parse(other.text).url).toBe("http://example.com/echo?t=2");
    await sitebox.waitFor(/203\.0\.113\.7 - - \[[^\]]+\] "GET \/echo\?t=2 /, "stdout");
  });

  it("HEAD gets the head without a body; a body over --max-body gets 413", async () => {
    const head = await fcgi(sock, { REQUEST_METHOD: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.head).toMatch(/content-length: 12/i);
    expect(head.body.length).toBe(0);
    const post = await fcgi(
      sock,
      { REQUEST_METHOD: "POST", REQUEST_URI: "/echo", CONTENT_LENGTH: "5" },
      "hello",
    );
    expect(JSON.parse(post.text).body).toBe("hello");
    const big = "x".repeat(2000);
    const tooBig = await fcgi(
      sock,
      { REQUEST_METHOD: "POST", REQUEST_URI: "/echo", CONTENT_LENGTH: "2000" },
      big,
    );
    expect([tooBig.status, tooBig.text]).toEqual([413, "Payload Too Large\n"]);
  });

  it("serves public/ files, small and large (sendFile), whole and by range", async () => {
    const small = await fcgi(sock, { REQUEST_URI: "/small.txt" });
    expect([small.status, small.text]).toEqual([200, "small file\n"]);
    const large = await fcgi(sock, { REQUEST_URI: "/large.bin" });
    expect(large.status).toBe(200);
    expect(large.body.equals(LARGE)).toBe(true);
    const range = await fcgi(sock, {
      REQUEST_URI: "/large.bin",
      HTTP_RANGE: "bytes=100000-299999",
    });
    expect(range.status).toBe(206);
    expect(range.body.equals(LARGE.subarray(100_000))).toBe(true);
    const head = await fcgi(sock, { REQUEST_URI: "/large.bin", REQUEST_METHOD: "HEAD" });
    expect([head.status, head.body.length]).toEqual([200, 0]);
    expect(head.head).toMatch(/content-length: 300000/i);
  });

  it("serves requests in sequence on one kept-alive connection", async () => {
    const c = new FcgiConn(sock);
    for (const id of [1, 2, 3]) {
      c.send(requestBytes(id, { ...PARAMS, REQUEST_URI: `/echo?n=${id}` }));
      expect(JSON.parse((await c.response(id)).body.toString()).url).toMatch(`n=${id}`);
    }
    expect(c.closed).toBe(false);
    c.close();
  });

  it("the status page follows the loopback rule on REMOTE_ADDR; health is open", async () => {
    const far = await fcgi(sock, { REQUEST_URI: "/.sitebox/status.json" });
    expect(far.status).toBe(403);
    const near = await fcgi(sock, {
      REQUEST_URI: "/.sitebox/status.json",
      REMOTE_ADDR: "127.0.0.1",
    });
    expect(near.status).toBe(200);
    expect(JSON.parse(near.text).workers).toHaveLength(2);
    expect((await fcgi(sock, { REQUEST_URI: "/.sitebox/health" })).status).toBe(200);
  });

  it("ABORT_REQUEST aborts the handler's request.signal", async () => {
    const c = new FcgiConn(sock);
    c.send(requestBytes(1, { ...PARAMS, REQUEST_URI: "/wait?id=ab1" }));
    await sitebox.waitFor(/waiting ab1/);
    c.send(rec(TYPE.ABORT_REQUEST, 1));
    await sitebox.waitFor(/client went away ab1/);
    const r = await c.response(1);
    expect(r.protocolStatus).toBe(0);
    // The connection serves the next request.
    c.send(requestBytes(2, PARAMS));
    expect((await c.response(2)).body.toString()).toBe("example home");
    c.close();
  });

  it("GET_VALUES is answered truthfully: no multiplexing", async () => {
    const c = new FcgiConn(sock);
    c.send(rec(TYPE.GET_VALUES, 0, pairs({ FCGI_MPXS_CONNS: "", FCGI_MAX_CONNS: "" })));
    await c.until(() => c.records.some((r) => r.type === TYPE.GET_VALUES_RESULT));
    const got = decodePairs(c.records.find((r) => r.type === TYPE.GET_VALUES_RESULT)!.content);
    expect(got.FCGI_MPXS_CONNS).toBe("0");
    expect(Number(got.FCGI_MAX_CONNS)).toBeGreaterThan(0);
    c.close();
  });

  it("a malformed record ends that connection with a log line; the server keeps serving", async () => {
    const c = new FcgiConn(sock);
    c.send(Buffer.concat([begin(1, true), Buffer.from([9, 9, 9, 9, 0, 0, 0, 0])]));
    await c.closedPromise();
    await sitebox.waitFor(/fastcgi: protocol error: .*; closing the connection/);
    expect((await fcgi(sock, {})).text).toBe("example home");
  });

  it("SIGTERM finishes the request in flight, exits 0 and removes the socket", async () => {
    const c = new FcgiConn(sock);
    c.send(requestBytes(1, { ...PARAMS, REQUEST_URI: "/slow" }));
    await sleep(200);
    sitebox.proc.kill("SIGTERM");
    expect((await c.response(1, 10_000)).body.toString()).toBe("finished");
    // Draining: the kept-alive connection is closed by the server after the response.
    await c.closedPromise();
    expect(await sitebox.close()).toBe(0);
    expect(existsSync(sock)).toBe(false);
  });
});

describe("the socket path at start-up", () => {
  it("a stale socket from a killed run is replaced; a plain file is a one-line error", async () => {
    const dir = tempDir("sitebox-fcgi-stale-");
    const sock = join(dir, "s.sock");
    const child = spawn(process.execPath, [
      "-e",
      `require("net").createServer().listen(${JSON.stringify(sock)}, () => console.log("up"))`,
    ]);
    await new Promise((r) => child.stdout.once("data", r));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(existsSync(sock)).toBe(true);
    const s = await startServer({ sites: SITES, args: ["--fastcgi", sock, "--port", "none"] });
    expect((await fcgi(sock, {})).text).toBe("example home");
    // A second server on the same live socket is refused, in one line.
    const second = await runCli(["serve", dir, "--fastcgi", sock, "--port", "none"]);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/^sitebox: --fastcgi: .*s\.sock is in use by another server\n$/);
    expect(await s.close()).toBe(0);
    expect(existsSync(sock)).toBe(false);

    const file = join(dir, "not-a-socket");
    writeFileSync(file, "keep me");
    const r = await runCli(["serve", dir, "--fastcgi", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sitebox: --fastcgi: .*not-a-socket exists and is not a socket\n$/);
    expect(existsSync(file)).toBe(true);
  });
});

describe("config errors", () => {
  it("are one line each, exit 2", async () => {
    const dir = tempDir("sitebox-fcgi-cfg-");
    const cases: [string[], RegExp][] = [
      [["--port", "none"], /--port none needs --fastcgi ADDR: nothing would listen/],
      [["--port", "nine"], /--port must be a whole number from 0 to 65535 or "none", not "nine"/],
      [["--fastcgi", "example.com"], /--fastcgi: "example.com" is not HOST:PORT, \[IPv6\]:PORT/],
      [["--fastcgi", "127.0.0.1:70000"], /--fastcgi: "127.0.0.1:70000" is not HOST:PORT/],
      [["--fastcgi"], /--fastcgi needs a value/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(["serve", dir, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});

describe.skipIf(NGINX === null)(`behind nginx over a unix socket (${NGINX ?? NO_NGINX})`, () => {
  it("SIGHUP rolls every worker under FastCGI load with zero failed requests", async () => {
    const dir = tempDir("sitebox-fcgi-roll-");
    const sock = join(dir, "sitebox.sock");
    // HTTP stays open beside FastCGI here, for the status page's worker list.
    const s = await startServer({ sites: SITES, args: ["--fastcgi", sock] });
    const nginx = await startNginx((port) =>
      guideConfig("fastcgi", { port, upstreams: [`unix:${sock}`], sitesDir: s.dir }),
    );
    const pids = async () =>
      (
        JSON.parse((await request(s.url, "/.sitebox/status.json")).text).workers as {
          pid: number;
        }[]
      ).map((w) => w.pid);
    try {
      const before = await pids();
      let stop = false;
      let ok = 0;
      const failures: string[] = [];
      const agent = new http.Agent({ keepAlive: true, maxSockets: 6 });
      const clients = Array.from({ length: 6 }, async (_, i) => {
        while (!stop) {
          const post = i % 3 === 0;
          try {
            const r = await new Promise<{ status: number; text: string }>((resolve, reject) => {
              const req = http.request(
                `${nginx.url}${post ? "/echo" : "/"}`,
                { method: post ? "POST" : "GET", headers: { host: "example.com" }, agent },
                (res) => {
                  let text = "";
                  res.on("data", (d) => (text += d));
                  res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
                },
              );
              req.on("error", reject);
              req.end(post ? "posted" : undefined);
            });
            const want = post ? r.text.includes('"body":"posted"') : r.text === "example home";
            if (r.status === 200 && want) ok++;
            else failures.push(`${r.status} ${r.text.slice(0, 80)}`);
          } catch (e) {
            failures.push(String(e));
          }
        }
      });
      await sleep(300);
      s.proc.kill("SIGHUP");
      const end = Date.now() + 20_000;
      for (;;) {
        const now = await pids().catch(() => before);
        if (now.length === 2 && now.every((p) => !before.includes(p))) break;
        if (Date.now() > end) throw new Error("the roll did not finish");
        await sleep(100);
      }
      await sleep(300);
      stop = true;
      await Promise.all(clients);
      agent.destroy();
      expect(failures, nginx.errorLog()).toEqual([]);
      expect(ok).toBeGreaterThan(50);
      expect(nginx.errorLog()).not.toMatch(/\[error\]/);
    } finally {
      await nginx.stop();
      await s.close();
    }
  });
});
