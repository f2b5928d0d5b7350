/**
 * Issue 10 item 2: small public/ files from the worker's memory (static-cache.ts). One worker per
 * server, so every request meets the same cache and its figures on /.sitebox/status.json.
 */
import { renameSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STATIC_CACHE_LIMITS, type StaticCacheFigures } from "../src/static-cache.js";
import { request, sleep, startServer, tempDir, type RunningServer } from "./helpers.js";
import { swapFileAndSymlink } from "./swapper.js";

const OUTSIDE = "OUTSIDE-BYTES\n";
const OLD = new Date("2024-01-02T03:04:05Z");
const KiB = 1024;

let outside: string;
beforeAll(() => {
  outside = tempDir("sitebox-outside-");
  writeFileSync(join(outside, "secret.txt"), OUTSIDE);
});

function publicFiles(): Record<string, string | Buffer> {
  return {
    "public/a.txt": "0123456789",
    "public/index.html": "<h1>home</h1>",
    "public/docs/index.html": "<h1>docs</h1>",
    "public/edit.txt": "version-1",
    "public/saved.css": "body{color:red}",
    "public/swap.txt": "inside!\n",
    "public/deep/er/file.txt": "deep",
    "public/big.bin": Buffer.alloc(STATIC_CACHE_LIMITS.fileBytes + 1, 7),
  };
}

async function figures(server: RunningServer): Promise<StaticCacheFigures> {
  const r = await request(server.url, "/.sitebox/status.json");
  const w = (JSON.parse(r.text) as { workers: { staticCache: StaticCacheFigures }[] }).workers;
  expect(w).toHaveLength(1);
  return w[0]!.staticCache;
}

async function start(cache: string): Promise<RunningServer> {
  const server = await startServer({
    args: ["--cache", cache],
    workers: 1,
    sites: { s: publicFiles() },
  });
  // Old mtimes; the ctime stays new, which `stat` waits out (a same-tick rewrite guard).
  for (const f of Object.keys(publicFiles())) utimesSync(join(server.dir, "s", f), OLD, OLD);
  return server;
}

const get = (server: RunningServer, path: string, headers: Record<string, string> = {}) =>
  request(server.url, path, { headers: { host: "s", ...headers } });

/**
 * `watch`: the answers to `path` from now until one is `want` (status and text), which must come
 * within `ms`. The inotify event can trail a request sent right after the change by a fraction of
 * a millisecond (the kernel does not order it before the socket's data), so the answers before it
 * may still be the previous version: the caller checks what they were.
 */
async function until(server: RunningServer, path: string, want: string, ms = 1000) {
  const seen: string[] = [];
  const end = Date.now() + ms;
  for (;;) {
    const r = await get(server, path);
    const got = `${r.status} ${r.text}`;
    if (got === want) return seen;
    seen.push(got);
    if (Date.now() > end) throw new Error(`${path}: not ${want} within ${ms} ms: ${seen.at(-1)}`);
  }
}

