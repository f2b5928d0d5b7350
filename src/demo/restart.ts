/**
 * Deploying by stopping the server and starting it again (apachectl restart, systemctl restart)
 * refuses every connection in between. SIGHUP re-reads the sites and replaces the workers one at
 * a time, each replacement ready before the old worker drains: no request is refused.
 */
import * as h from "./harness.js";
import { freePort, status, summarize, traffic, type TrafficResult } from "./ops.js";

const HELLO = `export default { fetch() { return new Response("hello"); } };\n`;
const PACE_MS = 5;

/** 2 clients on fresh connections and 2 on keep-alive ones, counted apart. */
function load(s: h.Server) {
  const t0 = performance.now();
  const fresh = traffic(s, { clients: 2, paceMs: PACE_MS, timeoutMs: 3000 });
  const kept = traffic(s, { clients: 2, paceMs: PACE_MS, timeoutMs: 3000, keepAlive: true });
  return {
    async stop() {
      const [f, k] = await Promise.all([fresh.stop(), kept.stop()]);
      return {
        fresh: f,
        kept: k,
        all: summarize([...f.outcomes, ...k.outcomes], t0, performance.now()),
      };
    },
  };
}

const row = (
  name: string,
  r: { fresh: TrafficResult; kept: TrafficResult; all: TrafficResult },
) => [
  name,
  String(r.all.outcomes.length),
  String(r.fresh.failed),
  String(r.kept.failed),
  h.ms(r.all.gap),
];
const HEAD = ["", "requests", "failed (fresh)", "failed (keep-alive)", "longest with no answer"];

export async function run(): Promise<boolean> {
  const { sites } = h.makeSite({ "index.js": HELLO });
  h.say(
    `4 clients, each starting a request every ${PACE_MS} ms: 2 on a fresh connection per request, 2 on\n` +
      `  keep-alive connections. ${h.WORKERS} workers on a fixed port.`,
  );

  h.section(
    "PITFALL",
    "a deploy that stops the server and starts it again (apachectl restart, systemctl restart,\n" +
      "or any server that must restart to pick up code): in between, nothing listens.",
  );
  const port = await freePort();
  let s = await h.serve(sites, "watch", { port });
  let l = load(s);
  await h.sleep(1000);
  const t0 = performance.now();
  await s.stop();
  const down = performance.now() - t0;
  s = await h.serve(sites, "watch", { port });
  const up = performance.now() - t0;
  await h.sleep(500);
  const cold = await l.stop();
  h.say(
    `SIGTERM: the old server drained and exited in ${h.ms(down)}; the new one was serving\n` +
      `  ${h.ms(up)} after the SIGTERM (a real deploy adds whatever its start-up takes).`,
  );
  h.table(HEAD, [row("stop + start", cold)]);
  h.say(`failed: fresh ${cold.fresh.failures}; keep-alive ${cold.kept.failures}.`);

  h.section(
    "FIX",
    "kill -HUP: the primary re-reads every site and replaces the workers one at a time; each\n" +
      "replacement is ready before the old worker stops taking connections and drains. The\n" +
      "listening socket never closes. The same load, on the server just started:",
  );
  const pids = (await status(s)).workers.map((w) => w.pid);
  l = load(s);
  await h.sleep(1000);
  const t1 = performance.now();
  process.kill(s.pid, "SIGHUP");
  let now = pids;
  while (performance.now() - t1 < 10_000) {
    await h.sleep(100);
    now = (await status(s)).workers.map((w) => w.pid);
    if (now.length === h.WORKERS && now.every((p) => !pids.includes(p))) break;
  }
  const rolled = performance.now() - t1;
  await h.sleep(500);
  const hup = await l.stop();
  for (const line of h.logLines(s, /SIGHUP|recycling/)) h.say(`log: ${line}`);
  h.say(`workers ${pids.join(", ")} → ${now.join(", ")} in ${h.ms(rolled)}.`);
  h.table(HEAD, [row("stop + start", cold), row("SIGHUP", hup)]);
  h.say(`failed: fresh ${hup.fresh.failures}; keep-alive ${hup.kept.failures}.`);
  if (hup.kept.failed > 0)
    h.section(
      "NOTE",
      `${hup.kept.failed} request(s) on reused keep-alive connections were reset: a draining worker\n` +
        "closes its idle keep-alive connections, and a request already on its way on one is lost.\n" +
        "Browsers and most HTTP clients retry such a request; Node's http.Agent does not.",
    );
  await s.stop();

  const ok = cold.all.failed > 0 && hup.fresh.failed === 0 && now.every((p) => !pids.includes(p));
  return h.verdict(
    "restart",
    ok,
    `stop + start: ${cold.all.failed} of ${cold.all.outcomes.length} requests failed, no answer ` +
      `for ${h.ms(cold.all.gap)}; SIGHUP: every worker replaced in ${h.ms(rolled)}, ` +
      `${hup.fresh.failed} of ${hup.fresh.outcomes.length} failed on fresh connections ` +
      `(${hup.kept.failed} of ${hup.kept.outcomes.length} on keep-alive), longest with no ` +
      `answer ${h.ms(hup.all.gap)}.`,
  );
}
