/**
 * multipart/form-data both ways and the 400 for a client's malformed body. Bodies are made by
 * Node's own FormData (undici) where it can, by hand for the RFC 7578 corners, and what the
 * sandbox serialises is parsed back with Node's parser.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, startServer, type RunningServer, BATCH_ARGS } from "./helpers.js";

const UPLOAD = `
export default {
  async fetch(request) {
    const fd = await request.formData();
    const out = [];
    for (const [name, v] of fd) {
      if (typeof v === "string") out.push({ name, text: v });
      else out.push({ name, file: v.name, type: v.type, size: v.size, isFile: v instanceof File,
        bytes: Array.from(new Uint8Array(await v.arrayBuffer())) });
    }
    return Response.json(out);
  },
};
`;

const CAUGHT = `
export default {
  async fetch(request) {
    try { await request.formData(); return new Response("parsed"); }
    catch (e) { return new Response("caught " + e.name, { status: 422 }); }
  },
};
`;

const JSON_ROUTE = `export default { async fetch(request) { return Response.json(await request.json()); } };`;

const SITE_PARSE = `
export default {
  async fetch() {
    const r = new Response("junk", { headers: { "content-type": "multipart/form-data; boundary=x" } });
    await r.formData(); // the site's own malformed body: its bug, a 500
    return new Response("unreachable");
  },
};
`;

const SEND = `
export default {
  async fetch(request) {
    const fd = new FormData();
    fd.append("greeting", "héllo\\nworld");
    fd.append('we"ird\\r\\nname', "v");
    fd.append("upload", new Blob([new Uint8Array([0, 1, 2, 13, 10, 255])], { type: "application/x-test" }), 'a "quoted".bin');
    fd.append("blob", new Blob(["plain"]));
    const mode = new URL(request.url).searchParams.get("mode");
    if (mode === "request") {
      const r = new Request("http://x/", { method: "POST", body: fd });
      const back = await r.formData();
      const f = back.get("upload");
      return Response.json({ type: r.headers.get("content-type"), greeting: back.get("greeting"),
        weird: back.has('we"ird\\r\\nname'), file: [f.name, f.type, f.size], blob: back.get("blob").name });
    }
    return new Response(fd);
  },
};
`;

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    sites: {
      default: {
        "upload.js": UPLOAD,
        "caught.js": CAUGHT,
        "json.js": JSON_ROUTE,
        "site-parse.js": SITE_PARSE,
        "send.js": SEND,
      },
    },
    workers: 1,
    args: [...BATCH_ARGS, "--max-body", "65536"],
  });
});
afterAll(() => server?.close());

/** A multipart body as Node (undici) serialises it. */
async function nodeMultipart(fd: FormData): Promise<{ body: Buffer; type: string }> {
  const r = new Response(fd);
  return {
    body: Buffer.from(await r.arrayBuffer()),
    type: r.headers.get("content-type")!,
  };
}

const post = (path: string, body: string | Buffer, type: string) =>
  request(server.url, path, { method: "POST", headers: { "content-type": type }, body });

