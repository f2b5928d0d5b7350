/**
 * Real apps from npm, bundled by esbuild and served as they are: jose (HS256, ES256, EdDSA, a
 * local JWKS, JWE), hono/jwt, dayjs with its utc and timezone plugins, date-fns-tz. Tokens cross
 * between the sandbox and jose in this process both ways; the date cases run on both sides.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "esbuild";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as jose from "jose";
import dayjs from "dayjs";
import utc from "dayjs/plugin/utc.js";
import timezone from "dayjs/plugin/timezone.js";
import * as dateFnsTz from "date-fns-tz";
import { ROOT, request, startServer, tempDir, type RunningServer } from "./helpers.js";

const SECRET = "a-secret-that-is-long-enough-for-hs256!";

const JOSE_APP = `
import * as jose from "jose";
const secret = new TextEncoder().encode(${JSON.stringify(SECRET)});
export default {
  async fetch(request) {
    const out = {};
    const hs = await new jose.SignJWT({ role: "admin" }).setProtectedHeader({ alg: "HS256" })
      .setSubject("ada").setIssuedAt().setExpirationTime("2h").sign(secret);
    out.hs256 = (await jose.jwtVerify(hs, secret)).payload.role;
    out.hsToken = hs;
    const { publicKey, privateKey } = await jose.generateKeyPair("ES256");
    const es = await new jose.SignJWT({ n: 1 }).setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(privateKey);
    const jwk = { ...(await jose.exportJWK(publicKey)), kid: "k1", alg: "ES256" };
    const jwks = jose.createLocalJWKSet({ keys: [jwk] });
    out.jwks = (await jose.jwtVerify(es, jwks)).payload.n;
    out.esToken = es;
    out.esJwk = jwk;
    const ed = await jose.generateKeyPair("EdDSA", { crv: "Ed25519" });
    const edToken = await new jose.SignJWT({ e: true }).setProtectedHeader({ alg: "EdDSA" }).sign(ed.privateKey);
    out.eddsa = (await jose.jwtVerify(edToken, ed.publicKey)).payload.e;
    // The signature's first character carries 6 bits of it (its last only 4, and "xx" there can
    // leave the signature as it was: a token in ~1,000, as its iat changes every second).
    const dot = hs.lastIndexOf(".") + 1;
    const bad = hs.slice(0, dot) + (hs[dot] === "A" ? "B" : "A") + hs.slice(dot + 1);
    try { await jose.jwtVerify(bad, secret); out.tampered = "accepted"; }
    catch (e) { out.tampered = e.code; }
    const fromNode = request.headers.get("x-token");
    out.fromNode = (await jose.jwtVerify(fromNode, secret, { issuer: "node" })).payload.sub;
    const enc = new TextEncoder().encode("0123456789abcdef0123456789abcdef");
    const jwe = await new jose.CompactEncrypt(new TextEncoder().encode("secret text"))
      .setProtectedHeader({ alg: "dir", enc: "A256GCM" }).encrypt(enc);
    out.jwe = new TextDecoder().decode((await jose.compactDecrypt(jwe, enc)).plaintext);
    const ecdh = await jose.generateKeyPair("ECDH-ES+A128KW");
    const jwe2 = await new jose.CompactEncrypt(new TextEncoder().encode("wrapped"))
      .setProtectedHeader({ alg: "ECDH-ES+A128KW", enc: "A128CBC-HS256" }).encrypt(ecdh.publicKey);
    out.ecdhEs = new TextDecoder().decode((await jose.compactDecrypt(jwe2, ecdh.privateKey)).plaintext);
    return Response.json(out);
  },
};
`;

const HONO_APP = `
import { Hono } from "hono";
import { jwt, sign } from "hono/jwt";
const SECRET = ${JSON.stringify(SECRET)};
const app = new Hono();
app.get("/token", async (c) => c.text(await sign({ sub: "grace", exp: Math.floor(Date.now() / 1000) + 600 }, SECRET, "HS256")));
app.use("/auth/*", jwt({ secret: SECRET, alg: "HS256" }));
app.get("/auth/me", (c) => c.json(c.get("jwtPayload")));
export default app;
`;

// One body run in the sandbox (bundled) and in this process: the results must be equal.
const DATE_CASES = `
  const d = (s) => dayjs.tz(s, "America/New_York");
  return {
    dst: [d("2024-03-10 01:59").add(1, "minute").format(), d("2024-11-03 01:30").format("YYYY-MM-DD HH:mm Z")],
    convert: dayjs.utc("2024-06-01T12:00:00Z").tz("Asia/Kolkata").format("YYYY-MM-DD HH:mm:ss Z"),
    offset: dayjs.tz("2024-01-15 12:00", "Australia/Sydney").utcOffset(),
    guess: dayjs.tz.guess(),
    startOf: dayjs.tz("2024-07-04 15:30", "Europe/Berlin").startOf("day").toISOString(),
    fnsFormat: fns.formatInTimeZone(new Date(Date.UTC(2024, 2, 31, 0, 30)), "Europe/London", "yyyy-MM-dd HH:mm:ss zzz XXX"),
    fnsZoned: fns.toZonedTime(new Date(Date.UTC(2024, 0, 1, 0, 0)), "Asia/Tokyo").getHours(),
    fnsFrom: fns.fromZonedTime("2024-10-27 02:30", "Europe/Paris").toISOString(),
    fnsOffset: fns.getTimezoneOffset("America/St_Johns", new Date(Date.UTC(2024, 6, 1))),
  };
`;

const DATES_APP = `
import dayjs from "dayjs";
import utc from "dayjs/plugin/utc";
import timezone from "dayjs/plugin/timezone";
import * as fns from "date-fns-tz";
dayjs.extend(utc);
dayjs.extend(timezone);
export default { fetch() { return Response.json((() => { ${DATE_CASES} })()); } };
`;

let server: RunningServer;
let work: string;

beforeAll(async () => {
  work = tempDir("sitebox-apps-");
  const src = join(work, "src");
  const site = join(work, "sites", "default");
  mkdirSync(src, { recursive: true });
  mkdirSync(site, { recursive: true });
  writeFileSync(join(src, "jose.js"), JOSE_APP);
  writeFileSync(join(src, "hono.js"), HONO_APP);
  writeFileSync(join(src, "dates.js"), DATES_APP);
  await build({
    entryPoints: ["jose", "hono", "dates"].map((n) => join(src, n + ".js")),
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    nodePaths: [join(ROOT, "node_modules")],
    outdir: site,
    logLevel: "silent",
  });
  // The Hono app answers every path of its own site (Host: hono.local), Workers style.
  const honoSite = join(work, "sites", "hono.local");
  mkdirSync(honoSite);
  renameSync(join(site, "hono.js"), join(honoSite, "hono.js"));
  writeFileSync(join(honoSite, "site.json"), JSON.stringify({ main: "hono.js" }));
  server = await startServer({ dir: join(work, "sites"), workers: 1 });
});

afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("jose", () => {
  let out: Record<string, any>;
  beforeAll(async () => {
    const token = await new jose.SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("from-node")
      .setIssuer("node")
      .sign(new TextEncoder().encode(SECRET));
    const r = await request(server.url, "/jose", { headers: { "x-token": token } });
    expect(r.status, r.text).toBe(200);
    out = JSON.parse(r.text);
  });

  it("signs and verifies HS256, ES256 through a local JWKS, EdDSA; refuses a tampered token", () => {
    expect(out.hs256).toBe("admin");
    expect(out.jwks).toBe(1);
    expect(out.eddsa).toBe(true);
    expect(out.tampered).toBe("ERR_JWS_SIGNATURE_VERIFICATION_FAILED");
  });

  it("tokens cross: the sandbox's verify in Node, Node's verifies in the sandbox", async () => {
    expect(out.fromNode).toBe("from-node");
    const hs = await jose.jwtVerify(out.hsToken, new TextEncoder().encode(SECRET));
    expect(hs.payload).toMatchObject({ role: "admin", sub: "ada" });
    const es = await jose.jwtVerify(out.esToken, await jose.importJWK(out.esJwk, "ES256"));
    expect(es.payload.n).toBe(1);
  });

  it("encrypts and decrypts JWE (dir A256GCM, ECDH-ES+A128KW)", () => {
    expect(out.jwe).toBe("secret text");
    expect(out.ecdhEs).toBe("wrapped");
  });
});

describe("hono/jwt", () => {
  it("issues a token the middleware accepts, and refuses none or a tampered one", async () => {
    const host = { host: "hono.local" };
    const t = await request(server.url, "/token", { headers: host });
    expect(t.status, t.text).toBe(200);
    const ok = await request(server.url, "/auth/me", {
      headers: { ...host, authorization: `Bearer ${t.text}` },
    });
    expect(ok.status, ok.text).toBe(200);
    expect(JSON.parse(ok.text).sub).toBe("grace");
    const none = await request(server.url, "/auth/me", { headers: host });
    expect(none.status).toBe(401);
    const bad = await request(server.url, "/auth/me", {
      headers: { ...host, authorization: `Bearer ${t.text.slice(0, -3)}abc` },
    });
    expect(bad.status).toBe(401);
    const v = await jose.jwtVerify(t.text, new TextEncoder().encode(SECRET));
    expect(v.payload.sub).toBe("grace");
  });
});

describe("dayjs with utc and timezone, date-fns-tz", () => {
  it("give in the sandbox what they give in Node", async () => {
    const r = await request(server.url, "/dates");
    expect(r.status, r.text).toBe(200);
    dayjs.extend(utc);
    dayjs.extend(timezone);
    const expected = new Function("dayjs", "fns", DATE_CASES)(dayjs, dateFnsTz);
    expect(JSON.parse(r.text)).toEqual(expected);
  });
});
