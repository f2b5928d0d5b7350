/**
 * Requests of one event-loop turn run together and their answers go out after them (turn.ts):
 * in real QuickJS sandboxes in process, where one turn is exact, and through a real server under
 * bursts, where the answers must still reach the right clients.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SiteboxError } from "../src/errors.js";
import type { Sandbox, ResponseSink } from "../src/sandbox/sandbox.js";
import { HOLD_MS, Turn, turn, type Costs } from "../src/sandbox/turn.js";
import { request, startServer, type RunningServer } from "./helpers.js";
import { newSandbox, TestLog } from "./in-process.js";

const sandbox = (site: string, files: Record<string, string>, log = new TestLog()) =>
  newSandbox(files, { site, log });

interface Outcome {
  status: number;
  body?: string;
  /** performance.now() when the head arrived. */
  at: number;
}

/** Queues one GET on `sb` (it runs when the turn runs) and resolves with its outcome. */
function queue(sb: Sandbox, route: string): { done: Promise<Outcome>; sink: ResponseSink } {
  let sink!: ResponseSink;
  const done = new Promise<Outcome>((resolve) => {
    sink = {
      head: (status, _h, _k, body) =>
        resolve({ status, body: typeof body === "string" ? body : undefined, at: now() }),
      chunk: () => true,
      end() {},
      fail: (err: SiteboxError) => resolve({ status: err.status, at: now() }),
    };
  });
  sb.dispatch({ method: "GET", url: "http://t/", headers: [], body: null, route }, sink);
  return { done, sink };
}

const now = () => performance.now();
const h = (body: string) => `export default { async fetch() { ${body} } };`;
/** A route that logs each run, to see whether and when it ran. */
const COUNTED = { "n.js": h("console.log('ran'); return new Response('n');") };

describe("one turn in real sandboxes", () => {
  it("runs nothing until the turn, then answers every request in order", async () => {
    const log = new TestLog();
    const sb = await sandbox("t", COUNTED, log);
    const a = queue(sb, "n.js");
    const b = queue(sb, "n.js");
    expect(log.lines).toEqual([]); // queued, not run: the dispatch returned first
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect([ra.body, rb.body]).toEqual(["n", "n"]);
    expect(ra.at).toBeLessThanOrEqual(rb.at);
    expect(log.lines).toEqual(["ran", "ran"]);
  });

  it("a request cancelled while queued never runs and never answers", async () => {
    const log = new TestLog();
    const sb = await sandbox("t", COUNTED, log);
    const gone = queue(sb, "n.js");
    sb.cancel(gone.sink);
    const kept = queue(sb, "n.js");
    expect((await kept.done).body).toBe("n");
    let answered = false;
    void gone.done.then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(answered).toBe(false);
    expect(log.lines).toEqual(["ran"]);
  });

  it("answers that ran before a bomb in the same turn are sent; those after it fail cleanly", async () => {
    const sb = await sandbox("t", {
      "ok.js": h("return new Response('ok');"),
      "bomb.js": h("const a = []; for (;;) a.push(new Array(1000).fill(1));"),
    });
    const other = await sandbox("u", { "ok.js": h("return new Response('other');") });
    const before = queue(sb, "ok.js");
    const bomb = queue(sb, "bomb.js");
    const after = queue(sb, "ok.js");
    const beside = queue(other, "ok.js");
    expect(await before.done).toMatchObject({ status: 200, body: "ok" });
    expect((await bomb.done).status).toBe(503);
    expect((await after.done).status).toBe(503);
    expect(sb.deadReason).toMatch(/memory/);
    expect(await beside.done).toMatchObject({ status: 200, body: "other" });
  });

  it("a quick answer is not held back behind a slow handler", async () => {
    const quick = await sandbox("q", { "q.js": h("return new Response('q');") });
    const slow = await sandbox("s", {
      "s.js": h(
        "const end = Date.now() + 300; while (Date.now() < end) {} return new Response('s');",
      ),
    });
    for (let i = 0; i < 5; i++) await queue(quick, "q.js").done; // the turn learns it is quick
    for (let i = 0; i < 2; i++) await queue(slow, "s.js").done; // and that this one is slow
    const q = queue(quick, "q.js");
    const s = queue(slow, "s.js");
    const [rq, rs] = await Promise.all([q.done, s.done]);
    expect(rq.body).toBe("q");
    expect(rs.body).toBe("s");
    // Released before the slow handler ran, not after its 300 ms.
    expect(rs.at - rq.at).toBeGreaterThan(250);
  });
});

describe("Turn", () => {
  /** A holder that records when it was released. */
  const holder = (log: string[], name: string) => ({ release: () => log.push(`release ${name}`) });

  it("releases held output before a task it does not know, and at the end", () => {
    const t = new Turn();
    const costs: Costs = new Map();
    const log: string[] = [];
    t.queue(costs, "a", () => {
      log.push("a");
      t.held(holder(log, "a"));
    });
    t.queue(costs, "b", () => log.push("b"));
    t.run();
    // b's key is unknown (so maybe slow): a's output left before b ran.
    expect(log).toEqual(["a", "release a", "b"]);
  });

  it("holds output across quick tasks, and releases it once HOLD_MS has passed", () => {
    const t = new Turn();
    const costs: Costs = new Map();
    const log: string[] = [];
    for (let i = 0; i < 3; i++) t.queue(costs, "q", () => {}); // learn: "q" is quick
    t.run();
    t.queue(costs, "q", () => {
      log.push("1");
      t.held(holder(log, "1"));
    });
    t.queue(costs, "q", () => log.push("2"));
    t.queue(costs, "q", () => {
      const end = performance.now() + HOLD_MS * 2;
      while (performance.now() < end);
      log.push("3");
    });
    t.queue(costs, "q", () => log.push("4"));
    t.run();
    expect(log).toEqual(["1", "2", "3", "release 1", "4"]);
  });

  it("a task that throws is reported and the others still run", () => {
    const errors: unknown[] = [];
    const t = new Turn((e) => errors.push(e));
    const costs: Costs = new Map();
    const log: string[] = [];
    t.queue(costs, "x", () => {
      throw new Error("boom");
    });
    t.queue(costs, "y", () => log.push("y"));
    t.run();
    expect(log).toEqual(["y"]);
    expect(String(errors[0])).toMatch(/boom/);
  });

  it("the worker's turn runs on its own in the event loop's check phase", async () => {
    const log: string[] = [];
    turn.queue(new Map(), "z", () => log.push("ran"));
    expect(log).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(["ran"]);
  });
});

describe("bursts through a real server", () => {
  let server: RunningServer;

  beforeAll(async () => {
    const site = (name: string) => ({
      "index.js": `export default { fetch(request) {
        return new Response("${name} " + new URL(request.url).searchParams.get("i"));
      } };`,
    });
    server = await startServer({ sites: { one: site("one"), two: site("two") } });
  });
  afterAll(() => server?.close());

  it("every client of a burst across two sites gets its own answer", async () => {
    for (let round = 0; round < 3; round++) {
      const asks = Array.from({ length: 64 }, (_, i) => {
        const host = i % 2 ? "one" : "two";
        return request(server.url, `/?i=${i}`, { headers: { host } }).then(
          (r) => [r, `${host} ${i}`] as const,
        );
      });
      for (const [reply, want] of await Promise.all(asks)) {
        expect(reply.status).toBe(200);
        expect(reply.text).toBe(want);
      }
    }
  });
});
