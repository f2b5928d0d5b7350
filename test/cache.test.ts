/**
 * The cache policies with real file edits: what each one notices, and the generation guarantees.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { request, sleep, startServer, tempDir, writeFiles, type RunningServer } from "./helpers.js";

const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(files: Record<string, string>, args: string[], workers = 2) {
  const s = await startServer({
    sites: { default: files },
    args: ["--debug-headers", ...args],
    workers,
  });
  servers.push(s);
  return s;
}

const counterRoute = (tag: string) =>
  `import { v } from "./_lib/v.js"; let n = 0; export default () => new Response("${tag} v=" + v + " n=" + (++n));`;

/** Answers from every worker: one request per fresh connection until each worker was seen. */
async function fromAllWorkers(s: RunningServer, path = "/", workers = 2) {
  const seen = new Map<string, string>();
  for (let i = 0; i < 40 && seen.size < workers; i++) {
    const r = await request(s.url, path, { fresh: true });
    seen.set(String(r.headers["x-sitebox-worker"]), r.text);
  }
  return [...seen.values()];
}

/** Polls until every worker answers something matching `want` (or times out). */
async function until(s: RunningServer, want: RegExp, path = "/", timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const texts = await fromAllWorkers(s, path);
    if (texts.every((t) => want.test(t))) return texts;
    if (Date.now() > end) throw new Error(`still ${JSON.stringify(texts)}\n${s.stderr()}`);
    await sleep(20);
  }
}

function atomicSave(path: string, text: string) {
  writeFileSync(path + ".tmp~", text);
  renameSync(path + ".tmp~", path);
}

describe("watch (default)", () => {
  it("a transitive edit reloads the site in every worker; an unrelated edit invalidates nothing", async () => {
    const s = await serve(
      {
        "index.js": counterRoute("a"),
        "_lib/v.js": `import { w } from "./w.js"; export const v = w;`,
        "_lib/w.js": "export const w = 1;",
        "other.js": "export default () => new Response('o');",
      },
      [],
    );
    await fromAllWorkers(s);
    const d = join(s.dir, "default");
    writeFileSync(join(d, "_lib/w.js"), "export const w = 2;");
    const after = await until(s, /v=2/);
    expect(after.every((t) => t.endsWith("n=1") || t.endsWith("n=2"))).toBe(true);
    // other.js is not part of index.js's graph: the counter keeps counting.
    const before = (await request(s.url, "/")).text;
    writeFileSync(join(d, "other.js"), "export default () => new Response('o2');");
    await until(s, /^o2$/, "/other");
    const n0 = Number(/n=(\d+)/.exec(before)![1]);
    const again = await request(s.url, "/");
    expect(Number(/n=(\d+)/.exec(again.text)![1])).toBeGreaterThan(0);
    expect(again.text).toMatch(/v=2/);
    expect(n0).toBeGreaterThan(0);
    await s.waitFor(/generation 3 live .*other\.js/);
  });

  it("keeps the last good generation through a broken edit, logs file and line, serves the next good save", async () => {
    const s = await serve(
      { "index.js": counterRoute("good"), "_lib/v.js": "export const v = 1;" },
      [],
    );
    const d = join(s.dir, "default");
    await fromAllWorkers(s);
    writeFileSync(join(d, "_lib/v.js"), "export const v = ;\n");
    await s.waitFor(/rejected, still serving 1: _lib\/v\.js:1:\d+: SyntaxError/);
    for (const t of await fromAllWorkers(s)) expect(t).toMatch(/good v=1/);
    writeFileSync(join(d, "_lib/v.js"), "export const v = 1;");
    await sleep(200);
    writeFileSync(
      join(d, "index.js"),
      `import { nope } from "./_lib/v.js"; export default () => new Response(nope);`,
    );
    await s.waitFor(/rejected, still serving 1: .*nope/);
    expect((await request(s.url, "/")).status).toBe(200);
    writeFileSync(join(d, "_lib/v.js"), "export const v = 3;");
    writeFileSync(join(d, "index.js"), counterRoute("fixed"));
    await until(s, /fixed v=3/);
  });

  it("follows atomic saves, new files and deletes", async () => {
    const s = await serve(
      { "index.js": counterRoute("a"), "_lib/v.js": "export const v = 1;" },
      [],
    );
    const d = join(s.dir, "default");
    await fromAllWorkers(s);
    atomicSave(join(d, "_lib/v.js"), "export const v = 7;");
    await until(s, /v=7/);
    writeFileSync(join(d, "new.js"), "export default () => new Response('new route');");
    await until(s, /^new route$/, "/new");
    rmSync(join(d, "new.js"));
    const end = Date.now() + 5000;
    while ((await request(s.url, "/new", { fresh: true })).status !== 404 && Date.now() < end)
      await sleep(20);
    for (let i = 0; i < 6; i++)
      expect((await request(s.url, "/new", { fresh: true })).status).toBe(404);
  });

  it("notices a site folder that is a symlink flipped to a new release", async () => {
    const root = tempDir();
    const sites = join(root, "sites");
    mkdirSync(sites);
    writeFiles(join(root, "releases/v1"), {
      "index.js": "export default () => new Response('release 1');",
    });
    writeFiles(join(root, "releases/v2"), {
      "index.js": "export default () => new Response('release 2');",
    });
    symlinkSync(join(root, "releases/v1"), join(sites, "default"));
    const s = await startServer({ dir: sites, args: ["--debug-headers"] });
    servers.push(s);
    await until(s, /release 1/);
    symlinkSync(join(root, "releases/v2"), join(sites, "default.new"));
    renameSync(join(sites, "default.new"), join(sites, "default"));
    const texts = await until(s, /release 2/);
    expect(texts).toHaveLength(2);
    expect((await request(s.url, "/")).headers["x-sitebox-generation"]).toBe("2");
  });

  it("never mixes generations: a multi-file change is served all or nothing", async () => {
    const s = await serve(
      {
        "index.js": `import { a } from "./_lib/a.js"; import { b } from "./_lib/b.js"; export default () => new Response(a + "/" + b);`,
        "_lib/a.js": "export const a = 1;",
        "_lib/b.js": "export const b = 1;",
      },
      [],
    );
    const d = join(s.dir, "default");
    let stop = false;
    const seen = new Set<string>();
    const load = Promise.all(
      [0, 1, 2, 3].map(async () => {
        while (!stop) seen.add((await request(s.url, "/", { fresh: true })).text);
      }),
    );
    for (let v = 2; v <= 6; v++) {
      writeFileSync(join(d, "_lib/a.js"), `export const a = ${v};`);
      writeFileSync(join(d, "_lib/b.js"), `export const b = ${v};`);
      await sleep(150);
    }
    await until(s, /^6\/6$/);
    stop = true;
    await load;
    for (const t of seen) expect(t).toMatch(/^(\d)\/\1$/);
  });

  it("once any worker answered generation N+1, no worker answers N (concurrent load during edits)", async () => {
    const s = await serve(
      { "index.js": counterRoute("g"), "_lib/v.js": "export const v = 0;" },
      [],
    );
    const d = join(s.dir, "default");
    let stop = false;
    const log: { start: number; end: number; gen: number }[] = [];
    const load = Promise.all(
      [0, 1, 2, 3, 4, 5].map(async () => {
        while (!stop) {
          const start = performance.now();
          const r = await request(s.url, "/", { fresh: true });
          log.push({
            start,
            end: performance.now(),
            gen: Number(r.headers["x-sitebox-generation"]),
          });
        }
      }),
    );
    // Five edits, and more while a loaded machine has gathered them into fewer generations.
    let v = 0;
    while (v < 5 || (new Set(log.map((l) => l.gen)).size < 3 && v < 30)) {
      writeFileSync(join(d, "_lib/v.js"), `export const v = ${++v};`);
      await sleep(120);
    }
    await until(s, new RegExp(`v=${v}\\b`));
    stop = true;
    await load;
    expect(new Set(log.map((l) => l.gen)).size).toBeGreaterThan(2);
    // A request that started after some response with generation g ended must not see < g.
    const sorted = [...log].sort((a, b) => a.end - b.end);
    let maxEnded = 0;
    let j = 0;
    for (const r of [...log].sort((a, b) => a.start - b.start)) {
      while (j < sorted.length && sorted[j]!.end < r.start)
        maxEnded = Math.max(maxEnded, sorted[j++]!.gen);
      expect(r.gen).toBeGreaterThanOrEqual(maxEnded);
    }
  });
});

