/** Randomness, hashing, UTF-8 and URL parsing: small synchronous host calls, exact and fast. */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { HostFunctions, HostIO } from "./io.js";

const DIGESTS: Record<string, string> = {
  "SHA-1": "sha1",
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512",
};
const encoder = new TextEncoder();
const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

export function basicFunctions(io: HostIO): HostFunctions {
  const { str, num, bytes, buffer } = io;
  return {
    randomBytes: (n) => {
      const size = num(n);
      if (!(size >= 0 && size <= 65536)) throw new RangeError("randomBytes: 0..65536 bytes");
      return buffer(randomBytes(size));
    },
    uuid: () => io.string(randomUUID()),
    digest: (alg, input) => {
      const name = DIGESTS[str(alg).toUpperCase()];
      if (!name) throw io.error("NotSupportedError", `unsupported digest "${str(alg)}"`);
      return buffer(createHash(name).update(bytes(input)).digest());
    },
    encode: (text) => buffer(encoder.encode(str(text))),
    decode: (input, fatal) =>
      io.string((io.bool(fatal) ? fatalDecoder : lenientDecoder).decode(bytes(input))),
    parseURL: (input, base) => {
      let url: URL;
      try {
        url = new URL(str(input), io.optStr(base));
      } catch {
        return io.string("");
      }
      const { href, origin, protocol, username, password, host, hostname, port, pathname } = url;
      const parts = { href, origin, protocol, username, password, host, hostname, port, pathname };
      // JSON.stringify escapes NUL and lone surrogates: the text is C-safe (the fast path).
      return io.string(JSON.stringify({ ...parts, search: url.search, hash: url.hash }));
    },
  };
}
