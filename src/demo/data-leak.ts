/**
 * Request data kept in a module-level variable is shared by every request the worker is serving
 * at that moment: with an await in between, bob gets alice's inbox. (mod_python's docs warn that
 * module globals live as long as the interpreter; the same bug exists in every long-lived
 * runtime.) The fix is in the code: keep per-request data in the handler's scope.
 */
import * as h from "./harness.js";

const LEAKY = `// BUG: the current user is module state, shared by concurrent requests of this worker.
let currentUser = null;
export default {
  async fetch(request) {
    currentUser = new URL(request.url).searchParams.get("user");
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 10)); // e.g. a database call
    return new Response("inbox of " + currentUser);
  },
};
`;
const SAFE = `// Per-request data lives in the handler's scope: each request has its own.
export default {
  async fetch(request) {
    const user = new URL(request.url).searchParams.get("user");
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
    return new Response("inbox of " + user);
  },
};
`;

interface Run {
  requests: number;
  leaks: number;
  errors: number;
  p50: number;
  p99: number;
  example: string;
}

async function drive(s: h.Server, route: string): Promise<Run> {
  let leaks = 0;
  let example = "";
  const r = await h.load(s, {
    connections: 8,
    seconds: h.QUICK ? 1 : 2,
    path: (i) => `/${route}?user=${i % 2 === 0 ? "alice" : "bob"}`,
    onReply: (path, reply) => {
      const want = path.split("=")[1]!;
      if (reply.status === 200 && reply.text !== `inbox of ${want}`) {
        leaks++;
        example ||= `${want} asked, got "${reply.text}"`;
      }
    },
  });
  return { ...r, leaks, example };
}

export async function run(): Promise<boolean> {
  const { sites } = h.makeSite({ "leaky.js": LEAKY, "safe.js": SAFE });
  const conc = `8 keep-alive connections, alice and bob alternating, ${h.QUICK ? 1 : 2} s each`;

  h.section(
    "PITFALL",
    "leaky.js stores the user in a module-level variable, then awaits (a database call).\n" +
      "Another request on the same worker overwrites it in the meantime.",
  );
  const s = await h.serve(sites, "watch");
  const leaky = await drive(s, "leaky");
  h.say(`${conc}:`);
  const row = (name: string, policy: string, r: Run) => [
    name,
    policy,
    r.requests,
    r.leaks,
    `${((100 * r.leaks) / Math.max(1, r.requests)).toFixed(1)}%`,
    h.ms(r.p50),
    h.ms(r.p99),
  ];
  const head = ["route", "cache", "requests", "wrong user", "share", "p50", "p99"];
  h.table(head, [row("leaky.js", "watch", leaky)]);
  if (leaky.example) h.say(`for example: ${leaky.example}`);

  h.section(
    "FIX",
    "safe.js keeps the user in a const inside fetch(): the same load, the same server.",
  );
  const safe = await drive(s, "safe");
  await s.stop();
  h.table(head, [row("leaky.js", "watch", leaky), row("safe.js", "watch", safe)]);

  h.section(
    "NOTE",
    "--cache none (CGI: a fresh interpreter per request) also hides the bug, at a price:",
  );
  const cgi = await h.serve(sites, "none");
  const none = await drive(cgi, "leaky");
  await cgi.stop();
  h.table(head, [row("leaky.js", "none", none), row("safe.js", "watch", safe)]);
  h.say(
    `each request pays for a new sandbox: p50 ${h.ms(none.p50)} vs ${h.ms(safe.p50)}; ` +
      `run "sitebox demo cgi-cost" for the throughput figures.`,
  );

  const ok = leaky.leaks > 0 && safe.leaks === 0 && none.leaks === 0 && safe.requests > 0;
  return h.verdict(
    "data-leak",
    ok,
    `module-level user: ${leaky.leaks}/${leaky.requests} answers showed the other user's inbox; ` +
      `handler scope: ${safe.leaks}/${safe.requests}; --cache none: ${none.leaks}/${none.requests} ` +
      `(p50 ${h.ms(none.p50)} vs ${h.ms(safe.p50)}).`,
  );
}
