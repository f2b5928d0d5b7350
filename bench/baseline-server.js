// The yardstick for `npm run bench`: plain node:http on node:cluster with the same number of workers
// as sitebox, answering every workload (workloads.js) with the same bytes: hello, the JSON API
// (from the query string, as the site's handler reads it), the static file from memory, the
// template page (the site's own template module) and the JSON echo.
//
//   node bench/baseline-server.js [--workers N] [--port P]
//
// When every worker listens, the primary prints one line on stderr:
//   baseline: listening on http://127.0.0.1:PORT (N workers, pid P, worker pids A,B)
// The worker pids let the bench read each worker's RSS from /proc.
import cluster from "node:cluster";
import http from "node:http";
import { parseArgs } from "node:util";
import fs from "node:fs";
import { item, pageData } from "./site/_lib/data.js";
import { renderPage } from "./site/_lib/template.js";
import { STATIC_FILE } from "./workloads.js";

const { values } = parseArgs({
  options: {
    workers: { type: "string", default: "2" },
    port: { type: "string", default: "0" },
  },
});
const workers = Number(values.workers);
const port = Number(values.port);

if (cluster.isPrimary) startPrimary();
else startWorker();

function startPrimary() {
  const listening = new Map(); // worker pid → port
  for (let i = 0; i < workers; i++) {
    const worker = cluster.fork();
    worker.on("message", (msg) => {
      listening.set(worker.process.pid, msg.port);
      if (listening.size === workers) announce(listening);
    });
  }
  let stopping = false;
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    // An unexpected worker death would skew the numbers: stop loudly instead of respawning.
    process.stderr.write(`baseline: worker ${worker.process.pid} died (${signal ?? code})\n`);
    process.exit(1);
  });
  // Disconnecting lets each worker exit normally, so that a --cpu-prof profile gets written.
  const stop = () => {
    stopping = true;
    cluster.disconnect();
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

function announce(listening) {
  const ports = new Set(listening.values());
  const pids = [...listening.keys()].join(",");
  process.stderr.write(
    `baseline: listening on http://127.0.0.1:${[...ports][0]} ` +
      `(${workers} workers, pid ${process.pid}, worker pids ${pids})\n`,
  );
}

function startWorker() {
  const css = fs.readFileSync(STATIC_FILE);
  const cssStat = fs.statSync(STATIC_FILE);
  const cssHeaders = {
    "content-type": "text/css; charset=utf-8",
    "content-length": css.length,
    "last-modified": cssStat.mtime.toUTCString(),
    etag: `W/"${css.length.toString(16)}-${Math.floor(cssStat.mtimeMs).toString(16)}"`,
  };
  const send = (res, type, text) => {
    res.writeHead(200, { "content-type": type, "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  const server = http.createServer((req, res) => {
    const q = req.url.indexOf("?");
    const pathname = q === -1 ? req.url : req.url.slice(0, q);
    if (pathname === "/") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("Hello, world!");
    } else if (pathname === "/api/items") {
      const url = new URL(req.url, `http://${req.headers.host}`);
      const n = Math.min(1000, Number(url.searchParams.get("n") ?? 10) || 0);
      const items = Array.from({ length: n }, (_, i) => item(i));
      send(res, "application/json", JSON.stringify({ items }));
    } else if (pathname === "/style.css") {
      res.writeHead(200, cssHeaders);
      res.end(css);
    } else if (pathname === "/page") {
      send(res, "text/html; charset=utf-8", renderPage(pageData()));
    } else if (pathname === "/api/echo" && req.method === "POST") {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        let text;
        try {
          text = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        } catch {
          res.writeHead(400).end();
          return;
        }
        send(res, "application/json", text);
      });
    } else {
      res.writeHead(404).end();
    }
  });
  // In a cluster every worker's listen(0) gets the same port, chosen by the primary.
  server.listen(port, "127.0.0.1", () => process.send({ port: server.address().port }));
  // The primary is gone: nothing would stop this worker otherwise.
  process.on("disconnect", () => process.exit(0));
}
