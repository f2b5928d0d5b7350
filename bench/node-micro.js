// Node-side pieces of a request measured alone, in this process (CPU µs per call, so other
// processes' load does not count): the worker's own functions from dist/ where they are exported,
// and what they stand for where they are not (the access line as exchange.ts builds it). These are
// lower bounds (warm caches, no HTTP), to read beside node-steps' profile of the real server.
import fs from "node:fs";
import { createHistogram } from "node:perf_hooks";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./common.js";
import { medianCpuPerCall } from "./sandbox-harness.js";
import { makeSites } from "./servers.js";

const dist = (file) => import(pathToFileURL(path.join(ROOT, "dist", file)).href);

/** A sink that accepts what serveStatic writes and does nothing with it. */
const nullSink = { head() {}, end() {}, sendFile: (fd) => fs.closeSync(fd) };

export async function microCosts() {
  const { siteForHost, decodePath, matchRoute, buildRouteIndex } = await dist("router.js");
  const { clfDate, clfQuote } = await dist("log.js");
  const { serveStatic } = await dist("static.js");
  const { openContained } = await dist("contained-open.js");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sitebox-micro-"));
  makeSites(dir);
  const publicRoot = fs.realpathSync(path.join(dir, "default/public"));
  const names = new Set(["default", "example.com", "shop.example.org"]);
  const files = ["index.js", "page.js", "api/items.js", "api/echo.js", "_lib/data.js"];
  const index = buildRouteIndex(files, null);
  const req = {
    method: "GET",
    url: "/style.css",
    httpVersion: "1.1",
    headers: { host: "127.0.0.1:8080", "user-agent": "wrk" },
    socket: { remoteAddress: "127.0.0.1" },
    header: (name) => req.headers[name],
  };
  const histogram = createHistogram();
  const rows = [
    [
      "routing: siteForHost + decodePath + matchRoute (hello)",
      () => matchRoute(index, decodePath("/") ?? []) && siteForHost("127.0.0.1:8080", names),
    ],
    [
      "access line: clfDate + 3 clfQuote + the template string",
      () =>
        `${req.socket.remoteAddress} - - ${clfDate()} "${clfQuote(`${req.method} ${req.url} HTTP/${req.httpVersion}`)}" ` +
        `200 13 "${clfQuote(req.headers.referer)}" "${clfQuote(req.headers["user-agent"])}"`,
    ],
    [
      "latency: performance.now() + histogram.record",
      () => histogram.record(Math.max(1, Math.round(performance.now() * 1000) % 1e6)),
    ],
    ["Date.now()", () => Date.now()],
    [
      "static file 2 KB: serveStatic (contained open, fstat, read, close)",
      () => serveStatic(req, nullSink, publicRoot, "style.css"),
    ],
    [
      "  of which openContained + close (O_PATH open, fstat, readlink, open, close)",
      () => fs.closeSync(openContained(publicRoot, path.join(publicRoot, "style.css")).fd),
    ],
    [
      "  of which fs.realpathSync.native (a readlink per path segment)",
      () => fs.realpathSync.native(path.join(publicRoot, "style.css")),
    ],
    ["  of which fs.statSync", () => fs.statSync(path.join(publicRoot, "style.css"))],
    ["  of which Last-Modified: new Date().toUTCString()", () => new Date().toUTCString()],
    [
      "  of which open + read 2 KB + close",
      () => {
        const fd = fs.openSync(path.join(publicRoot, "style.css"), "r");
        fs.readSync(fd, Buffer.allocUnsafe(2048), 0, 2048, 0);
        fs.closeSync(fd);
      },
    ],
  ];
  const out = rows.map(([label, fn]) => ({ label, us: medianCpuPerCall(fn) }));
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}
