// CPU starvation (issue 9, item 14): a healthy site under wrk while 8 clients keep asking another
// site for a route that loops until --timeout (1 s, the default). Each such request holds a
// worker for a second; the cool-down (src/breaker.ts) answers the looping site 503 at once after
// a few. For reference, the same 8 clients asking a site that answers 503 at once: what their
// requests cost by themselves, which no defence against loops can take away.
import http from "node:http";
import path from "node:path";
import { fmtMs, printGrid, progress, writeFiles } from "./common.js";
import { withSitebox } from "./servers.js";
import { runWrk } from "./wrk.js";

const ATTACKERS = 8;

export async function runStarvation(ctx) {
  const sitesDir = path.join(ctx.tmp, "starvation-sites");
  writeFiles(sitesDir, {
    "default/index.js": "export default () => new Response('healthy');\n",
    "looper/index.js": "export default () => { for (;;) {} };\n",
    "cheap/index.js": "export default () => new Response('busy', { status: 503 });\n",
  });
  const seconds = ctx.opts.duration;
  progress(`starvation: healthy site under wrk ${seconds} s, alone and beside 8 clients ...`);
  return withSitebox(ctx, "starvation", "watch", { sitesDir }, async (server) => {
    const url = `http://127.0.0.1:${server.port}/`;
    await runWrk(ctx.opts, 1, url); // warm-up
    const rows = [];
    for (const [label, host] of [
      ["healthy site alone", null],
      [`+ ${ATTACKERS} clients asking a 503-at-once site`, "cheap"],
      [`+ ${ATTACKERS} clients asking a site that loops to --timeout`, "looper"],
    ]) {
      const before = server.stderr.length;
      const attack = host === null ? null : attackers(server.port, host);
      const wrk = await runWrk(ctx.opts, seconds, url);
      const answers = attack === null ? [] : await attack.stop();
      const lines = server.stderr.slice(before);
      rows.push({
        label,
        ...wrk,
        attackerAnswers: answers.length,
        attackerSlow: answers.filter((a) => a.ms >= 500).length,
        loopsRun: lines.filter((l) => /site=looper: sandbox abandoned/.test(l)).length,
        coolDowns: lines.filter((l) => /site=looper: .*cool-down/.test(l)).length,
      });
    }
    // The looper's lines are the point of this section, not a problem of the server's.
    const rest = server.stderr.filter((l) => !/ site=looper[ :]/.test(l));
    server.stderr.splice(0, server.stderr.length, ...rest);
    return { seconds, attackers: ATTACKERS, rows };
  });
}

/** ATTACKERS keep-alive clients, each asking `host` again as soon as it has an answer. */
function attackers(port, host) {
  let stop = false;
  const answers = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: ATTACKERS });
  const one = () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = http.get(
        { host: "127.0.0.1", port, path: "/", agent, headers: { host } },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode, ms: performance.now() - t0 }));
        },
      );
      req.on("error", () => resolve({ status: 0, ms: performance.now() - t0 }));
    });
  const done = Promise.all(
    Array.from({ length: ATTACKERS }, async () => {
      while (!stop) answers.push(await one());
    }),
  );
  return {
    async stop() {
      stop = true;
      await done;
      agent.destroy();
      return answers;
    },
  };
}

export function printStarvation(r) {
  console.log(
    `\nCPU starvation: the healthy site under wrk (${r.seconds} s each), beside ${r.attackers} ` +
      "clients asking another site (--timeout 1000, 2 workers)",
  );
  printGrid(
    ["load", "healthy req/s", "p50", "p99", "other answers", "of them >= 0.5 s", "loops run"],
    r.rows.map((x) => [
      x.label,
      x.rps.toFixed(0),
      fmtMs(x.p50Ms),
      fmtMs(x.p99Ms),
      String(x.attackerAnswers),
      String(x.attackerSlow),
      String(x.loopsRun),
    ]),
  );
}