describe("stat", () => {
  it("checks the whole loaded graph and is not fooled by same-second edits or restored mtimes", async () => {
    const s = await serve({ "index.js": counterRoute("s"), "_lib/v.js": "export const v = 1;" }, [
      "--cache",
      "stat",
    ]);
    const d = join(s.dir, "default");
    const file = join(d, "_lib/v.js");
    await fromAllWorkers(s);
    const { atime, mtime } = statSync(file);
    writeFileSync(file, "export const v = 2;");
    utimesSync(file, atime, mtime); // same mtime as before: a whole-second filesystem, or cp -p
    await until(s, /v=2/);
    writeFileSync(file, "export const v = 3;");
    utimesSync(file, atime, mtime);
    await until(s, /v=3/);
  });
});

describe("stat, metadata only", () => {
  it("a touch or a new unrelated file changes no generation and never stalls a request", async () => {
    const s = await serve({ "index.js": counterRoute("t"), "_lib/v.js": "export const v = 1;" }, [
      "--cache",
      "stat",
      "--wall-timeout",
      "3000",
    ]);
    const d = join(s.dir, "default");
    await fromAllWorkers(s);
    const now = new Date();
    utimesSync(join(d, "index.js"), now, now);
    writeFileSync(join(d, "README.md"), "notes");
    for (let i = 0; i < 6; i++) {
      const t = Date.now();
      const r = await request(s.url, "/", { fresh: true, timeoutMs: 2500 });
      expect(r.status).toBe(200);
      expect(r.headers["x-sitebox-generation"]).toBe("1");
      expect(Date.now() - t).toBeLessThan(1000);
    }
  });
});

describe("forever", () => {
  it("stays stale until SIGHUP, then serves the new code from every worker", async () => {
    const s = await serve({ "index.js": counterRoute("f"), "_lib/v.js": "export const v = 1;" }, [
      "--cache",
      "forever",
    ]);
    await fromAllWorkers(s);
    writeFileSync(join(s.dir, "default/_lib/v.js"), "export const v = 2;");
    await sleep(300);
    for (const t of await fromAllWorkers(s)) expect(t).toMatch(/v=1/);
    s.proc.kill("SIGHUP");
    await until(s, /v=2/, "/", 15000);
  });
});

describe("none", () => {
  it("builds a fresh sandbox per request: no state, always the file on disk", async () => {
    const s = await serve({ "index.js": counterRoute("n"), "_lib/v.js": "export const v = 1;" }, [
      "--cache",
      "none",
    ]);
    for (let i = 0; i < 3; i++) expect((await request(s.url, "/")).text).toBe("n v=1 n=1");
    writeFileSync(join(s.dir, "default/_lib/v.js"), "export const v = 2;");
    expect((await request(s.url, "/")).text).toBe("n v=2 n=1");
    writeFileSync(
      join(s.dir, "default/added.js"),
      "export default () => new Response('new file');",
    );
    expect((await request(s.url, "/added")).text).toBe("new file");
  });
});