describe("request.formData() with multipart/form-data", () => {
  it("parses text fields and files made by Node's FormData", async () => {
    const fd = new FormData();
    fd.append("title", "Grüße ✓");
    fd.append("empty", "");
    const bin = Buffer.from([0, 13, 10, 45, 45, 255, 0]);
    fd.append("doc", new Blob([bin], { type: "application/pdf" }), "report.pdf");
    fd.append("note", new Blob(["hi"]), "note.txt");
    fd.append("title", "second");
    const { body, type } = await nodeMultipart(fd);
    const r = await post("/upload", body, type);
    expect(r.status, r.text).toBe(200);
    expect(JSON.parse(r.text)).toEqual([
      { name: "title", text: "Grüße ✓" },
      { name: "empty", text: "" },
      {
        name: "doc",
        file: "report.pdf",
        type: "application/pdf",
        size: 7,
        isFile: true,
        bytes: [...bin],
      },
      {
        name: "note",
        file: "note.txt",
        type: "application/octet-stream",
        size: 2,
        isFile: true,
        bytes: [104, 105],
      },
      { name: "title", text: "second" },
    ]);
  });

  it("takes RFC 7578 corners: quoted boundary, parameter order, filename*, no Content-Type", async () => {
    const b = "simple boundary";
    const body =
      `--${b}\r\nContent-Disposition: form-data; filename="x.txt"; name="first"\r\n\r\nA\r\n` +
      `--${b}\r\ncontent-disposition: FORM-DATA; name=plain\r\n\r\nB\r\n` +
      `--${b}\r\nContent-Disposition: form-data; name="q%22uote"; filename="fallback.txt"; filename*=UTF-8''na%C3%AFve%20file.txt\r\n` +
      `Content-Type: text/csv\r\n\r\nC\r\n` +
      `--${b}\r\nContent-Disposition: form-data; name="na\\"me"\r\nX-Other: ignored\r\n\r\nD\r\n` +
      `--${b}--\r\n`;
    const r = await post("/upload", body, `multipart/form-data; boundary="${b}"`);
    expect(r.status, r.text).toBe(200);
    const got = JSON.parse(r.text);
    expect(got[0]).toMatchObject({ name: "first", file: "x.txt", type: "text/plain" });
    expect(got[1]).toEqual({ name: "plain", text: "B" });
    expect(got[2]).toMatchObject({ name: 'q"uote', file: "naïve file.txt", type: "text/csv" });
    expect(got[3]).toEqual({ name: 'na"me', text: "D" });
  });

  it("a malformed body the handler does not catch is a 400, and the server keeps serving", async () => {
    const bad = [
      ["multipart/form-data; boundary=abc", "no boundary here"],
      [
        "multipart/form-data; boundary=abc",
        "--abc\r\nContent-Disposition: form-data\r\n\r\nx\r\n--abc--",
      ],
      [
        "multipart/form-data; boundary=abc",
        '--abc\r\nContent-Disposition: form-data; name="a"\r\n\r\nunterminated',
      ],
      [
        "multipart/form-data; boundary=abc",
        '--abc\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--abc--',
      ],
      ["multipart/form-data", "--abc--"],
      ["text/plain", "a=1"],
    ];
    for (const [type, body] of bad) {
      const r = await post("/upload", body!, type!);
      expect(r.status, `${type} ${body}`).toBe(400);
      expect(r.text).not.toMatch(/TypeError|boundary/); // no detail leaks to the client
    }
    const json = await post("/json", "{not json", "application/json");
    expect(json.status).toBe(400);
    const fine = await post("/json", '{"a":1}', "application/json");
    expect(fine.text).toBe('{"a":1}');
    await server.waitFor(/bad request body \(400\): .*multipart\/form-data/);
  });

  it("a handler that catches the error answers for itself", async () => {
    const r = await post("/caught", "junk", "multipart/form-data; boundary=b");
    expect(r.status).toBe(422);
    expect(r.text).toBe("caught TypeError");
  });

  it("a body the site made itself is the site's bug: 500", async () => {
    const r = await request(server.url, "/site-parse");
    expect(r.status).toBe(500);
  });

  it("a body over --max-body is refused before parsing (413)", async () => {
    const fd = new FormData();
    fd.append("big", new Blob([Buffer.alloc(70_000)]), "big.bin");
    const { body, type } = await nodeMultipart(fd);
    const r = await post("/upload", body, type);
    expect(r.status).toBe(413);
  });
});

describe("a FormData body", () => {
  it("new Response(formData) is multipart with a boundary, and Node parses it back", async () => {
    const r = await request(server.url, "/send");
    expect(r.status).toBe(200);
    const type = r.headers["content-type"] as string;
    expect(type).toMatch(/^multipart\/form-data; boundary=-+formdata-sitebox-[0-9a-f]{24}$/);
    const back = await new Response(new Uint8Array(r.body), {
      headers: { "content-type": type },
    }).formData();
    expect(back.get("greeting")).toBe("héllo\r\nworld"); // newlines normalised to CRLF
    expect(back.has('we"ird\r\nname')).toBe(true); // escaped as %22, %0D, %0A, decoded back
    const f = back.get("upload") as File;
    expect(f.name).toBe('a "quoted".bin');
    expect(f.type).toBe("application/x-test");
    expect([...new Uint8Array(await f.arrayBuffer())]).toEqual([0, 1, 2, 13, 10, 255]);
    const blob = back.get("blob") as File;
    expect([blob.name, blob.type, await blob.text()]).toEqual([
      "blob",
      "application/octet-stream",
      "plain",
    ]);
  });

  it("new Request(url, { body: formData }) sets the type and parses back in the sandbox", async () => {
    const r = await request(server.url, "/send?mode=request");
    expect(r.status, r.text).toBe(200);
    const got = JSON.parse(r.text);
    expect(got.type).toMatch(/^multipart\/form-data; boundary=/);
    expect(got).toMatchObject({
      greeting: "héllo\r\nworld",
      weird: true,
      file: ['a "quoted".bin', "application/x-test", 6],
      blob: "blob",
    });
  });
});
