/**
 * TextDecoder for every WHATWG encoding. UTF-8 without streaming stays in the prelude's fast path
 * (basics.ts `decode`); the rest gets a decoder on the host, held by the guest through a HostRef
 * (refs.ts), because a streaming decoder has state. Node's TextDecoder is used for UTF-8; for
 * the legacy encodings its ICU differs from the Encoding standard (windows-1252 decodes as
 * latin1, big5 lacks HKSCS, euc-kr lacks the UHC extension, koi8-u, windows-874 and -1255 map
 * bytes differently, iso-8859-16 and x-user-defined are missing), so @exodus/bytes, which
 * implements the standard's index tables, decodes those.
 */
import type { HostFunctions, HostIO } from "./io.js";
import type { HostRefs } from "./refs.js";

const KIND = "decoder";

type Whatwg = typeof import("@exodus/bytes/encoding.js");
let whatwg: Whatwg | undefined;
// Loading it takes ~15 ms (more under load), so a worker starts it in the background and the
// first sandbox waits for it (Sandbox.create): host functions are synchronous.
const loading = import("@exodus/bytes/encoding.js").then((m) => {
  whatwg = m;
});

/** Resolves once the legacy decoders can be used. */
export function encodingsReady(): Promise<void> {
  return loading;
}

interface Decoder {
  decode(input: Uint8Array, options: { stream: boolean }): string;
}

export function encodingFunctions(io: HostIO, refs: HostRefs): HostFunctions {
  const { str, bool, bytes } = io;
  return {
    /** The encoding's name for a label (already trimmed and lower-cased), or "" if none. */
    decoderLabel: (label) => {
      const name = whatwg!.normalizeEncoding(str(label));
      return io.string(name === null || name === "replacement" ? "" : name);
    },
    decoderNew: (name, fatal, ignoreBOM) => {
      const n = str(name);
      const options = { fatal: bool(fatal), ignoreBOM: bool(ignoreBOM) };
      const d: Decoder =
        n === "utf-8" ? new TextDecoder(n, options) : new whatwg!.TextDecoder(n, options);
      return refs.make(KIND, d);
    },
    decoderDecode: (ref, input, stream) => {
      const d = refs.get<Decoder>(ref, KIND);
      if (d === undefined) throw new TypeError("not a decoder");
      try {
        return io.string(d.decode(bytes(input), { stream: bool(stream) }));
      } catch {
        throw io.error("TypeError", "The encoded data is not valid");
      }
    },
  };
}
