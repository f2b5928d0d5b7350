/**
 * crypto.subtle inside the sandbox against Node's WebCrypto in this process: deterministic
 * results must be equal byte for byte, randomised ones (ECDSA, RSA-PSS, RSA-OAEP) must verify or
 * decrypt on the other side. Also what the standard says a CryptoKey may show, the errors it
 * names, and that a pending operation never re-enters a sandbox that was abandoned.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webcrypto } from "node:crypto";
import { Sandbox, type ResponseSink } from "../src/sandbox/sandbox.js";
import type { Log } from "../src/log.js";
import { request, startServer, type RunningServer } from "./helpers.js";

const subtle = webcrypto.subtle;
const b64 = (b: ArrayBuffer | Uint8Array) => Buffer.from(b as ArrayBuffer).toString("base64");
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));
const bytes = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 255);

const SITE = String.raw`
const M = __MATERIAL__;
const s = crypto.subtle;
const unb64 = (t) => Uint8Array.from(atob(t), (c) => c.charCodeAt(0));
const b64 = (b) => btoa(String.fromCharCode(...new Uint8Array(b)));
const te = (t) => new TextEncoder().encode(t);
export default {
  async fetch() {
    const out = {};
    const put = async (name, fn) => {
      try { out[name] = await fn(); } catch (e) { out[name] = "threw " + e.name + (e instanceof DOMException ? " (DOMException)" : ""); }
    };
    const msg = te(M.message);
    const hmac = await s.importKey("raw", unb64(M.hmac), { name: "HMAC", hash: "SHA-256" }, true, ["sign", "verify"]);
    await put("hmac", async () => b64(await s.sign("HMAC", hmac, msg)));
    await put("hmac verify", async () => [await s.verify("HMAC", hmac, unb64(M.hmacSig), msg), await s.verify("HMAC", hmac, unb64(M.hmacSig), te("other"))]);
    await put("hmac clone", async () => {
      const c = structuredClone({ k: hmac }).k;
      return [c instanceof CryptoKey, c !== hmac, c.algorithm !== hmac.algorithm, c.algorithm.name, c.algorithm.hash.name, c.usages.join(), c.extractable, b64(await s.sign("HMAC", c, msg))];
    });
    const aes = await s.importKey("raw", unb64(M.aes), "AES-GCM", true, ["encrypt", "decrypt"]);
    const iv = unb64(M.iv);
    await put("aes-gcm", async () => b64(await s.encrypt({ name: "AES-GCM", iv, additionalData: te("aad"), tagLength: 96 }, aes, msg)));
    await put("aes-gcm decrypt", async () => new TextDecoder().decode(await s.decrypt({ name: "AES-GCM", iv }, aes, unb64(M.gcmCipher))));
    await put("aes-gcm bad tag", async () => s.decrypt({ name: "AES-GCM", iv }, aes, unb64(M.gcmCipher).map((x, i) => (i === 0 ? x ^ 1 : x))));
    const cbc = await s.importKey("raw", unb64(M.aes), { name: "AES-CBC" }, false, ["encrypt"]);
    await put("aes-cbc", async () => b64(await s.encrypt({ name: "AES-CBC", iv: unb64(M.iv16) }, cbc, msg)));
    const ctr = await s.importKey("raw", unb64(M.aes), "AES-CTR", false, ["encrypt"]);
    await put("aes-ctr", async () => b64(await s.encrypt({ name: "AES-CTR", counter: unb64(M.iv16), length: 64 }, ctr, msg)));
    const ec = {};
    for (const curve of ["P-256", "P-384"]) {
      const priv = await s.importKey("pkcs8", unb64(M.ec[curve].pkcs8), { name: "ECDSA", namedCurve: curve }, true, ["sign"]);
      const pub = await s.importKey("spki", unb64(M.ec[curve].spki), { name: "ECDSA", namedCurve: curve }, true, ["verify"]);
      const hash = curve === "P-256" ? "SHA-256" : "SHA-384";
      ec[curve] = b64(await s.sign({ name: "ECDSA", hash }, priv, msg));
      ec[curve + " verify"] = await s.verify({ name: "ECDSA", hash }, pub, unb64(M.ec[curve].sig), msg);
      if (curve === "P-256") ec.jwk = await s.exportKey("jwk", priv);
    }
    out.ecdsa = ec;
    const rsa = await s.importKey("pkcs8", unb64(M.rsa.pkcs8), { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
    await put("rsassa", async () => b64(await s.sign("RSASSA-PKCS1-v1_5", rsa, msg)));
    const pss = await s.importKey("pkcs8", unb64(M.rsa.pkcs8), { name: "RSA-PSS", hash: "SHA-256" }, false, ["sign"]);
    await put("rsa-pss", async () => [b64(await s.sign({ name: "RSA-PSS", saltLength: 32 }, pss, msg)), b64(await s.sign({ name: "RSA-PSS", saltLength: 0 }, pss, msg))]);
    const oaepPub = await s.importKey("spki", unb64(M.rsa.spki), { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]);
    const oaepPriv = await s.importKey("pkcs8", unb64(M.rsa.pkcs8), { name: "RSA-OAEP", hash: "SHA-256" }, false, ["decrypt"]);
    await put("rsa-oaep", async () => b64(await s.encrypt({ name: "RSA-OAEP", label: te("l") }, oaepPub, msg)));
    await put("rsa-oaep decrypt", async () => new TextDecoder().decode(await s.decrypt({ name: "RSA-OAEP" }, oaepPriv, unb64(M.rsa.oaepCipher))));
    const ed = await s.importKey("pkcs8", unb64(M.ed.pkcs8), "Ed25519", false, ["sign"]);
    await put("ed25519", async () => b64(await s.sign("Ed25519", ed, msg)));
    const pbkdf2 = await s.importKey("raw", te("password"), "PBKDF2", false, ["deriveBits", "deriveKey"]);
    await put("pbkdf2", async () => b64(await s.deriveBits({ name: "PBKDF2", salt: te("salt"), iterations: 1000, hash: "SHA-256" }, pbkdf2, 256)));
    await put("pbkdf2 deriveKey", async () => {
      const k = await s.deriveKey({ name: "PBKDF2", salt: te("salt"), iterations: 1000, hash: "SHA-256" }, pbkdf2, { name: "AES-GCM", length: 128 }, true, ["encrypt"]);
      return [k.algorithm.name, k.algorithm.length, b64(await s.exportKey("raw", k))];
    });
    const hkdf = await s.importKey("raw", unb64(M.hmac), "HKDF", false, ["deriveBits"]);
    await put("hkdf", async () => b64(await s.deriveBits({ name: "HKDF", hash: "SHA-256", salt: te("salt"), info: te("info") }, hkdf, 128)));
    const ecdhA = await s.importKey("pkcs8", unb64(M.ecdh.a), { name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
    const ecdhB = await s.importKey("spki", unb64(M.ecdh.b), { name: "ECDH", namedCurve: "P-256" }, false, []);
    await put("ecdh", async () => b64(await s.deriveBits({ name: "ECDH", public: ecdhB }, ecdhA, 256)));
    const kw = await s.importKey("raw", unb64(M.aes), "AES-KW", false, ["wrapKey", "unwrapKey"]);
    await put("wrap", async () => b64(await s.wrapKey("raw", aes, kw, "AES-KW")));
    await put("unwrap", async () => {
      const k = await s.unwrapKey("raw", unb64(M.wrapped), kw, "AES-KW", "AES-GCM", true, ["decrypt"]);
      return [k.usages.join(), b64(await s.exportKey("raw", k))];
    });
    await put("spki roundtrip", async () => {
      const k = await s.importKey("spki", unb64(M.ec["P-256"].spki), { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"]);
      return b64(await s.exportKey("spki", k));
    });
    await put("generate", async () => {
      const a = await s.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]);
      const p = await s.generateKey({ name: "ECDSA", namedCurve: "P-384" }, false, ["sign", "verify"]);
      const sig = await s.sign({ name: "ECDSA", hash: "SHA-384" }, p.privateKey, msg);
      const e = await s.generateKey("Ed25519", true, ["sign", "verify"]);
      const h = await s.generateKey({ name: "HMAC", hash: "SHA-512" }, true, ["sign"]);
      return [(await s.exportKey("raw", a)).byteLength, p.publicKey.type, p.privateKey.type,
        p.privateKey.extractable, p.publicKey.extractable, await s.verify({ name: "ECDSA", hash: "SHA-384" }, p.publicKey, sig, msg),
        e.privateKey.usages.join(), e.publicKey.usages.join(), h.algorithm.length, Object.keys(p).join()];
    });
    await put("key surface", () => {
      const a1 = hmac.algorithm;
      let ctor = "";
      try { new CryptoKey(); } catch (e) { ctor = e.name; }
      let fake = "";
      try { Object.getOwnPropertyDescriptor(CryptoKey.prototype, "type").get.call({}); } catch (e) { fake = e.name; }
      return [String(hmac), Object.keys(hmac).length, Object.getOwnPropertyNames(hmac).length, hmac.type, hmac.extractable,
        JSON.stringify(a1), a1 === hmac.algorithm, hmac.usages === hmac.usages, hmac instanceof CryptoKey, ctor, fake,
        Object.getOwnPropertyNames(CryptoKey.prototype).sort().join()];
    });
    await put("forged key", async () => s.sign("HMAC", Object.create(CryptoKey.prototype), msg));
    await put("plain object key", async () => s.sign("HMAC", { type: "secret", algorithm: { name: "HMAC" } }, msg));
    await put("non-extractable export", async () => s.exportKey("raw", cbc));
    await put("unknown algorithm", async () => s.importKey("raw", unb64(M.aes), "AES-NOPE", false, ["encrypt"]));
    await put("bad key length", async () => s.importKey("raw", new Uint8Array(5), "AES-GCM", false, ["encrypt"]));
    await put("bad usage", async () => s.importKey("raw", unb64(M.aes), "AES-GCM", false, ["sign"]));
    await put("wrong key for op", async () => s.sign("HMAC", aes, msg));
    await put("bad format", async () => s.importKey("nope", unb64(M.aes), "AES-GCM", false, ["encrypt"]));
    await put("missing arguments", async () => s.encrypt({ name: "AES-GCM", iv }));
    await put("bad jwk", async () => s.importKey("jwk", { kty: "oct", k: "***" }, "AES-GCM", false, ["encrypt"]));
    await put("sync throw becomes rejection", () => { const p = s.sign(Symbol(), hmac, msg); return p instanceof Promise ? p.then(() => "resolved", (e) => "rejected " + e.name) : "not a promise"; });
    return Response.json(out);
  },
};
`;

let server: RunningServer;
let out: Record<string, any>;
const M: Record<string, any> = {};
const keys: Record<string, webcrypto.CryptoKey> = {};

beforeAll(async () => {
  const msg = new TextEncoder().encode("attack at dawn \u00e9\0");
  M.message = "attack at dawn \u00e9\0";
  M.hmac = b64(bytes(32, 1));
  M.aes = b64(bytes(16, 2));
  M.iv = b64(bytes(12, 3));
  M.iv16 = b64(bytes(16, 4));
  keys.hmac = await subtle.importKey("raw", bytes(32, 1), { name: "HMAC", hash: "SHA-256" }, true, [
    "sign",
  ]);
  M.hmacSig = b64(await subtle.sign("HMAC", keys.hmac, msg));
  keys.aes = await subtle.importKey("raw", bytes(16, 2), "AES-GCM", true, ["encrypt"]);
  M.gcmCipher = b64(await subtle.encrypt({ name: "AES-GCM", iv: bytes(12, 3) }, keys.aes, msg));
  M.ec = {};
  for (const curve of ["P-256", "P-384"]) {
    const p = (await subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, [
      "sign",
      "verify",
    ])) as webcrypto.CryptoKeyPair;
    keys[curve] = p.publicKey;
    keys[curve + "priv"] = p.privateKey;
    const hash = curve === "P-256" ? "SHA-256" : "SHA-384";
    M.ec[curve] = {
      pkcs8: b64(await subtle.exportKey("pkcs8", p.privateKey)),
      spki: b64(await subtle.exportKey("spki", p.publicKey)),
      sig: b64(await subtle.sign({ name: "ECDSA", hash }, p.privateKey, msg)),
    };
  }
  const rsa = (await subtle.generateKey(
    {
      name: "RSA-OAEP",
      modulusLength: 1024,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["encrypt", "decrypt"],
  )) as webcrypto.CryptoKeyPair;
  keys.rsa = rsa.privateKey;
  M.rsa = {
    pkcs8: b64(await subtle.exportKey("pkcs8", rsa.privateKey)),
    spki: b64(await subtle.exportKey("spki", rsa.publicKey)),
    oaepCipher: b64(await subtle.encrypt({ name: "RSA-OAEP" }, rsa.publicKey, msg)),
  };
  const ed = (await subtle.generateKey("Ed25519", true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  keys.ed = ed.privateKey;
  keys.edPub = ed.publicKey;
  M.ed = { pkcs8: b64(await subtle.exportKey("pkcs8", ed.privateKey)) };
  const a = (await subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ])) as webcrypto.CryptoKeyPair;
  const b = (await subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ])) as webcrypto.CryptoKeyPair;
  keys.ecdhA = a.privateKey;
  keys.ecdhB = b.publicKey;
  M.ecdh = {
    a: b64(await subtle.exportKey("pkcs8", a.privateKey)),
    b: b64(await subtle.exportKey("spki", b.publicKey)),
  };
  keys.kw = await subtle.importKey("raw", bytes(16, 2), "AES-KW", true, ["wrapKey", "unwrapKey"]);
  M.wrapped = b64(await subtle.wrapKey("raw", keys.aes, keys.kw, "AES-KW"));

  server = await startServer({
    workers: 1,
    sites: { default: { "crypto.js": SITE.replace("__MATERIAL__", JSON.stringify(M)) } },
  });
  const r = await request(server.url, "/crypto");
  expect(r.status, r.text).toBe(200);
  out = JSON.parse(r.text);
});
afterAll(() => server?.close());

const msg = () => new TextEncoder().encode("attack at dawn \u00e9\0");

describe("crypto.subtle matches Node's WebCrypto", () => {
  it("HMAC", async () => {
    expect(out.hmac).toBe(M.hmacSig);
    expect(out["hmac verify"]).toEqual([true, false]);
  });

  it("a structured clone of a key is a new CryptoKey over the same key", () => {
    expect(out["hmac clone"]).toEqual([
      true,
      true,
      true,
      "HMAC",
      "SHA-256",
      "sign,verify",
      true,
      M.hmacSig,
    ]);
  });

  it("AES-GCM, AES-CBC, AES-CTR", async () => {
    const gcm = await subtle.encrypt(
      {
        name: "AES-GCM",
        iv: unb64(M.iv),
        additionalData: new TextEncoder().encode("aad"),
        tagLength: 96,
      },
      keys.aes!,
      msg(),
    );
    expect(out["aes-gcm"]).toBe(b64(gcm));
    expect(out["aes-gcm decrypt"]).toBe(M.message);
    expect(out["aes-gcm bad tag"]).toBe("threw OperationError (DOMException)");
    const cbc = await subtle.importKey("raw", unb64(M.aes), "AES-CBC", false, ["encrypt"]);
    const c1 = await subtle.encrypt({ name: "AES-CBC", iv: unb64(M.iv16) }, cbc, msg());
    expect(out["aes-cbc"]).toBe(b64(c1));
    const ctr = await subtle.importKey("raw", unb64(M.aes), "AES-CTR", false, ["encrypt"]);
    const c2 = await subtle.encrypt(
      { name: "AES-CTR", counter: unb64(M.iv16), length: 64 },
      ctr,
      msg(),
    );
    expect(out["aes-ctr"]).toBe(b64(c2));
  });

  it("ECDSA P-256 and P-384 both ways, and a JWK export", async () => {
    for (const [curve, hash] of [
      ["P-256", "SHA-256"],
      ["P-384", "SHA-384"],
    ] as const) {
      const ok = await subtle.verify(
        { name: "ECDSA", hash },
        keys[curve]!,
        unb64(out.ecdsa[curve]),
        msg(),
      );
      expect(ok, curve).toBe(true);
      expect(out.ecdsa[curve + " verify"], curve).toBe(true);
    }
    expect(out.ecdsa.jwk).toEqual(await subtle.exportKey("jwk", keys["P-256priv"]!));
  });

  it("RSASSA-PKCS1-v1_5, RSA-PSS, RSA-OAEP", async () => {
    const k = await subtle.importKey(
      "pkcs8",
      unb64(M.rsa.pkcs8),
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["sign"],
    );
    expect(out.rsassa).toBe(b64(await subtle.sign("RSASSA-PKCS1-v1_5", k, msg())));
    const pssPub = await subtle.importKey(
      "spki",
      unb64(M.rsa.spki),
      { name: "RSA-PSS", hash: "SHA-256" },
      false,
      ["verify"],
    );
    const pss = await subtle.importKey(
      "pkcs8",
      unb64(M.rsa.pkcs8),
      { name: "RSA-PSS", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const [salted, unsalted] = out["rsa-pss"];
    expect(
      await subtle.verify({ name: "RSA-PSS", saltLength: 32 }, pssPub, unb64(salted), msg()),
    ).toBe(true);
    expect(unsalted).toBe(b64(await subtle.sign({ name: "RSA-PSS", saltLength: 0 }, pss, msg())));
    const plain = await subtle.decrypt(
      { name: "RSA-OAEP", label: new TextEncoder().encode("l") },
      keys.rsa!,
      unb64(out["rsa-oaep"]),
    );
    expect(new TextDecoder().decode(plain)).toBe(M.message);
    expect(out["rsa-oaep decrypt"]).toBe(M.message);
  });

  it("Ed25519", async () => {
    expect(out.ed25519).toBe(b64(await subtle.sign("Ed25519", keys.ed!, msg())));
  });

  it("PBKDF2, HKDF, ECDH, deriveKey", async () => {
    const te = new TextEncoder();
    const p = await subtle.importKey("raw", te.encode("password"), "PBKDF2", false, ["deriveBits"]);
    const bits = await subtle.deriveBits(
      { name: "PBKDF2", salt: te.encode("salt"), iterations: 1000, hash: "SHA-256" },
      p,
      256,
    );
    expect(out.pbkdf2).toBe(b64(bits));
    expect(out["pbkdf2 deriveKey"]).toEqual(["AES-GCM", 128, b64(bits.slice(0, 16))]);
    const h = await subtle.importKey("raw", unb64(M.hmac), "HKDF", false, ["deriveBits"]);
    const hk = await subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: te.encode("salt"), info: te.encode("info") },
      h,
      128,
    );
    expect(out.hkdf).toBe(b64(hk));
    const shared = await subtle.deriveBits({ name: "ECDH", public: keys.ecdhB! }, keys.ecdhA!, 256);
    expect(out.ecdh).toBe(b64(shared));
  });

  it("wrapKey, unwrapKey, exports", async () => {
    expect(out.wrap).toBe(M.wrapped);
    expect(out.unwrap).toEqual(["decrypt", M.aes]);
    expect(out["spki roundtrip"]).toBe(M.ec["P-256"].spki);
  });

  it("generateKey gives keys with the standard's attributes", () => {
    expect(out.generate).toEqual([
      32,
      "public",
      "private",
      false,
      true,
      true,
      "sign",
      "verify",
      1024,
      "publicKey,privateKey",
    ]);
  });
});

describe("CryptoKey shows only what the standard exposes and cannot be forged", () => {
  it("has the standard's attributes and nothing else", () => {
    expect(out["key surface"]).toEqual([
      "[object CryptoKey]",
      0,
      0,
      "secret",
      true,
      JSON.stringify({ name: "HMAC", hash: { name: "SHA-256" }, length: 256 }),
      true,
      true,
      true,
      "TypeError",
      "TypeError",
      "algorithm,constructor,extractable,type,usages",
    ]);
  });

  it("a forged or plain-object key is refused", () => {
    expect(out["forged key"]).toBe("threw TypeError");
    expect(out["plain object key"]).toBe("threw TypeError");
  });

  it("rejects with the standard's errors", () => {
    expect(out["non-extractable export"]).toBe("threw InvalidAccessError (DOMException)");
    expect(out["unknown algorithm"]).toBe("threw NotSupportedError (DOMException)");
    expect(out["bad key length"]).toBe("threw DataError (DOMException)");
    expect(out["bad usage"]).toBe("threw SyntaxError (DOMException)");
    expect(out["wrong key for op"]).toBe("threw InvalidAccessError (DOMException)");
    expect(out["bad format"]).toBe("threw TypeError");
    expect(out["missing arguments"]).toBe("threw TypeError");
    expect(out["bad jwk"]).toBe("threw DataError (DOMException)");
    expect(out["sync throw becomes rejection"]).toBe("rejected TypeError");
  });
});

describe("pending operations and an abandoned sandbox", () => {
  it("a result that settles after the sandbox was abandoned never re-enters it", async () => {
    const lines: string[] = [];
    const log: Log = {
      access() {},
      error: (_t, m) => lines.push(m),
      console: (_t, _l, m) => lines.push(m),
      info() {},
      flush() {},
    };
    const limits = { timeoutMs: 150, wallTimeoutMs: 5000, memoryMb: 32, maxBodyBytes: 1000 };
    const files = {
      "spin.js": `export default { async fetch() {
        const k = await crypto.subtle.importKey("raw", new Uint8Array(8), "PBKDF2", false, ["deriveBits"]);
        crypto.subtle.deriveBits({ name: "PBKDF2", salt: new Uint8Array(8), iterations: 200000, hash: "SHA-256" }, k, 256)
          .then(() => console.log("settled inside"));
        for (;;) {}
      } };`,
    };
    const sb = await Sandbox.create({
      site: "t",
      generation: 1,
      files,
      settings: { main: null, vars: {}, limits },
      worker: 0,
      log,
    });
    const status = await new Promise<number>((resolve) => {
      const sink: ResponseSink = {
        head: (s) => resolve(s),
        chunk: () => true,
        end() {},
        fail: (e) => resolve(e.status),
      };
      sb.dispatch(
        { method: "GET", url: "http://t/", headers: [], body: null, route: "spin.js" },
        sink,
      );
    });
    expect(status).toBe(503);
    expect(sb.deadReason).toMatch(/CPU time limit/);
    // The same derivation started later in this process: once it is done, the sandbox's is too.
    const k = await subtle.importKey("raw", new Uint8Array(8), "PBKDF2", false, ["deriveBits"]);
    const params = { name: "PBKDF2", salt: new Uint8Array(8), iterations: 200000, hash: "SHA-256" };
    await subtle.deriveBits(params, k, 256);
    await new Promise((r) => setTimeout(r, 20));
    expect(lines.join("\n")).not.toMatch(/settled inside|aborted|lost/);
  });
});
