// The yardstick for `npm run bench`: the smallest useful node:http server, on node:cluster with
// the same number of workers as sitebox, so the ratio measures sitebox's own cost per request.
//
//   node bench/baseline-server.js [--workers N] [--port P]
//
// When every worker listens, the primary prints one line on stderr:
//   baseline: listening on http://127.0.0.1:PORT (N workers, pid P, worker pids A,B)
// The worker pids let the bench read each worker's RSS from /proc.
import cluster from "node:cluster";
import http from "node:http";
import { parseArgs } from "node:util";

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
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("Hello, world!");
  });
  // In a cluster every worker's listen(0) gets the same port, chosen by the primary.
  server.listen(port, "127.0.0.1", () => process.send({ port: server.address().port }));
  // The primary is gone: nothing would stop this worker otherwise.
  process.on("disconnect", () => process.exit(0));
}