describe("--cache watch", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start("watch");
  });
  afterAll(() => server.close());

  it("a second request is a hit, with the same head as from disk", async () => {
    const before = await figures(server);
    const first = await get(server, "/a.txt");
    const second = await get(server, "/a.txt");
    const after = await figures(server);
    expect(after.misses - before.misses).toBe(1);
    expect(after.hits - before.hits).toBe(1);
    for (const r of [first, second]) {
      expect(r.status).toBe(200);
      expect(r.text).toBe("0123456789");
      expect(r.headers["content-type"]).toBe("text/plain; charset=utf-8");
      expect(r.headers["content-length"]).toBe("10");
      expect(r.headers["accept-ranges"]).toBe("bytes");
      expect(r.headers["last-modified"]).toBe(OLD.toUTCString());
    }
    expect(second.headers.etag).toBe(first.headers.etag);
    expect(after.watches).toBeGreaterThan(0);
  });

  it("304, HEAD and ranges are answered from the cached entry", async () => {
    const { etag } = (await get(server, "/a.txt")).headers;
    const before = await figures(server);
    const inm = await get(server, "/a.txt", { "if-none-match": etag! });
    expect(inm.status).toBe(304);
    expect(inm.headers.etag).toBe(etag);
    expect(inm.body.length).toBe(0);
    const ims = await get(server, "/a.txt", { "if-modified-since": OLD.toUTCString() });
    expect(ims.status).toBe(304);
    const head = await request(server.url, "/a.txt", { method: "HEAD", headers: { host: "s" } });
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe("10");
    expect(head.body.length).toBe(0);
    const part = await get(server, "/a.txt", { range: "bytes=2-5" });
    expect(part.status).toBe(206);
    expect(part.text).toBe("2345");
    expect(part.headers["content-range"]).toBe("bytes 2-5/10");
    expect(part.headers["content-length"]).toBe("4");
    const suffix = await get(server, "/a.txt", { range: "bytes=-3" });
    expect(suffix.text).toBe("789");
    const past = await get(server, "/a.txt", { range: "bytes=10-" });
    expect(past.status).toBe(416);
    expect(past.headers["content-range"]).toBe("bytes */10");
    const stale = await get(server, "/a.txt", { range: "bytes=0-1", "if-range": 'W/"other"' });
    expect(stale.status).toBe(200);
    expect(stale.text).toBe("0123456789");
    expect((await figures(server)).hits - before.hits).toBe(7);
  });

  it("an edit in place, of the same size, drops the entry at once", async () => {
    const file = join(server.dir, "s", "public", "edit.txt");
    expect((await get(server, "/edit.txt")).text).toBe("version-1");
    const before = await figures(server);
    expect((await get(server, "/edit.txt")).text).toBe("version-1");
    expect((await figures(server)).hits - before.hits).toBe(1);
    for (let i = 2; i <= 6; i++) {
      writeFileSync(file, `version-${i}`);
      const early = await until(server, "/edit.txt", `200 version-${i}`, 500);
      expect(early.every((a) => a === `200 version-${i - 1}`)).toBe(true);
      expect((await get(server, "/edit.txt")).text).toBe(`version-${i}`);
    }
  });

  it("an editor's atomic save (write aside, rename over) and a folder index edit", async () => {
    const dir = join(server.dir, "s", "public");
    expect((await get(server, "/saved.css")).text).toBe("body{color:red}");
    writeFileSync(join(dir, ".saved.css.tmp"), "body{color:blue}");
    renameSync(join(dir, ".saved.css.tmp"), join(dir, "saved.css"));
    await until(server, "/saved.css", "200 body{color:blue}", 500);
    expect((await get(server, "/docs/")).text).toBe("<h1>docs</h1>");
    expect((await get(server, "/")).text).toBe("<h1>home</h1>");
    writeFileSync(join(dir, "docs", "index.html"), "<h1>docs 2</h1>");
    await until(server, "/docs/", "200 <h1>docs 2</h1>", 500);
    expect((await get(server, "/")).text).toBe("<h1>home</h1>");
    // A folder on the way renamed away.
    expect((await get(server, "/deep/er/file.txt")).text).toBe("deep");
    renameSync(join(dir, "deep"), join(dir, "deep-old"));
    await until(server, "/deep/er/file.txt", "404 Not Found\n", 500);
  });

  it("a cached file swapped for a symlink leading out is a 404, never the outside bytes", async () => {
    const file = join(server.dir, "s", "public", "swap.txt");
    expect((await get(server, "/swap.txt")).text).toBe("inside!\n");
    expect((await get(server, "/swap.txt")).text).toBe("inside!\n");
    const link = join(server.dir, "s", "public", ".link");
    symlinkSync(join(outside, "secret.txt"), link);
    renameSync(link, file);
    const early = await until(server, "/swap.txt", "404 Not Found\n", 500);
    expect(early.every((a) => a === "200 inside!\n")).toBe(true);
    for (let i = 0; i < 3; i++) expect((await get(server, "/swap.txt")).status).toBe(404);
    unlinkSync(file);
    writeFileSync(file, "inside again\n");
    expect((await get(server, "/swap.txt")).text).toBe("inside again\n");
  });

  it("flipping a file and a symlink leading out, as fast as rename allows: never outside bytes", async () => {
    const seen = new Map<string, number>();
    let done = false;
    const client = async () => {
      while (!done) {
        const r = await get(server, "/flip.txt");
        const key = `${r.status} ${r.text}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    };
    writeFileSync(join(server.dir, "s", "public", "flip.txt"), "inside!\n");
    const before = await figures(server);
    const flips = swapFileAndSymlink(
      join(server.dir, "s", "public", "flip.txt"),
      "inside!\n",
      join(outside, "secret.txt"),
      1500,
    ).finally(() => (done = true));
    await Promise.all([client(), client(), flips]);
    expect(await flips).toBeGreaterThan(20);
    const answers = [...seen.keys()].filter(
      (k) => k !== "200 inside!\n" && k !== "404 Not Found\n",
    );
    expect(answers).toEqual([]);
    expect(seen.get("200 inside!\n")).toBeGreaterThan(10);
    // The cache took part: some answers were hits between flips.
    expect((await figures(server)).hits).toBeGreaterThan(before.hits);
  });

  it("a file over the per-file limit is read from disk each time, not cached", async () => {
    const before = await figures(server);
    for (let i = 0; i < 2; i++) {
      const r = await get(server, "/big.bin");
      expect(r.status).toBe(200);
      expect(r.body.length).toBe(STATIC_CACHE_LIMITS.fileBytes + 1);
    }
    const part = await get(server, "/big.bin", { range: "bytes=-4" });
    expect(part.status).toBe(206);
    expect([...part.body]).toEqual([7, 7, 7, 7]);
    const after = await figures(server);
    expect(after.hits).toBe(before.hits);
    expect(after.entries).toBe(before.entries);
    expect(after.bytes).toBe(before.bytes);
  });

  it("many files never grow the cache past its total bound", async () => {
    const size = 200 * KiB;
    const count = Math.ceil((STATIC_CACHE_LIMITS.totalBytes * 1.25) / size);
    const dir = join(server.dir, "s", "public");
    for (let i = 0; i < count; i++)
      writeFileSync(join(dir, `many-${i}.bin`), Buffer.alloc(size, i));
    for (let i = 0; i < count; i++) {
      const r = await get(server, `/many-${i}.bin`);
      expect(r.body.length).toBe(size);
      expect(r.body[size - 1]).toBe(i & 0xff);
    }
    const f = await figures(server);
    expect(f.bytes).toBeLessThanOrEqual(STATIC_CACHE_LIMITS.totalBytes);
    expect(f.entries).toBeLessThan(count);
    expect(f.bytes).toBeGreaterThan(STATIC_CACHE_LIMITS.totalBytes / 2);
    // The most recent ones are still there; the first went out first.
    const before = await figures(server);
    await get(server, `/many-${count - 1}.bin`);
    await get(server, "/many-0.bin");
    const after = await figures(server);
    expect(after.hits - before.hits).toBe(1);
    expect(after.misses - before.misses).toBe(1);
  });
});

describe("--cache stat", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start("stat");
    await sleep(2100); // past the racy window of the files' ctime
  });
  afterAll(() => server.close());

  it("an edit that even restores the old mtime is served by the next request", async () => {
    const file = join(server.dir, "s", "public", "edit.txt");
    await get(server, "/edit.txt");
    const before = await figures(server);
    expect((await get(server, "/edit.txt")).text).toBe("version-1");
    expect((await figures(server)).hits - before.hits).toBe(1);
    writeFileSync(file, "version-2");
    utimesSync(file, OLD, OLD);
    expect((await get(server, "/edit.txt")).text).toBe("version-2");
    expect((await get(server, "/edit.txt")).text).toBe("version-2");
  });

  it("a cached file swapped for a symlink leading out is a 404, never the outside bytes", async () => {
    const file = join(server.dir, "s", "public", "swap.txt");
    await get(server, "/swap.txt");
    const before = await figures(server);
    expect((await get(server, "/swap.txt")).text).toBe("inside!\n");
    expect((await figures(server)).hits - before.hits).toBe(1);
    const link = join(server.dir, "s", "public", ".link");
    symlinkSync(join(outside, "secret.txt"), link);
    renameSync(link, file);
    for (let i = 0; i < 3; i++) expect((await get(server, "/swap.txt")).status).toBe(404);
  });

  it("a file written just now is served, but not cached until its stamps are old enough", async () => {
    writeFileSync(join(server.dir, "s", "public", "new.txt"), "fresh");
    const before = await figures(server);
    for (let i = 0; i < 3; i++) expect((await get(server, "/new.txt")).text).toBe("fresh");
    const after = await figures(server);
    expect(after.hits).toBe(before.hits);
    expect(after.entries).toBe(before.entries);
  });
});

describe("--cache forever and none", () => {
  it("forever keeps what it cached until restart; none caches nothing", async () => {
    for (const cache of ["forever", "none"]) {
      const server = await start(cache);
      try {
        expect((await get(server, "/edit.txt")).text).toBe("version-1");
        writeFileSync(join(server.dir, "s", "public", "edit.txt"), "version-2");
        const text = (await get(server, "/edit.txt")).text;
        const f = await figures(server);
        if (cache === "forever") {
          expect(text).toBe("version-1");
          expect(f.entries).toBe(1);
          expect(f.hits).toBe(1);
        } else {
          expect(text).toBe("version-2");
          expect(f.entries).toBe(0);
        }
      } finally {
        await server.close();
      }
    }
  });
});
